"""Durable deadlines with a real Celery worker, real beat, real Redis and PostgreSQL
(DESIGN.md "Deadlines are rows, not broker messages").

Each test commits its data (transactional_db) so the worker processes can see it, and counts
effects in the database afterwards: a deadline's work happened exactly once, or it did not.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import redis
from django.db import close_old_connections, connection
from django.utils import timezone

from core import deadlines
from core.models import Deadline, Notification
from organizations import services as org_services
from tests.conftest import SYSTEM, build_world
from tests.reliability import worker_app  # noqa: F401  (registers the probe kinds here too)
from tests.support import CeleryProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REQUEUE_AFTER = 2


@pytest.fixture
def env(broker, settings):
    settings.DEADLINE_REQUEUE_AFTER_SECONDS = REQUEUE_AFTER
    db = connection.settings_dict
    import os

    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker.url,
        "REDIS_URL": broker.url.replace("/0", "/2"),
        "PROBE_REDIS_URL": broker.url.replace("/0", "/1"),
        "DEADLINE_SWEEP_SECONDS": "1",
        "DEADLINE_REQUEUE_AFTER_SECONDS": str(REQUEUE_AFTER),
        "DJANGO_SETTINGS_MODULE": "carecoord.settings",
    }


@pytest.fixture
def start(env):
    started: list[CeleryProcess] = []

    def run(kind: str) -> CeleryProcess:
        process = CeleryProcess(kind, env)
        started.append(process)
        process.wait_ready()
        return process

    yield run
    for process in started:
        process.stop()


@pytest.fixture
def probe_redis(env):
    client = redis.Redis.from_url(env["PROBE_REDIS_URL"])
    client.flushdb()
    return client


def _schedule_probes(user, n: int, *, sleep: float = 0) -> list[Deadline]:
    due = timezone.now() - dt.timedelta(seconds=1)
    return [
        deadlines.schedule(
            kind="probe.effect",
            key=f"probe:{i}:{time.monotonic_ns()}",
            due_at=due,
            payload={"user_id": user.pk, "sleep": sleep},
        )
        for i in range(n)
    ]


def _effects(deadline: Deadline) -> int:
    return Notification.objects.filter(kind="probe", title=f"probe effect {deadline.pk}").count()


def _state(deadline: Deadline) -> str:
    return Deadline.objects.get(pk=deadline.pk).state


def test_partnership_review_reminder_fires_exactly_once_through_beat_and_worker(start):
    world = build_world()
    partnership = org_services.partnership_create(
        actor=SYSTEM,
        plan=world.plan_a,
        practice=world.community.__class__.objects.create(kind="practice", name="Practice Four", npi="1000000004"),
        effective_from=timezone.localdate() - dt.timedelta(days=360),
        next_review_on=timezone.localdate() + dt.timedelta(days=5),
    )
    org_services.partnership_contact_save(
        actor=SYSTEM,
        partnership=partnership,
        side="plan",
        name="Plan POC",
        user=world.a_supervisor,
        email="poc@example.test",
        is_primary=True,
    )
    reminder = Deadline.objects.get(key__endswith=":reminder", payload__partnership_id=partnership.pk)
    assert reminder.due_at <= timezone.now() + dt.timedelta(seconds=5)  # within 30 days: due now
    start("worker")
    start("beat")
    wait_for(lambda: _state(reminder) == "done", timeout=60, what="the reminder to fire")
    time.sleep(3)  # several more sweeps: nothing fires twice
    notices = Notification.objects.filter(kind="partnership.review", recipient=world.a_supervisor)
    assert notices.count() == 1
    admin_notices = Notification.objects.filter(kind="partnership.review", recipient=world.a_admin)
    assert admin_notices.count() == 1
    emails = Deadline.objects.filter(kind="notification.email", payload__notification_id=notices.get().pk)
    wait_for(lambda: emails.get().state == "done", timeout=30, what="the email to go out")
    assert Deadline.objects.get(pk=reminder.pk).attempts == 1


def test_worker_killed_mid_task_loses_nothing_and_does_nothing_twice(start, probe_redis):
    world = build_world()
    [deadline] = _schedule_probes(world.a_cm, 1, sleep=4)  # due now: handed to the broker on commit
    worker = start("worker")
    wait_for(lambda: probe_redis.get(f"probe-started:{deadline.pk}"), timeout=30, what="the task to start")
    worker.sigkill()
    assert _effects(deadline) == 0
    assert _state(deadline) in ("pending", "queued")  # the killed transaction rolled back; the row waits
    start("worker")
    start("beat")  # its sweeps take the stale row back after DEADLINE_REQUEUE_AFTER_SECONDS
    wait_for(lambda: _state(deadline) == "done", timeout=60, what="the deadline to be re-fired")
    assert _effects(deadline) == 1
    assert int(probe_redis.get(f"probe-started:{deadline.pk}")) == 2  # it really ran twice…
    time.sleep(2)
    assert _effects(deadline) == 1  # …and its effect exists once


def test_redis_restart_that_drops_the_queue_loses_nothing(start, broker, probe_redis):
    world = build_world()
    scheduled = _schedule_probes(world.a_cm, 20)  # each handed to the broker on commit
    assert deadlines.sweep() == 20  # and again by the sweep; no worker is running yet
    broker.restart()  # no persistence: every queued message is gone
    start("worker")
    start("beat")
    wait_for(lambda: all(_state(d) == "done" for d in scheduled), timeout=60, what="all deadlines done")
    assert [_effects(d) for d in scheduled] == [1] * 20


def test_two_sweeps_at_once_do_not_double_anything(start, probe_redis):
    world = build_world()
    scheduled = _schedule_probes(world.a_cm, 300)
    claimed: list[int] = []
    barrier = threading.Barrier(2)

    def sweep_in_own_connection() -> None:
        close_old_connections()
        barrier.wait()
        claimed.append(deadlines.sweep(limit=1000))
        connection.close()

    threads = [threading.Thread(target=sweep_in_own_connection) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(claimed) == 300  # SKIP LOCKED: every row claimed by exactly one sweep
    # Duplicate messages on top (a sweep retried after a timeout): fire every row twice more.
    for d in scheduled:
        deadlines.send_ids([d.pk, d.pk])
    start("worker")
    wait_for(
        lambda: Deadline.objects.filter(kind="probe.effect", state="done").count() == 300,
        timeout=120,
        what="all 300 deadlines done",
    )
    time.sleep(1)
    assert Notification.objects.filter(kind="probe").count() == 300


def test_missed_referral_acknowledgement_escalates_once_through_beat_and_worker(start):
    """A referral nobody acknowledged: when its deadline passes, the supervisor hears once and
    the timeline says so once, however many sweeps run."""
    from organizations.access import Actor
    from referrals.models import Referral, ReferralEvent
    from referrals.services import Intake, referral_create

    world = build_world()
    referral = referral_create(
        actor=Actor.for_user(world.p1_contact),
        member=world.m_a1,
        source="practice",
        intake=Intake(reason="Escalation test"),
    )
    ack = Deadline.objects.get(key__startswith=f"referral:{referral.pk}:acknowledge:")
    Deadline.objects.filter(pk=ack.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    start("worker")
    start("beat")
    wait_for(lambda: _state(ack) == "done", timeout=60, what="the acknowledgement deadline to fire")
    time.sleep(3)
    assert Notification.objects.filter(kind="referral.overdue", recipient=world.a_supervisor).count() == 1
    assert ReferralEvent.objects.filter(referral=referral, kind="deadline_missed").count() == 1
    assert Referral.objects.get(pk=referral.pk).missed_deadlines == 1


def test_coverage_ends_and_members_return_once_through_beat_and_worker(start):
    """A covered caseload: when the cover ends, beat and a real worker bring every member back
    to their care manager once, and say so once."""
    from caseloads.models import Coverage, Enrollment, EnrollmentEvent
    from caseloads.services import coverage_start, enrollment_start
    from organizations.access import Actor
    from organizations.models import Role
    from tests.conftest import make_member, make_user

    world = build_world()
    cover = make_user(world.plan_a, "cover_cm", Role.CARE_MANAGER, caseload_capacity=40)
    for i in range(3):
        enrollment_start(
            actor=SYSTEM,
            member=make_member(world.plan_a, practice=world.p1, first=f"W{i}"),
            program="complex_care",
            acuity="moderate",
            care_manager=world.a_cm,
        )
    coverage = coverage_start(
        actor=Actor.for_user(world.a_supervisor),
        absent=world.a_cm,
        covering=cover,
        ends_on=world.plan_a.local_date(),
        reason="Training week",
    )
    back = Deadline.objects.get(key=f"coverage:{coverage.pk}:return")
    Deadline.objects.filter(pk=back.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    start("worker")
    start("beat")
    wait_for(lambda: _state(back) == "done", timeout=60, what="the coverage to end")
    time.sleep(3)
    assert Coverage.objects.get(pk=coverage.pk).status == "returned"
    assert Enrollment.objects.active().filter(care_manager=world.a_cm).count() == 3
    assert EnrollmentEvent.objects.filter(kind="coverage", to_value=str(world.a_cm)).count() == 3
    assert Notification.objects.filter(recipient=world.a_cm, title__contains="assigned to you").count() == 1


def test_care_gap_reminders_run_once_through_beat_and_worker(start):
    """The plan's daily run of gaps due within 30 days: beat and a real worker remind the
    practice once, and the next day's run is put on the clock because a gap is still to come."""
    import io

    from caregaps import services as gap_services
    from caregaps.models import CareGap
    from organizations.access import Actor
    from organizations.models import Partnership

    world = build_world()
    gap_services.measure_catalog_seed(plan=world.plan_a)
    org_services.partnership_contact_save(
        actor=SYSTEM,
        partnership=Partnership.objects.get(plan=world.plan_a, practice=world.p1),
        side="practice",
        name="Pat Contact",
        user=world.p1_contact,
        email="pat@practice-one.example",
        is_primary=True,
    )
    today = world.plan_a.local_date()
    number = world.m_a1.member_number
    gap_services.gaps_import_csv(
        actor=Actor.for_user(world.a_admin),
        stream=io.BytesIO(
            f"member_id,measure,due_date\n{number},BCS,{today + dt.timedelta(days=10)}\n"
            f"{number},COL,{today + dt.timedelta(days=90)}\n".encode()
        ),
    )
    run = Deadline.objects.get(kind="care_gap.reminders")  # tomorrow's run: make it today's, due now
    Deadline.objects.filter(pk=run.pk).update(
        key=f"care-gap-reminders:{world.plan_a.pk}:{today}", due_at=timezone.now() - dt.timedelta(seconds=1)
    )
    start("worker")
    start("beat")
    wait_for(lambda: _state(run) == "done", timeout=60, what="the reminder run")
    time.sleep(3)
    assert Notification.objects.filter(kind="care_gaps.due_soon", recipient=world.p1_contact).count() == 1
    assert list(CareGap.objects.filter(reminded_at__isnull=False).values_list("measure__code", flat=True)) == ["BCS"]
    # The COL gap is still to come, so tomorrow's run is on the clock.
    (following,) = Deadline.objects.filter(kind="care_gap.reminders", state="pending")
    assert following.key == f"care-gap-reminders:{world.plan_a.pk}:{today + dt.timedelta(days=1)}"


def test_the_nightly_attributed_practice_refresh_runs_once_through_beat_and_worker(start):
    """The date turned: an attribution ended yesterday and another began today. Beat and a real
    worker move the member's gap to the new practice, and the next night's run is on the clock."""
    import io

    from caregaps import services as gap_services
    from caregaps.models import CareGap
    from members.models import Attribution
    from organizations.access import Actor

    world = build_world()
    gap_services.measure_catalog_seed(plan=world.plan_a)
    gap_services.gaps_import_csv(
        actor=Actor.for_user(world.a_admin),
        stream=io.BytesIO(f"member_id,measure\n{world.m_a1.member_number},BCS\n".encode()),
    )
    today = world.plan_a.local_date()
    Attribution.objects.filter(member=world.m_a1).update(
        start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=1)
    )
    Attribution.objects.create(member=world.m_a1, plan=world.plan_a, practice=world.p2, start_date=today)
    run = Deadline.objects.get(kind="care_gap.practices")  # tonight's run: make it due now
    Deadline.objects.filter(pk=run.pk).update(
        key=f"care-gap-practices:{world.plan_a.pk}:{today}", due_at=timezone.now() - dt.timedelta(seconds=1)
    )
    start("worker")
    start("beat")
    wait_for(lambda: _state(run) == "done", timeout=60, what="the nightly refresh")
    assert CareGap.objects.get(member=world.m_a1).practice_id == world.p2.pk
    (following,) = Deadline.objects.filter(kind="care_gap.practices", state="pending")
    assert following.key == f"care-gap-practices:{world.plan_a.pk}:{today + dt.timedelta(days=1)}"
    assert Deadline.objects.get(pk=run.pk).attempts == 1


def test_an_unanswered_community_referral_escalates_once_through_beat_and_worker(start):
    """Five business days without an answer from the organization: the care manager and the
    supervisors hear once, and the referral says it was escalated."""
    from members.models import ReleaseOfInformation
    from organizations.access import Actor
    from sdoh import services as sdoh_services
    from sdoh.models import SocialReferral
    from tests.conftest import make_org, make_release

    world = build_world()
    agency = make_org("community", "Open Door Housing")
    make_release(
        world.m_a1, agency, recipient_kind="community", purposes=[ReleaseOfInformation.Purpose.SOCIAL_SERVICES]
    )
    referral = sdoh_services.social_referral_create(
        actor=Actor.for_user(world.a_cm), member=world.m_a1, organization=agency, request_note="Eviction notice"
    )
    due = Deadline.objects.get(key=f"social-referral:{referral.pk}:response")
    Deadline.objects.filter(pk=due.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    start("worker")
    start("beat")
    wait_for(lambda: _state(due) == "done", timeout=60, what="the referral's response deadline")
    time.sleep(3)
    overdue = Notification.objects.filter(kind="sdoh.referral_overdue")
    assert overdue.filter(recipient=world.a_cm).count() == 1
    assert overdue.filter(recipient=world.a_supervisor).count() == 1
    assert SocialReferral.objects.get(pk=referral.pk).escalated_at is not None
