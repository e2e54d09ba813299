import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from caseloads.models import Enrollment, EnrollmentEvent, Task
from caseloads.services import (
    enrollment_change_acuity,
    enrollment_end,
    enrollment_record_delivery,
    enrollment_set_co_management,
)
from core import deadlines
from core.models import Deadline, Notification
from members.models import CareTeamMember
from tests.caseloads.conftest import enroll

pytestmark = pytest.mark.django_db


def test_enrolling_records_the_start_and_makes_the_care_manager_the_point_of_contact(world):
    enrollment = enroll(world)
    assert [e.kind for e in enrollment.events.all()] == [EnrollmentEvent.Kind.STARTED]
    poc = CareTeamMember.objects.get(member=world.m_a1, is_point_of_contact=True)
    assert poc.user == world.a_cm
    with pytest.raises(ValidationError, match="already enrolled"):
        enroll(world)


def test_acuity_moves_toward_self_management_with_its_history(world):
    enrollment = enroll(world, acuity="intensive")
    actor = world.actor(world.a_cm)
    for step, why in (("high", "Stable for a month"), ("moderate", "Managing medications"), ("low", "Goals met")):
        enrollment = enrollment_change_acuity(actor=actor, enrollment=enrollment, acuity=step, reason=why)
    moves = list(enrollment.events.filter(kind="acuity").values_list("from_value", "to_value", "reason"))
    assert moves == [
        ("Intensive", "High", "Stable for a month"),
        ("High", "Moderate", "Managing medications"),
        ("Moderate", "Low", "Goals met"),
    ]
    with pytest.raises(ValidationError) as err:
        enrollment_change_acuity(actor=actor, enrollment=enrollment, acuity="low", reason="again")
    assert "acuity" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        enrollment_change_acuity(actor=actor, enrollment=enrollment, acuity="high", reason=" ")
    assert "reason" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        enrollment_change_acuity(actor=world.actor(world.a_intake), enrollment=enrollment, acuity="high", reason="x")


def test_ending_stops_timers_closes_its_tasks_and_frees_the_care_team_place(world):
    enrollment = enroll(world, program="perinatal")
    actor = world.actor(world.a_cm)
    enrollment_record_delivery(actor=actor, enrollment=enrollment, delivery_date=world.plan_a.local_date())
    enrollment = enrollment_end(actor=actor, enrollment=enrollment, reason="Moved out of the service area")
    assert enrollment.status == Enrollment.Status.ENDED and enrollment.end_date is not None
    assert not Deadline.objects.filter(key__startswith=f"enrollment:{enrollment.pk}:", state="pending").exists()
    entry = CareTeamMember.objects.get(member=world.m_a1, user=world.a_cm)
    assert entry.end_date is not None and not entry.is_point_of_contact
    with pytest.raises(ValidationError, match="ended"):
        enrollment_change_acuity(actor=actor, enrollment=enrollment, acuity="low", reason="x")
    enroll(world)  # a new enrollment may start once the old one has ended


def test_perinatal_closure_review_comes_90_days_after_delivery_once(world):
    enrollment = enroll(world, program="perinatal", expected_delivery_date=world.plan_a.local_date())
    actor = world.actor(world.a_cm)
    today = world.plan_a.local_date()
    with pytest.raises(ValidationError) as err:
        enrollment_record_delivery(actor=actor, enrollment=enrollment, delivery_date=today + dt.timedelta(days=3))
    assert "delivery_date" in err.value.message_dict
    enrollment_record_delivery(actor=actor, enrollment=enrollment, delivery_date=today - dt.timedelta(days=10))
    enrollment_record_delivery(actor=actor, enrollment=enrollment, delivery_date=today - dt.timedelta(days=5))
    pending = Deadline.objects.filter(kind="caseloads.perinatal_close", state="pending")
    assert pending.count() == 1  # the corrected date replaced the first one
    due = pending.get()
    assert due.due_at.astimezone(world.plan_a.tz).date() == today - dt.timedelta(days=5) + dt.timedelta(days=90)
    Deadline.objects.filter(pk=due.pk).update(due_at=due.due_at - dt.timedelta(days=200))
    assert deadlines.fire(due.pk) == "done"
    deadlines.fire(due.pk)  # a second delivery of the same row does nothing
    assert Task.objects.filter(origin_key=f"enrollment:{enrollment.pk}:perinatal_close").count() == 1
    task = Task.objects.get(origin_key=f"enrollment:{enrollment.pk}:perinatal_close")
    assert task.owner == world.a_cm and task.status == "open"
    assert Notification.objects.filter(recipient=world.a_cm, kind="caseloads.task").count() == 1


def test_only_perinatal_enrollments_record_a_delivery(world):
    enrollment = enroll(world)
    with pytest.raises(ValidationError) as err:
        enrollment_record_delivery(
            actor=world.actor(world.a_cm), enrollment=enrollment, delivery_date=world.plan_a.local_date()
        )
    assert "delivery_date" in err.value.message_dict


def test_behavioral_health_co_management_and_the_rounds_list(world, client_for):
    enrollment = enroll(world, program="behavioral_health")
    actor = world.actor(world.a_cm)
    with pytest.raises(ValidationError) as err:
        enrollment_set_co_management(actor=actor, enrollment=enrollment, partner=world.community, contact="")
    assert "contact" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        enrollment_set_co_management(actor=actor, enrollment=enrollment, partner=world.plan_b, contact="x")
    assert "partner" in err.value.message_dict
    enrollment_set_co_management(
        actor=actor, enrollment=enrollment, partner=world.community, contact="Dr. Rowe, 555-0100"
    )
    page = client_for(world.a_cm).get("/caseloads/rounds/")
    assert page.status_code == 200
    assert [(p, [e.pk for e in es]) for p, es in page.context["groups"]] == [(world.community, [enrollment.pk])]
    assert "Dr. Rowe, 555-0100" in page.content.decode()
    enrollment_set_co_management(actor=actor, enrollment=enrollment, partner=None)
    assert client_for(world.a_cm).get("/caseloads/rounds/").context["groups"] == []
    assert enrollment.events.filter(kind="co_management").count() == 2


def test_enrollment_page_shows_history_and_takes_actions(world, client_for):
    enrollment = enroll(world)
    client = client_for(world.a_cm)
    url = f"/enrollments/{enrollment.public_id}/"
    response = client.post(url + "acuity/", {"acuity": "moderate", "reason": "Fewer ED visits"}, follow=True)
    assert response.status_code == 200 and "Fewer ED visits" in response.content.decode()
    response = client.post(url + "acuity/", {"acuity": "bogus", "reason": "x"}, follow=True)
    assert "Acuity" in " ".join(str(m) for m in response.context["messages"])
    assert Enrollment.objects.get(pk=enrollment.pk).acuity == "moderate"
    # a practice sees enrollment status on the member page, not the plan's enrollment record
    assert client_for(world.p1_contact).get(url).status_code == 403
    assert client_for(world.p1_contact).post(url + "end/", {"reason": "x"}).status_code == 403
