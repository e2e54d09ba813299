"""Transition-episode deadlines with a real Celery worker, beat, Redis and PostgreSQL: a worker
killed mid-task, a Redis restart that loses the queue, and two sweeps at once each end with every
missed step's actions (marked missed, the care manager told, a worklist task, the supervisor's
escalation queued) done exactly once."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from caseloads.models import Task
from caseloads.services import enrollment_start
from core import deadlines
from core.models import Deadline, Notification
from organizations.access import Actor
from tests.conftest import SYSTEM, build_world, make_member
from tests.reliability.test_deadlines_with_worker import env, start  # noqa: F401  (fixtures)
from tests.support import two_sweeps_at_once, wait_for
from tests.transitions.adt import adt, hl7_time, make_feed
from transitions import services as adt_services
from transitions.models import Episode, EpisodeStep

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _episodes(n: int):
    """n enrolled members of Plan A discharged three hours ago, every step made due now."""
    world = build_world()
    make_feed(world)
    tz = world.plan_a.tz
    out = timezone.now() - dt.timedelta(hours=3)
    for i in range(n):
        member = make_member(world.plan_a, practice=world.p1, first=f"R{i}", last="Reliable", member_number=f"R{i:04d}")
        enrollment_start(actor=SYSTEM, member=member, program="complex_care", acuity="high", care_manager=world.a_cm)
        raw = adt("A03", pid3=f"R{i:04d}^^^PLANA^MB", visit=f"RV{i}", discharged=hl7_time(out, tz))
        assert adt_services.adt_receive(raw=raw.encode(), transport="mllp", actor=Actor.system()).code == "AA"
    past = timezone.now() - dt.timedelta(seconds=1)
    EpisodeStep.objects.update(due_at=past)
    Deadline.objects.filter(kind="transitions.step_due").update(due_at=past)
    return world


def _done(kind: str = "transitions.step_due") -> int:
    return Deadline.objects.filter(kind=kind, state="done").count()


def _assert_each_step_acted_on_once(world, steps: int) -> None:
    assert EpisodeStep.objects.filter(status="missed", escalation=1).count() == steps
    overdue = Notification.objects.filter(kind="transition_overdue", recipient=world.a_cm)
    assert overdue.count() == steps
    assert overdue.values("dedupe_key").distinct().count() == steps
    escalations = Deadline.objects.filter(kind="transitions.step_escalate")
    assert escalations.count() == steps
    for step in EpisodeStep.objects.all():
        assert Task.objects.filter(origin_key=f"episode-step:{step.pk}").count() == 1


def test_worker_killed_mid_step_loses_nothing_and_does_nothing_twice(start, env):  # noqa: F811
    world = _episodes(1)
    episode = Episode.objects.get()
    follow_up = EpisodeStep.objects.get(episode=episode, kind="follow_up")
    # Only the practice's follow-up step is due. Hold, in another connection, an uncommitted task
    # with the key the handler will insert: the handler blocks there, after it has marked the step
    # missed and told the care manager (inside its transaction), and is killed while it waits.
    Deadline.objects.filter(kind="transitions.step_due").exclude(payload__step_id=follow_up.pk).update(
        due_at=timezone.now() + dt.timedelta(days=1)
    )
    blocker = psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://"), autocommit=False)
    blocker.execute(
        "INSERT INTO caseloads_task (public_id, plan_id, member_id, owner_id, title, detail, due_date, origin,"
        " origin_key, status, created_at) VALUES (%s, %s, %s, %s, 'blocker', '', now(), 'transition', %s, 'open',"
        " now())",
        (uuid.uuid4(), world.plan_a.pk, episode.member_id, world.a_cm.pk, f"episode-step:{follow_up.pk}"),
    )
    due = Deadline.objects.get(kind="transitions.step_due", payload__step_id=follow_up.pk)

    def waiting_on_blocker() -> bool:
        # Asked on the test's own autocommit connection: the blocker's transaction would keep
        # seeing its first snapshot of pg_stat_activity.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO %%caseloads_task%%'"
            )
            return cursor.fetchone()[0] > 0

    try:
        worker = start("worker")
        start("beat")
        wait_for(waiting_on_blocker, timeout=60, what="the handler to block mid-task")
        worker.sigkill()
    finally:
        blocker.rollback()
        blocker.close()
    assert EpisodeStep.objects.get(pk=follow_up.pk).status == "open"  # the killed transaction rolled back
    assert not Notification.objects.filter(kind="transition_overdue").exists()
    start("worker")  # beat's sweeps take the stale row back after DEADLINE_REQUEUE_AFTER_SECONDS
    wait_for(lambda: Deadline.objects.get(pk=due.pk).state == "done", timeout=60, what="the step to be re-fired")
    time.sleep(2)
    step = EpisodeStep.objects.get(pk=follow_up.pk)
    assert (step.status, step.escalation) == ("missed", 1)
    assert Notification.objects.filter(kind="transition_overdue", recipient=world.a_cm).count() == 1
    assert Notification.objects.filter(kind="transition_overdue", recipient=world.p1_contact).count() == 0
    assert Task.objects.filter(origin_key=f"episode-step:{follow_up.pk}").count() == 1
    assert Deadline.objects.filter(kind="transitions.step_escalate", payload__step_id=follow_up.pk).count() == 1
    assert Deadline.objects.get(pk=due.pk).attempts == 2


def test_redis_restart_that_drops_the_queue_loses_no_step(start, broker):  # noqa: F811
    world = _episodes(6)
    assert deadlines.sweep() == 30  # handed to the broker; no worker is running yet
    broker.restart()  # no persistence: every queued message is gone
    start("worker")
    start("beat")
    wait_for(lambda: _done() == 30, timeout=90, what="all 30 step deadlines done")
    time.sleep(2)
    _assert_each_step_acted_on_once(world, 30)


def test_two_sweeps_at_once_and_duplicate_messages_act_on_each_step_once(start):  # noqa: F811
    world = _episodes(10)
    claimed = two_sweeps_at_once()
    assert sum(claimed) == 50  # SKIP LOCKED: each row claimed by exactly one sweep
    for d in Deadline.objects.filter(kind="transitions.step_due"):
        deadlines.send_ids([d.pk, d.pk])  # and every message delivered twice more
    start("worker")
    wait_for(lambda: _done() == 50, timeout=120, what="all 50 step deadlines done")
    time.sleep(1)
    _assert_each_step_acted_on_once(world, 50)
