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
    from tests.support import row_locked

    d = deadlines.schedule(kind="test.record", key="lock", due_at=past(), payload={"user_id": world.a_cm.pk})
    with row_locked("core_deadline", d.pk):
        assert deadlines.sweep() == 0


def test_a_deadline_whose_attempts_never_finish_ends_failed(world):
    """Attempts are counted before the work runs, so one that kills its worker still counts."""
    d = deadlines.schedule(kind="test.record", key="poison", due_at=past(), payload={"user_id": world.a_cm.pk})
    Deadline.objects.filter(pk=d.pk).update(attempts=5, state="queued")  # five attempts, none finished
    assert deadlines.fire(d.pk) == "failed"
    assert Deadline.objects.get(pk=d.pk).state == "failed"
    assert calls == []


def test_one_sweep_hands_over_the_whole_backlog_in_batches_up_to_its_limit(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(deadlines, "SWEEP_BATCH", 10)
    for n in range(25):
        deadlines.schedule(kind="test.record", key=f"b{n}", due_at=past(), payload={"user_id": world.a_cm.pk})
    with django_capture_on_commit_callbacks() as published:
        assert deadlines.sweep(limit=15) == 15  # a full batch, then a short one at the limit
    assert len(published) == 2  # each batch committed and handed to the broker on its own
    assert Deadline.objects.filter(key__startswith="b", state="queued").count() == 15
    with django_capture_on_commit_callbacks() as published:
        assert deadlines.sweep() == 10  # the rest: a full batch, then an empty one ends the sweep
    assert len(published) == 1
    assert not Deadline.objects.filter(key__startswith="b", state="pending").exists()


def test_the_default_sweep_leaves_a_backlog_in_the_table_while_enough_is_in_flight(world, settings):
    settings.DEADLINE_SWEEP_MAX_ROWS = 12
    for n in range(20):
        deadlines.schedule(kind="test.record", key=f"f{n}", due_at=past(), payload={"user_id": world.a_cm.pk})
    assert deadlines.sweep() == 12
    assert deadlines.sweep() == 0  # twelve handed over and not started yet: the broker has enough
    started = list(Deadline.objects.filter(key__startswith="f", state="queued").values_list("pk", flat=True)[:5])
    Deadline.objects.filter(pk__in=started).update(state="done")
    assert deadlines.sweep() == 5  # five started (done): five more go


def test_a_message_of_many_ids_fires_each_once_and_one_failure_spoils_none_of_the_others(world):
    ok = [
        deadlines.schedule(kind="test.record", key=f"m{n}", due_at=past(), payload={"user_id": world.a_cm.pk})
        for n in range(3)
    ]
    bad = deadlines.schedule(kind="test.explode", key="m-bad", due_at=past(), payload={"user_id": world.a_cm.pk})
    ids = [ok[0].pk, bad.pk, ok[1].pk, ok[2].pk]
    assert deadlines.fire_many(ids) == {"done": 3, "failed": 1}
    assert deadlines.fire_many(ids) == {"skipped": 4}  # delivered again: nothing more happens
    assert sorted(calls) == sorted(d.pk for d in ok)
    assert Notification.objects.filter(kind="test").count() == 3  # the failed one left nothing behind
    assert Deadline.objects.get(pk=bad.pk).state == "pending"  # backed off, to be retried


def test_firing_a_deadline_takes_a_fixed_handful_of_queries(world, django_assert_num_queries):
    """Count the attempt (1), lock and re-read (1), the handler's own work (1 here), mark it done (1),
    plus the savepoints the test's transaction needs around the two blocks (4)."""
    d = deadlines.schedule(kind="test.record", key="q", due_at=past(), payload={"user_id": world.a_cm.pk})
    with django_assert_num_queries(8):
        assert deadlines.fire(d.pk) == "done"


batches: list[list[int]] = []


@deadlines.handler("test.batch", label="Test: set-based", batch=True, max_attempts=3)
def _batch(rows: list[Deadline]) -> None:
    batches.append([d.pk for d in rows])
    Notification.objects.bulk_create(
        Notification(recipient_id=d.payload["user_id"], kind="test", title=str(d.pk))
        for d in rows
        if not d.payload.get("busy")
    )
    if any(d.payload.get("explode") for d in rows):
        raise RuntimeError("boom")
    return {d.pk for d in rows if d.payload.get("busy")}


def test_a_batch_kind_does_a_messages_deadlines_together_and_once(world):
    batches.clear()
    rows = [
        deadlines.schedule(kind="test.batch", key=f"t{n}", due_at=past(), payload={"user_id": world.a_cm.pk})
        for n in range(4)
    ]
    single = deadlines.schedule(kind="test.record", key="t-single", due_at=past(), payload={"user_id": world.a_cm.pk})
    ids = [rows[0].pk, single.pk, *(d.pk for d in rows[1:])]
    assert deadlines.fire_many(ids) == {"done": 5}
    assert batches == [[d.pk for d in rows]]  # one call for the four, in id order
    assert deadlines.fire_many(ids) == {"skipped": 5}
    assert len(batches) == 1 and Notification.objects.filter(kind="test").count() == 5


def test_a_failing_batch_is_retried_one_by_one_so_only_the_bad_deadline_fails(world):
    batches.clear()
    good = [
        deadlines.schedule(kind="test.batch", key=f"g{n}", due_at=past(), payload={"user_id": world.a_cm.pk})
        for n in range(3)
    ]
    bad = deadlines.schedule(
        kind="test.batch", key="g-bad", due_at=past(), payload={"user_id": world.a_cm.pk, "explode": True}
    )
    assert deadlines.fire_many([d.pk for d in [*good, bad]]) == {"done": 3, "failed": 1}
    assert {Deadline.objects.get(pk=d.pk).state for d in good} == {"done"}
    row = Deadline.objects.get(pk=bad.pk)
    assert (row.state, row.attempts) == ("pending", 1)  # the batch's attempt, not counted twice; backed off
    # The batch's writes were rolled back whole: only the three good deadlines' notices remain.
    assert sorted(Notification.objects.filter(kind="test").values_list("title", flat=True)) == sorted(
        str(d.pk) for d in good
    )


def test_a_batch_deadline_tried_before_is_fired_alone_and_gives_up_after_its_attempts(world):
    """A worker that died during a batch leaves its deadlines with an attempt counted: they are
    retried one by one, so one that kills its worker costs the others nothing."""
    batches.clear()
    fresh = [
        deadlines.schedule(kind="test.batch", key=f"r{n}", due_at=past(), payload={"user_id": world.a_cm.pk})
        for n in range(2)
    ]
    tried = deadlines.schedule(kind="test.batch", key="r-tried", due_at=past(), payload={"user_id": world.a_cm.pk})
    spent = deadlines.schedule(kind="test.batch", key="r-spent", due_at=past(), payload={"user_id": world.a_cm.pk})
    Deadline.objects.filter(pk=tried.pk).update(attempts=1, state="queued")
    Deadline.objects.filter(pk=spent.pk).update(attempts=3, state="queued")
    assert deadlines.fire_many([d.pk for d in [*fresh, tried, spent]]) == {"done": 3, "failed": 1}
    assert batches == [[tried.pk], [d.pk for d in fresh]]  # alone first, then the fresh ones together
    row = Deadline.objects.get(pk=spent.pk)
    assert (row.state, row.attempts, row.last_error) == ("failed", 3, "The last attempt never finished.")
    assert Deadline.objects.get(pk=tried.pk).attempts == 2


def test_a_batch_handler_can_defer_what_it_cannot_do_yet(world):
    batches.clear()
    ok = deadlines.schedule(kind="test.batch", key="d-ok", due_at=past(), payload={"user_id": world.a_cm.pk})
    busy = deadlines.schedule(
        kind="test.batch", key="d-busy", due_at=past(), payload={"user_id": world.a_cm.pk, "busy": True}
    )
    assert deadlines.fire_many([ok.pk, busy.pk]) == {"done": 1, "deferred": 1}
    row = Deadline.objects.get(pk=busy.pk)
    assert (row.state, row.attempts) == ("pending", 0)  # back for the next sweep, its attempt given back
    assert deadlines.sweep() == 1


def test_only_atomic_handlers_take_batches():
    with pytest.raises(ValueError, match="atomic"):
        deadlines.handler("test.bad-batch", label="x", atomic=False, batch=True)(lambda rows: None)
