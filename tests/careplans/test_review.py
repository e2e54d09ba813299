"""Monitoring: a review comes due every 90 days (a deadline row) and tells the care manager;
recording a review starts the next cycle; other apps can ask for a review now."""

import datetime as dt

from django.utils import timezone

from careplans import services
from caseloads.models import Task
from core import deadlines
from core.models import Deadline, Notification


def open_reviews(care_plan):
    return list(
        Deadline.objects.filter(key__startswith=f"careplan-review:{care_plan.pk}:", state__in=Deadline.OPEN_STATES)
    )


def test_starting_a_plan_schedules_a_review_in_90_days(world, care_plan):
    [deadline] = open_reviews(care_plan)
    expected = world.plan_a.local_date() + dt.timedelta(days=90)
    assert care_plan.next_review_on == expected
    local = deadline.due_at.astimezone(world.plan_a.tz)
    assert (local.date(), local.hour) == (expected, 9)


def test_a_due_review_tells_the_care_manager_once(world, care_plan):
    [deadline] = open_reviews(care_plan)
    Deadline.objects.filter(pk=deadline.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert deadlines.fire(deadline.pk) == "done"
    assert deadlines.fire(deadline.pk) == "skipped"
    notice = Notification.objects.get(kind="careplan.review_due")
    assert notice.recipient == world.a_cm and notice.email_wanted and "Alice Arbor" in notice.title
    task = Task.objects.get(origin_key=f"careplan:{care_plan.pk}:review")  # on the worklist too
    assert task.owner == world.a_cm and task.status == "open" and task.origin == "care_plan"
    services.careplan_review_record(actor=world.actor(world.a_cm), care_plan=care_plan, note="Reviewed")
    task.refresh_from_db()
    assert task.status == "done"


def test_recording_a_review_reschedules_and_is_a_version(world, care_plan, client_for):
    [first] = open_reviews(care_plan)
    response = client_for(world.a_cm).post(f"/members/{world.m_a1.public_id}/care-plan/review/", {"note": ""})
    assert response.status_code == 302
    assert open_reviews(care_plan) == [first]  # an empty note records nothing
    client_for(world.a_cm).post(f"/members/{world.m_a1.public_id}/care-plan/review/", {"note": "Walking daily"})
    care_plan.refresh_from_db()
    assert care_plan.last_reviewed_at is not None and care_plan.version == 8
    assert care_plan.versions.get(number=8).summary == "Reviewed: Walking daily"
    [current] = open_reviews(care_plan)
    first.refresh_from_db()
    assert first.state == Deadline.State.CANCELLED and current.pk != first.pk
    assert care_plan.next_review_on == world.plan_a.local_date() + dt.timedelta(days=90)


def test_a_review_prompt_comes_due_at_once_and_a_review_returns_to_the_cycle(world, care_plan):
    assert services.careplan_review_prompt(member=world.m_a2, reason="Discharged") is None  # no plan
    services.careplan_review_prompt(member=world.m_a1, reason="Discharged from hospital")
    [prompt] = open_reviews(care_plan)
    assert prompt.due_at <= timezone.now() and prompt.payload["reason"] == "Discharged from hospital"
    assert deadlines.fire(prompt.pk) == "done"
    notice = Notification.objects.get(kind="careplan.review_due")
    assert "Discharged from hospital" in notice.title
    services.careplan_review_record(actor=world.actor(world.a_cm), care_plan=care_plan, note="Post-discharge check")
    care_plan.refresh_from_db()
    assert care_plan.next_review_on == world.plan_a.local_date() + dt.timedelta(days=90)
    assert len(open_reviews(care_plan)) == 1


def test_a_moved_review_does_not_fire_the_old_date(world, care_plan):
    [deadline] = open_reviews(care_plan)
    care_plan.next_review_on = care_plan.next_review_on + dt.timedelta(days=1)
    care_plan.save(update_fields=["next_review_on"])
    Deadline.objects.filter(pk=deadline.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert deadlines.fire(deadline.pk) == "done"
    assert not Notification.objects.filter(kind="careplan.review_due").exists()


def test_practice_cannot_record_a_review(world, care_plan, client_for):
    from tests.conftest import make_release

    make_release(world.m_a1, world.p1)
    response = client_for(world.p1_contact).post(f"/members/{world.m_a1.public_id}/care-plan/review/", {"note": "x"})
    assert response.status_code == 403


def test_the_review_worklist_shows_due_and_overdue_plans_soonest_first(world, care_plan, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from careplans.models import CarePlan
    from caseloads.models import Enrollment
    from tests.careplans.conftest import build_plan
    from tests.conftest import make_member

    client = client_for(world.a_cm)
    assert client.get("/care-plans/reviews/").context["page"].items == []  # due in 90 days: not yet
    today = world.plan_a.local_date()
    CarePlan.objects.filter(pk=care_plan.pk).update(next_review_on=today - dt.timedelta(days=2))
    other = build_plan(world, world.m_a2)
    CarePlan.objects.filter(pk=other.pk).update(next_review_on=today + dt.timedelta(days=10))
    extra = build_plan(world, make_member(world.plan_a, practice=world.p1, first="Far", last="Later"))
    CarePlan.objects.filter(pk=extra.pk).update(next_review_on=today + dt.timedelta(days=30))
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/care-plans/reviews/")
    assert [c.pk for c in page.context["page"].items] == [care_plan.pk, other.pk]
    assert "overdue" in page.content.decode() and len(queries) <= 12
    Enrollment.objects.create(
        plan=world.plan_a, member=world.m_a2, program="complex_care", acuity="high", care_manager=world.a_cm,
        start_date=today,
    )  # fmt: skip
    mine = client.get("/care-plans/reviews/", {"mine": "1"}).context["page"].items
    assert [c.pk for c in mine] == [other.pk]
    assert client_for(world.b_cm).get("/care-plans/reviews/").context["page"].items == []
    assert client_for(world.p1_contact).get("/care-plans/reviews/").status_code == 403


def test_the_review_interval_follows_the_members_program(world):
    from tests.caseloads.conftest import enroll

    enroll(world, world.m_a2, program="perinatal")
    perinatal = services.careplan_start(actor=world.actor(world.a_cm), member=world.m_a2)
    assert perinatal.next_review_on == world.plan_a.local_date() + dt.timedelta(days=30)
    services.careplan_review_record(actor=world.actor(world.a_cm), care_plan=perinatal, note="Doing well")
    perinatal.refresh_from_db()
    assert perinatal.next_review_on == world.plan_a.local_date() + dt.timedelta(days=30)
    enroll(world, world.m_a1, program="complex_care")
    complex_care = services.careplan_start(actor=world.actor(world.a_cm), member=world.m_a1)
    assert complex_care.next_review_on == world.plan_a.local_date() + dt.timedelta(days=90)
