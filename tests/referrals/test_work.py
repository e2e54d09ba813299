"""Acknowledge, triage, assign (suggestions, claim, reassign), reach out, enroll; the referrer hears."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from caseloads.models import Enrollment
from core import deadlines
from core.models import Deadline, Notification
from members.models import CareTeamMember
from organizations.models import Role
from referrals.models import Referral, ReferralEvent, Status
from referrals.selectors import suggestions
from referrals.services import outreach_log, referral_claim, referral_reassign, referral_transition
from tests.conftest import make_user
from tests.referrals.conftest import put_in, submit


def test_deadlines_follow_business_days_in_the_plans_time_zone(world):
    referral = submit(world)
    keys = dict(
        Deadline.objects.filter(key__startswith=f"referral:{referral.pk}:").values_list("payload__step", "due_at")
    )
    local = {step: due.astimezone(world.plan_a.tz) for step, due in keys.items()}
    submitted = referral.submitted_at.astimezone(world.plan_a.tz)
    from core.calendar import BusinessCalendar

    calendar = BusinessCalendar.for_timezone(world.plan_a.timezone)
    assert local["acknowledge"] == calendar.add_business_days(submitted, 1)
    assert local["triage"] == calendar.add_business_days(submitted, 2)
    assert referral.due_at == keys["acknowledge"] and referral.due_step == "acknowledge"


def test_a_missed_acknowledgement_tells_the_supervisor_and_shows_on_the_queue(world, client_for):
    referral = submit(world)
    deadline = Deadline.objects.get(key__startswith=f"referral:{referral.pk}:acknowledge:")
    Deadline.objects.filter(pk=deadline.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert deadlines.fire(deadline.pk) == "done"
    notice = Notification.objects.get(kind="referral.overdue")
    assert notice.recipient == world.a_supervisor and "acknowledgement" in notice.title.lower()
    assert ReferralEvent.objects.filter(referral=referral, kind="deadline_missed").count() == 1
    referral.refresh_from_db()
    assert referral.missed_deadlines == 1
    page = client_for(world.a_cm).get("/referrals/", {"due": "overdue"})
    assert [r["id"] for r in page.context["rows"]] == [referral.public_id]
    assert b"overdue" in page.content


def test_acknowledging_cancels_that_deadline_and_keeps_the_triage_clock(world):
    referral = submit(world)
    referral = referral_transition(actor=world.actor(world.a_intake), referral=referral, to=Status.ACKNOWLEDGED)
    states = dict(
        Deadline.objects.filter(key__startswith=f"referral:{referral.pk}:").values_list("payload__step", "state")
    )
    assert states == {"acknowledge": "cancelled", "triage": "pending"}
    assert referral.due_step == "triage"


def test_suggestions_rank_credential_then_language_then_load(world):
    lcsw = make_user(
        world.plan_a, "a_lcsw", Role.CARE_MANAGER, credential="LCSW", languages=["English"], caseload_capacity=40
    )
    rn_spanish = make_user(
        world.plan_a,
        "a_rn_es",
        Role.CARE_MANAGER,
        credential="RN",
        languages=["English", "Spanish"],
        caseload_capacity=40,
    )
    world.m_a1.preferred_language = "Spanish"
    world.m_a1.save()
    referral = put_in(submit(world), Status.TRIAGED, world)
    ranked = [s.person for s in suggestions(world.actor(world.a_supervisor), referral)]
    assert ranked[:2] == [rn_spanish, world.a_cm]  # both RN; the Spanish speaker first
    assert ranked.index(lcsw) > 1
    Enrollment.objects.create(
        plan=world.plan_a,
        member=world.m_a2,
        program="complex_care",
        acuity="intensive",
        care_manager=rn_spanish,
        start_date=world.plan_a.local_date(),
    )
    load = {s.person: s.load for s in suggestions(world.actor(world.a_supervisor), referral)}
    assert load[rn_spanish] == 4.0  # acuity-weighted: intensive counts 4


def test_claiming_makes_the_care_manager_the_members_single_point_of_contact(world, client_for):
    referral = put_in(submit(world), Status.TRIAGED, world)
    response = client_for(world.a_cm).post(f"/referrals/{referral.public_id}/claim/")
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.status, referral.assigned_to, referral.due_step) == (Status.ASSIGNED, world.a_cm, "first_outreach")
    poc = CareTeamMember.objects.get(member=world.m_a1, is_point_of_contact=True)
    assert (poc.user, poc.role) == (world.a_cm, "care_manager")
    other = make_user(world.plan_a, "a_cm2", Role.CARE_MANAGER, credential="RN", caseload_capacity=30)
    referral_reassign(actor=world.actor(world.a_supervisor), referral=referral, assignee=other, reason="Leave")
    assert CareTeamMember.objects.get(member=world.m_a1, is_point_of_contact=True).user == other
    assert CareTeamMember.objects.get(member=world.m_a1, user=world.a_cm).end_date is not None
    assert Notification.objects.filter(recipient=other, kind="referral.assigned").exists()
    with pytest.raises(ValidationError):
        referral_claim(actor=world.actor(world.a_cm), referral=referral)  # no longer in the pool


def test_no_outreach_before_a_release_of_information(world):
    referral = put_in(submit(world), Status.ASSIGNED, world)
    with pytest.raises(ValidationError, match="release of information"):
        outreach_log(actor=world.actor(world.a_cm), referral=referral, method="phone", outcome="no_answer")
    assert not referral.attempts.exists()


def test_first_attempt_starts_outreach_and_stops_its_clock(consented):
    world = consented
    referral = put_in(submit(world), Status.ASSIGNED, world)
    outreach_log(
        actor=world.actor(world.a_cm), referral=referral, method="phone", outcome="left_message", note="Voicemail"
    )
    referral.refresh_from_db()
    assert (referral.status, referral.due_at) == (Status.OUTREACH, None)
    with pytest.raises(ValidationError) as error:
        outreach_log(actor=world.actor(world.a_cm), referral=referral, method="carrier pigeon", outcome="x")
    assert set(error.value.message_dict) == {"method", "outcome"}


def test_enrolling_creates_the_enrollment_and_the_practice_sees_it(consented, client_for):
    world = consented
    referral = put_in(submit(world), Status.OUTREACH, world)
    referral_transition(actor=world.actor(world.a_cm), referral=referral, to=Status.ENROLLED, acuity="high")
    enrollment = Enrollment.objects.get(member=world.m_a1)
    assert (enrollment.program, enrollment.acuity, enrollment.care_manager, enrollment.referral) == (
        "complex_care",
        "high",
        world.a_cm,
        referral,
    )
    page = client_for(world.p1_contact).get("/referrals/sent/")
    assert b"Enrolled" in page.content and world.a_cm.get_full_name().encode() in page.content
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():  # one active enrollment per member
        Enrollment.objects.create(
            plan=world.plan_a,
            member=world.m_a1,
            program="perinatal",
            acuity="low",
            care_manager=world.a_cm,
            start_date=world.plan_a.local_date(),
        )


def test_the_referrer_hears_of_each_change_in_the_inbox_and_once_a_day_by_email(world):
    referral = submit(world)
    referral_transition(actor=world.actor(world.a_intake), referral=referral, to=Status.ACKNOWLEDGED)
    notices = Notification.objects.filter(recipient=world.p1_contact, kind="referral.status")
    assert [n.title.split(": ")[-1] for n in notices.order_by("id")] == ["Submitted", "Acknowledged"]
    digest = Deadline.objects.get(kind="referral.digest", payload__user_id=world.p1_contact.pk)
    assert digest.due_at.astimezone(world.p1.tz).hour == 7
    Deadline.objects.filter(pk=digest.pk).update(due_at=timezone.now())
    Notification.objects.filter(pk__in=notices).update(created_at=timezone.now() - dt.timedelta(hours=1))
    # The window is the 24 hours before 07:00 in the practice's zone; move it to now, whatever the
    # time of day the suite runs at.
    digest.payload["since"] = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    digest.payload["until"] = timezone.now().isoformat()
    Deadline.objects.filter(pk=digest.pk).update(payload=digest.payload)
    assert deadlines.fire(digest.pk) == "done"
    email = Deadline.objects.get(kind="notification.email", key__contains="referral-digest")
    assert deadlines.fire(email.pk) == "done"
    assert mail.outbox[-1].subject == "CareCoord: 2 updates on your referrals"
    assert "Alice" not in mail.outbox[-1].body


def test_plan_internal_notes_never_reach_the_practice(consented, client_for):
    world = consented
    referral = put_in(submit(world), Status.OUTREACH, world)
    referral_transition(
        actor=world.actor(world.a_cm),
        referral=referral,
        to=Status.DECLINED,
        reason="Prefers to manage with her PCP",
        internal_note="Sounded unwell; check in monthly",
    )
    practice = client_for(world.p1_contact)
    page = practice.get(f"/referrals/{referral.public_id}/")
    assert b"Prefers to manage" in page.content and b"Sounded unwell" not in page.content
    api = practice.get(f"/api/v1/referrals/{referral.public_id}/").json()
    assert all("internal_note" not in event for event in api["timeline"])
    plan = client_for(world.a_cm).get(f"/api/v1/referrals/{referral.public_id}/").json()
    assert any(event.get("internal_note") == "Sounded unwell; check in monthly" for event in plan["timeline"])


def test_a_referral_closed_without_enrollment_ends_the_care_managers_place(consented):
    world = consented
    referral = put_in(submit(world), Status.TRIAGED, world)
    referral_claim(actor=world.actor(world.a_cm), referral=referral)
    assert CareTeamMember.objects.get(member=world.m_a1, user=world.a_cm).is_point_of_contact
    referral_transition(
        actor=world.actor(world.a_cm), referral=referral, to=Status.NOT_ELIGIBLE, reason="Moving out of state"
    )
    entry = CareTeamMember.objects.get(member=world.m_a1, user=world.a_cm)
    assert entry.end_date is not None and not entry.is_point_of_contact
    assert entry.end_reason == "Referral not eligible"


def test_the_first_outreach_is_a_task_on_the_assignees_worklist(consented):
    from caseloads.models import Task

    world = consented
    other = make_user(world.plan_a, "a_cm_other", Role.CARE_MANAGER, credential="RN", caseload_capacity=30)
    referral = put_in(submit(world), Status.TRIAGED, world)
    referral = referral_claim(actor=world.actor(world.a_cm), referral=referral)
    task = Task.objects.get(origin_key=f"referral:{referral.pk}:first_outreach")
    assert task.owner == world.a_cm and task.status == "open" and task.origin == "referral"
    assert task.due_date == timezone.localtime(referral.due_at, world.plan_a.tz).date()
    referral_reassign(actor=world.actor(world.a_supervisor), referral=referral, assignee=other)
    task.refresh_from_db()
    assert task.owner == other and Task.objects.filter(origin_key=task.origin_key).count() == 1
    outreach_log(actor=world.actor(other), referral=referral, method="phone", outcome="no_answer")
    task.refresh_from_db()
    assert task.status == "done"


def test_closing_a_referral_before_outreach_cancels_its_task(consented):
    from caseloads.models import Task

    world = consented
    referral = referral_claim(actor=world.actor(world.a_cm), referral=put_in(submit(world), Status.TRIAGED, world))
    referral_transition(actor=world.actor(world.a_cm), referral=referral, to=Status.CANCELLED, reason="Duplicate")
    assert Task.objects.get(origin_key=f"referral:{referral.pk}:first_outreach").status == "cancelled"
