import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caseloads.models import Coverage, Enrollment, Task
from caseloads.services import caseload_reassign, coverage_start, task_create
from core import deadlines
from core.models import Deadline, Notification
from members.models import CareTeamMember

pytestmark = pytest.mark.django_db(transaction=True)  # notices go out on commit


def test_supervisor_moves_chosen_members_with_their_tasks_and_everyone_hears(world, caseload, second_cm):
    chosen = caseload[:3]
    task_create(
        actor=world.actor(world.a_cm),
        member=chosen[0].member,
        owner=world.a_cm,
        title="Call about glucometer",
        due_date=world.plan_a.local_date(),
        origin="care_plan",
    )
    moved = caseload_reassign(
        actor=world.actor(world.a_supervisor),
        enrollment_ids=[e.pk for e in chosen],
        to=second_cm,
        reason="Balancing caseloads",
    )
    assert moved == 3
    assert set(Enrollment.objects.filter(care_manager=second_cm).values_list("pk", flat=True)) == {e.pk for e in chosen}
    assert Task.objects.get(title="Call about glucometer").owner == second_cm
    for e in chosen:
        assert CareTeamMember.objects.get(member=e.member, is_point_of_contact=True).user == second_cm
        assert e.events.filter(kind="care_manager", from_value=str(world.a_cm), to_value=str(second_cm)).exists()
    assert Notification.objects.get(recipient=second_cm).title == "3 members assigned to you"
    assert "3 members moved from your caseload" in Notification.objects.get(recipient=world.a_cm).title
    practice_notice = Notification.objects.get(recipient=world.p1_contact)
    assert "3 of your patients have a new care manager" in practice_notice.title


def test_reassignment_refuses_bad_input_and_non_supervisors(world, caseload, second_cm):
    supervisor = world.actor(world.a_supervisor)
    with pytest.raises(PermissionDenied):
        caseload_reassign(actor=world.actor(world.a_cm), enrollment_ids=[caseload[0].pk], to=second_cm, reason="x")
    with pytest.raises(ValidationError) as err:
        caseload_reassign(actor=supervisor, enrollment_ids=[caseload[0].pk], to=world.b_cm, reason="x")
    assert "to" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        caseload_reassign(actor=supervisor, enrollment_ids=[caseload[0].pk], to=second_cm, reason="")
    assert "reason" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        caseload_reassign(actor=supervisor, enrollment_ids=[], to=second_cm, reason="x")
    assert "enrollments" in err.value.message_dict
    assert Enrollment.objects.filter(care_manager=world.a_cm).count() == len(caseload)


def test_coverage_moves_everyone_and_the_deadline_brings_them_back(world, caseload, second_cm):
    supervisor = world.actor(world.a_supervisor)
    today = world.plan_a.local_date()
    with pytest.raises(ValidationError) as err:
        coverage_start(
            actor=supervisor, absent=world.a_cm, covering=second_cm, ends_on=today - dt.timedelta(days=1), reason="x"
        )
    assert "ends_on" in err.value.message_dict
    coverage = coverage_start(
        actor=supervisor, absent=world.a_cm, covering=second_cm, ends_on=today + dt.timedelta(days=7), reason="Leave"
    )
    assert Enrollment.objects.active().filter(care_manager=second_cm).count() == len(caseload)
    # Meanwhile a supervisor places one member with someone else for good: that one stays.
    caseload_reassign(actor=supervisor, enrollment_ids=[caseload[0].pk], to=world.a_cm, reason="Back early")
    due = Deadline.objects.get(key=f"coverage:{coverage.pk}:return")
    assert due.due_at.astimezone(world.plan_a.tz).date() == today + dt.timedelta(days=8)
    Deadline.objects.filter(pk=due.pk).update(due_at=due.due_at - dt.timedelta(days=30))
    assert deadlines.fire(due.pk) == "done"
    assert Coverage.objects.get(pk=coverage.pk).status == "returned"
    assert Enrollment.objects.active().filter(care_manager=world.a_cm).count() == len(caseload)
    assert not Enrollment.objects.active().filter(care_manager=second_cm).exists()
    deadlines.fire(due.pk)  # delivered twice: nothing more happens
    assert caseload[1].events.filter(kind="coverage").count() == 2


def test_fifty_members_move_in_one_action_in_a_bounded_number_of_queries(world, second_cm):
    from tests.caseloads.conftest import enroll
    from tests.conftest import make_member

    def enroll_many(n, tag):
        return [enroll(world, make_member(world.plan_a, practice=world.p1, first=f"{tag}{i}")) for i in range(n)]

    small, large = enroll_many(5, "S"), enroll_many(50, "L")
    supervisor = world.actor(world.a_supervisor)
    counts = []
    for batch, to in ((small, second_cm), (large, second_cm)):
        with CaptureQueriesContext(connection) as ctx:
            assert caseload_reassign(actor=supervisor, enrollment_ids=[e.pk for e in batch], to=to, reason="x") == len(
                batch
            )
        counts.append(len(ctx) / len(batch))
    # The per-member work (row, care team, history, audit) is a fixed handful of statements.
    assert counts[1] <= counts[0], counts
