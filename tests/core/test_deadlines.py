"""The deadline service in-process: scheduling, sweeping and firing rules. The same machinery
with a real worker, beat and Redis is proven in tests/reliability."""

import datetime as dt

import pytest
from django.utils import timezone

from core import deadlines
from core.models import Deadline, Notification

calls: list[int] = []


@deadlines.handler("test.record", label="Test: record a call")
def _record(deadline: Deadline) -> None:
    calls.append(deadline.pk)
    Notification.objects.create(recipient_id=deadline.payload["user_id"], kind="test", title=str(deadline.pk))


@deadlines.handler("test.explode", label="Test: always fails", max_attempts=2)
def _explode(deadline: Deadline) -> None:
    Notification.objects.create(recipient_id=deadline.payload["user_id"], kind="test", title="half-done")
    raise RuntimeError("boom")


@deadlines.handler("test.lease", label="Test: lease-based", atomic=False)
def _lease(deadline: Deadline) -> None:
    calls.append(deadline.pk)


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()


def past(seconds=60):
    return timezone.now() - dt.timedelta(seconds=seconds)


def test_schedule_is_idempotent_by_key(world):
    first = deadlines.schedule(kind="test.record", key="k1", due_at=past(), payload={"user_id": world.a_cm.pk})
    again = deadlines.schedule(kind="test.record", key="k1", due_at=timezone.now() + dt.timedelta(days=9))
    assert first.pk == again.pk
    assert Deadline.objects.get(pk=first.pk).due_at == first.due_at


def test_unknown_kind_is_refused_at_scheduling(world):
    with pytest.raises(ValueError, match="No handler"):
        deadlines.schedule(kind="test.typo", key="k", due_at=past())


def test_sweep_takes_only_due_rows_and_fire_does_the_work_once(world):
    due = deadlines.schedule(kind="test.record", key="due", due_at=past(), payload={"user_id": world.a_cm.pk})
    later = deadlines.schedule(
        kind="test.record", key="later", due_at=timezone.now() + dt.timedelta(hours=1), payload={"user_id": 1}
    )
    assert deadlines.sweep() == 1
    assert Deadline.objects.get(pk=due.pk).state == "queued"
    assert Deadline.objects.get(pk=later.pk).state == "pending"
    assert deadlines.fire(due.pk) == "done"
    assert deadlines.fire(due.pk) == "skipped"  # a duplicate message does nothing
    assert deadlines.fire(later.pk) == "skipped"  # not due yet
    assert calls == [due.pk]
    assert Notification.objects.filter(kind="test").count() == 1
    assert deadlines.sweep() == 0


def test_cancelled_deadline_never_fires(world):
    d = deadlines.schedule(kind="test.record", key="c", due_at=past(), payload={"user_id": world.a_cm.pk})
    assert deadlines.cancel(key="c") is True
    assert deadlines.cancel(key="c") is False
    assert deadlines.fire(d.pk) == "skipped"
    assert calls == []


def test_failed_handler_rolls_back_its_effects_and_retries_then_gives_up(world):
    d = deadlines.schedule(kind="test.explode", key="x", due_at=past(), payload={"user_id": world.a_cm.pk})
    assert deadlines.fire(d.pk) == "failed"
    row = Deadline.objects.get(pk=d.pk)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.due_at > timezone.now()  # backed off
    assert "boom" in row.last_error
    assert not Notification.objects.filter(title="half-done").exists()  # nothing half-written
    Deadline.objects.filter(pk=d.pk).update(due_at=past())
    assert deadlines.fire(d.pk) == "failed"
    assert Deadline.objects.get(pk=d.pk).state == "failed"


def test_stale_queued_rows_are_taken_back_by_the_sweep(world, settings):
    settings.DEADLINE_REQUEUE_AFTER_SECONDS = 60
    d = deadlines.schedule(kind="test.record", key="s", due_at=past(), payload={"user_id": world.a_cm.pk})
    assert deadlines.sweep() == 1
    assert deadlines.sweep() == 0  # freshly queued: left alone
    Deadline.objects.filter(pk=d.pk).update(queued_at=past(120))
    assert deadlines.sweep() == 1  # the broker lost it: hand it over again


def test_lease_handler_runs_outside_the_lock_and_expired_leases_come_back(world):
    d = deadlines.schedule(kind="test.lease", key="l", due_at=past())
    Deadline.objects.filter(pk=d.pk).update(state="running", lease_until=past())
    assert deadlines.sweep() == 1  # a worker died holding the lease
    assert deadlines.fire(d.pk) == "done"
    assert calls == [d.pk]


@pytest.mark.django_db(transaction=True)
def test_sweep_skips_rows_locked_by_another_transaction(world):
    """SKIP LOCKED: a row another sweep (or a firing) holds is not claimed twice."""
    import threading

    from django.db import connections

    d = deadlines.schedule(kind="test.record", key="lock", due_at=past(), payload={"user_id": world.a_cm.pk})
    locked = threading.Event()
    release = threading.Event()

    def hold_lock():
        conn = connections.create_connection("default")
        with conn.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT 1 FROM core_deadline WHERE id = %s FOR UPDATE", [d.pk])
            locked.set()
            release.wait(10)
            cursor.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    locked.wait(10)
    try:
        assert deadlines.sweep() == 0
    finally:
        release.set()
        thread.join()


def test_a_deadline_whose_attempts_never_finish_ends_failed(world):
    """Attempts are counted before the work runs, so one that kills its worker still counts."""
    d = deadlines.schedule(kind="test.record", key="poison", due_at=past(), payload={"user_id": world.a_cm.pk})
    Deadline.objects.filter(pk=d.pk).update(attempts=5, state="queued")  # five attempts, none finished
    assert deadlines.fire(d.pk) == "failed"
    assert Deadline.objects.get(pk=d.pk).state == "failed"
    assert calls == []
