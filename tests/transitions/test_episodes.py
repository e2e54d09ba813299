"""Transition episodes: what admissions and discharges open, who is told, every deadline and its
escalation, appointments, readmissions, LACE, and the services' bad-input answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caseloads.models import ContactLog, Task
from core import deadlines
from core.models import Deadline, Notification
from organizations.access import Actor
from organizations.models import Partnership
from organizations.services import business_calendar, partnership_contact_save
from tests.conftest import make_member, make_release
from tests.transitions.adt import adt, discharge, fire, hl7_time, step
from transitions import episodes
from transitions.models import Appointment, Episode, EpisodeStep

SYSTEM = Actor.system()
Kind = EpisodeStep.Kind


# ---- Opening ----------------------------------------------------------------------------------


def test_a_discharge_opens_an_episode_with_five_owned_deadlines(setup, send):
    world = setup
    episode = discharge(send, world)
    assert (episode.member, episode.practice, episode.care_manager) == (world.m_a1, world.p1, world.a_cm)
    steps = {s.kind: s for s in episode.steps.all()}
    assert set(steps) == set(Kind.values)
    cal = business_calendar(world.plan_a)
    assert steps[Kind.OUTREACH].due_at == cal.add_business_days(episode.discharged_at, 2)
    local_out = episode.discharged_at.astimezone(world.plan_a.tz).date()
    assert steps[Kind.FOLLOW_UP].due_at.astimezone(world.plan_a.tz) == dt.datetime.combine(
        local_out + dt.timedelta(days=7), dt.time(23, 59, 59), tzinfo=world.plan_a.tz
    )
    assert steps[Kind.MED_REC].due_at.astimezone(world.plan_a.tz).date() == local_out + dt.timedelta(days=30)
    assert {k: (s.side, s.owner) for k, s in steps.items()} == {
        Kind.OUTREACH: ("plan", world.a_cm),
        Kind.DISCHARGE_INFO: ("plan", world.a_cm),
        Kind.ENGAGEMENT: ("plan", world.a_cm),
        Kind.FOLLOW_UP: ("practice", world.p1_contact),
        Kind.MED_REC: ("practice", world.p1_contact),
    }
    # Durable deadlines, one per step, and the plan's steps on the care manager's worklist.
    assert Deadline.objects.filter(kind="transitions.step_due", state="pending").count() == 5
    assert set(
        Task.objects.open().filter(owner=world.a_cm, origin="transition").values_list("origin_key", flat=True)
    ) == {f"episode-step:{steps[k].pk}" for k in (Kind.OUTREACH, Kind.DISCHARGE_INFO, Kind.ENGAGEMENT)}
    assert episode.next_due_at == min(s.due_at for s in steps.values())
    # Both sides hear of it; the practice's point of contact by email too.
    assert Notification.objects.filter(recipient=world.a_cm, kind="discharge").count() == 1
    assert Notification.objects.get(recipient=world.p1_contact, kind="discharge").email_wanted
    assert not Notification.objects.get(recipient=world.a_cm, kind="discharge").email_wanted
    assert Notification.objects.filter(kind="discharge").count() == 2


def test_a_second_discharge_message_for_the_same_stay_changes_nothing(setup, send):
    world = setup
    episode = discharge(send, world)
    again = discharge(send, world)  # a corrected A03 with a new control id
    assert again.pk == episode.pk
    assert EpisodeStep.objects.count() == 5 and Deadline.objects.filter(kind="transitions.step_due").count() == 5


def test_ed_and_outpatient_discharges_open_no_episode(setup, send):
    world = setup
    tz = world.plan_a.tz
    now = timezone.now()
    send(adt("A03", pid3="A0001^^^PLANA^MB", patient_class="E", visit="ED1", discharged=hl7_time(now, tz)))
    assert not Episode.objects.exists()


def test_an_admission_tells_the_care_manager_and_the_practice_at_once(setup, send):
    world = setup
    before = timezone.now()
    send(adt("A01", pid3="A0001^^^PLANA^MB", visit="V9", admitted=hl7_time(before, world.plan_a.tz)))
    cm = Notification.objects.get(recipient=world.a_cm, kind="admission")
    practice = Notification.objects.get(recipient=world.p1_contact, kind="admission")
    assert "admitted to General Hospital" in cm.title and cm.title == practice.title
    assert cm.created_at >= before - dt.timedelta(seconds=5)
    # The point of contact's email is a deadline due now: handed to the broker on commit.
    send(
        adt("A04", pid3="A0001^^^PLANA^MB", visit="V10", patient_class="E", admitted=hl7_time(before, world.plan_a.tz))
    )
    emailed = Notification.objects.get(recipient=world.p1_contact, kind="admission", title__contains="emergency")
    assert emailed.email_wanted
    email = Deadline.objects.get(key=f"notification-email:{emailed.pk}")
    assert email.due_at <= timezone.now()


def test_an_admission_with_no_point_of_contact_account_emails_the_contact_by_address(world, feed, send):
    partnership = Partnership.objects.get(plan=world.plan_a, practice=world.p1)
    partnership_contact_save(
        actor=SYSTEM,
        partnership=partnership,
        side="practice",
        name="Front Desk",
        email="desk@p1.example",
        is_primary=True,
    )
    send(adt("A01", pid3="A0001^^^PLANA^MB", visit="V9"))
    (row,) = Deadline.objects.filter(kind="notification.email", key__startswith="contact-email:admission")
    assert row.payload["to"] == "desk@p1.example" and "Arbor" not in str(row.payload)


# ---- Deadlines and escalation ------------------------------------------------------------------


def test_a_missed_step_goes_to_the_care_manager_then_the_supervisor_once(setup, send):
    world = setup
    episode = discharge(send, world)
    outreach = step(episode, Kind.OUTREACH)
    assert fire(f"episode-step:{outreach.pk}:due") == ["done"]
    outreach.refresh_from_db()
    assert (outreach.status, outreach.escalation) == ("missed", 1)
    assert Notification.objects.filter(recipient=world.a_cm, kind="transition_overdue").count() == 1
    assert not Notification.objects.filter(recipient=world.a_supervisor, kind="transition_escalated").exists()
    # A duplicate delivery of the same deadline does nothing more.
    (due,) = Deadline.objects.filter(key__startswith=f"episode-step:{outreach.pk}:due")
    assert deadlines.fire(due.pk) == "skipped"
    assert fire(f"episode-step:{outreach.pk}:escalate") == ["done"]
    outreach.refresh_from_db()
    assert outreach.escalation == 2
    told = Notification.objects.get(recipient=world.a_supervisor, kind="transition_escalated")
    assert "outreach" in told.title
    assert Notification.objects.filter(kind="transition_escalated").count() == 1
    assert Notification.objects.filter(recipient=world.a_cm, kind="transition_overdue").count() == 1


def test_a_practice_step_missed_tells_the_practice_and_gives_the_care_manager_a_follow_up_task(setup, send):
    world = setup
    episode = discharge(send, world)
    follow_up = step(episode, Kind.FOLLOW_UP)
    fire(f"episode-step:{follow_up.pk}:due")
    assert Notification.objects.filter(recipient=world.p1_contact, kind="transition_overdue").count() == 1
    task = Task.objects.open().get(origin_key=f"episode-step:{follow_up.pk}")
    assert task.owner == world.a_cm and task.title.startswith("Follow up with the practice")


def _make_step_deadlines_due(episodes_: list[Episode]) -> list[int]:
    rows = Deadline.objects.filter(
        kind="transitions.step_due",
        state="pending",
        payload__step_id__in=[s.pk for e in episodes_ for s in e.steps.all()],
    )
    ids = list(rows.order_by("id").values_list("pk", flat=True))
    Deadline.objects.filter(pk__in=ids).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    return ids


def test_steps_coming_due_together_are_acted_on_once_each_in_a_fixed_number_of_queries(setup, send):
    """The sweep hands a backlog over in batches; a batch of 15 steps costs what one of 5 does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = setup
    one = [discharge(send, world, visit="V1")]
    three = [discharge(send, world, visit=f"V{n}") for n in (2, 3, 4)]
    small_ids, big_ids = _make_step_deadlines_due(one), _make_step_deadlines_due(three)
    with CaptureQueriesContext(connection) as small:
        assert deadlines.fire_many(small_ids) == {"done": 5}
    with CaptureQueriesContext(connection) as big:
        assert deadlines.fire_many(big_ids) == {"done": 15}
    assert len(big) == len(small)
    steps = EpisodeStep.objects.filter(episode__in=[*one, *three])
    assert {(s.status, s.escalation) for s in steps} == {("missed", 1)}
    for s in steps:
        assert Notification.objects.filter(recipient=world.a_cm, dedupe_key=f"overdue:{s.pk}:{world.a_cm.pk}").exists()
        assert Task.objects.open().filter(origin_key=f"episode-step:{s.pk}", owner=world.a_cm).count() == 1
        assert Deadline.objects.filter(kind="transitions.step_escalate", payload__step_id=s.pk).count() == 1
    practice_steps = steps.filter(side="practice").count()
    told = Notification.objects.filter(recipient=world.p1_contact, kind="transition_overdue")
    assert practice_steps == 8 and told.count() == practice_steps
    assert told.filter(email_wanted=True).count() == practice_steps  # the designated contact, by email too
    assert Notification.objects.filter(kind="transition_overdue").count() == 20 + practice_steps
    # Delivered again (a lost acknowledgement): nothing more happens.
    assert deadlines.fire_many(small_ids + big_ids) == {"skipped": 20}
    assert Notification.objects.filter(kind="transition_overdue").count() == 20 + practice_steps


@pytest.mark.django_db(transaction=True)
def test_a_step_someone_is_changing_right_now_is_deferred_not_waited_for(setup, send):
    """A person's transaction holds the step (and goes on to cancel its deadline, whose row the
    worker holds): the worker leaves that step for the next sweep instead of deadlocking."""
    from tests.support import row_locked

    world = setup
    episode = discharge(send, world)
    ids = _make_step_deadlines_due([episode])
    follow_up = step(episode, Kind.FOLLOW_UP)
    with row_locked("transitions_episodestep", follow_up.pk):
        assert deadlines.fire_many(ids) == {"done": 4, "deferred": 1}
    follow_up.refresh_from_db()
    assert follow_up.status == "open"  # untouched while it was busy
    (deferred,) = Deadline.objects.filter(pk__in=ids, state="pending")
    assert deferred.payload["step_id"] == follow_up.pk and deferred.attempts == 0
    assert deadlines.fire_many([deferred.pk]) == {"done": 1}  # the next sweep's try
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.escalation) == ("missed", 1)


def test_a_step_met_before_its_deadline_cancels_it_and_met_late_is_not_on_time(setup, send):
    world = setup
    make_release(world.m_a1, world.p1)
    episode = discharge(send, world)
    cm = world.actor(world.a_cm)
    episodes.discharge_info_share(actor=cm, episode=episode, summary="Metoprolol started; PCP in 1 week")
    info = step(episode, Kind.DISCHARGE_INFO)
    assert info.status == "met" and info.on_time
    assert Deadline.objects.get(key__startswith=f"episode-step:{info.pk}:due").state == "cancelled"
    assert not Task.objects.open().filter(origin_key=f"episode-step:{info.pk}").exists()
    # Outreach missed, then done late.
    outreach = step(episode, Kind.OUTREACH)
    EpisodeStep.objects.filter(pk=outreach.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    fire(f"episode-step:{outreach.pk}:due")
    episodes.outreach_log(actor=cm, episode=episode, made_at=timezone.now(), method="phone", outcome="no_answer")
    outreach.refresh_from_db()
    assert outreach.status == "met" and not outreach.on_time
    assert Deadline.objects.get(key__startswith=f"episode-step:{outreach.pk}:escalate").state == "cancelled"


def test_the_episode_closes_when_every_step_is_met(setup, send):
    world = setup
    make_release(world.m_a1, world.p1)
    episode = discharge(send, world, days_ago=1)
    cm, practice = world.actor(world.a_cm), world.actor(world.p1_contact)
    episodes.outreach_log(actor=cm, episode=episode, made_at=timezone.now(), method="phone", outcome="completed")
    episodes.discharge_info_share(actor=cm, episode=episode, summary="Summary")
    visit = episodes.appointment_schedule(
        actor=practice, episode=episode, scheduled_for=timezone.now() - dt.timedelta(hours=1), provider_name="Dr. Lee"
    )
    episodes.appointment_record_outcome(actor=practice, appointment=visit, status="kept")
    episode.refresh_from_db()
    assert episode.status == "open" and episode.next_due_at == step(episode, Kind.MED_REC).due_at
    episodes.med_rec_record(actor=practice, episode=episode, done_on=world.plan_a.local_date(), by_whom="Dr. Lee")
    episode.refresh_from_db()
    assert (episode.status, episode.next_due_at) == ("closed", None)
    assert Deadline.objects.get(key__startswith=f"episode:{episode.pk}:close").state == "cancelled"


def test_the_window_closing_counts_what_is_left_as_missed(setup, send):
    world = setup
    episode = discharge(send, world)
    assert fire(f"episode:{episode.pk}:close") == ["done"]
    episode.refresh_from_db()
    assert episode.status == "closed"
    assert set(episode.steps.values_list("status", flat=True)) == {"missed"}
    assert not Task.objects.open().filter(origin="transition").exists()


# ---- Appointments ------------------------------------------------------------------------------


def test_a_kept_visit_within_seven_days_meets_the_follow_up_on_time(setup, send):
    world = setup
    episode = discharge(send, world, days_ago=2)
    practice = world.actor(world.p1_contact)
    visit = episodes.appointment_schedule(
        actor=practice, episode=episode, scheduled_for=timezone.now() - dt.timedelta(hours=2), provider_name="Dr. Lee"
    )
    assert Notification.objects.filter(recipient=world.a_cm, kind="appointment").count() == 1
    episodes.appointment_record_outcome(actor=practice, appointment=visit, status="kept")
    follow_up, engagement = step(episode, Kind.FOLLOW_UP), step(episode, Kind.ENGAGEMENT)
    assert follow_up.on_time and follow_up.met_at == visit.scheduled_for
    assert engagement.status == "met"


def test_a_visit_cannot_be_recorded_before_it_happens_nor_twice(setup, send):
    world = setup
    episode = discharge(send, world)
    practice = world.actor(world.p1_contact)
    visit = episodes.appointment_schedule(
        actor=practice, episode=episode, scheduled_for=timezone.now() + dt.timedelta(days=2), provider_name="Dr. Lee"
    )
    with pytest.raises(ValidationError) as err:
        episodes.appointment_record_outcome(actor=practice, appointment=visit, status="kept")
    assert "status" in err.value.message_dict
    episodes.appointment_record_outcome(actor=practice, appointment=visit, status="cancelled")
    with pytest.raises(ValidationError, match="already cancelled"):
        episodes.appointment_record_outcome(actor=practice, appointment=visit, status="cancelled")


def test_bad_appointment_input_names_each_field_and_writes_nothing(setup, send):
    world = setup
    episode = discharge(send, world)
    with pytest.raises(ValidationError) as err:
        episodes.appointment_schedule(
            actor=world.actor(world.p1_contact),
            episode=episode,
            scheduled_for=episode.discharged_at - dt.timedelta(days=1),
            provider_name="  ",
        )
    assert set(err.value.message_dict) == {"scheduled_for", "provider_name"}
    assert not Appointment.objects.exists()


def test_a_missed_visit_becomes_a_reschedule_task_closed_by_rescheduling(setup, send):
    world = setup
    episode = discharge(send, world, days_ago=3)
    practice, cm = world.actor(world.p1_contact), world.actor(world.a_cm)
    visit = episodes.appointment_schedule(
        actor=practice, episode=episode, scheduled_for=timezone.now() - dt.timedelta(hours=1), provider_name="Dr. Lee"
    )
    episodes.appointment_record_outcome(actor=practice, appointment=visit, status="missed", note="No show")
    task = Task.objects.open().get(origin_key=f"appointment:{visit.pk}:reschedule")
    assert task.owner == world.a_cm
    assert Notification.objects.filter(recipient=world.p1_contact, kind="appointment_missed").exists()
    assert step(episode, Kind.FOLLOW_UP).status == "open"
    again = episodes.appointment_schedule(
        actor=cm,
        episode=episode,
        scheduled_for=timezone.now() + dt.timedelta(days=2),
        provider_name="Dr. Lee",
        transport_needed=True,
        rescheduled_from=visit,
    )
    assert not Task.objects.open().filter(origin_key=f"appointment:{visit.pk}:reschedule").exists()
    transport = Task.objects.open().get(origin_key=f"appointment:{again.pk}:transport")
    assert transport.owner == world.a_cm
    # The practice hears of a visit the plan booked.
    assert Notification.objects.filter(recipient=world.p1_contact, kind="appointment").count() == 1
    with pytest.raises(ValidationError) as err:
        episodes.appointment_arrange_transport(actor=cm, appointment=again, arranged=" ")
    assert "arranged" in err.value.message_dict
    episodes.appointment_arrange_transport(actor=cm, appointment=again, arranged="MedRide, pick-up 8:15")
    assert not Task.objects.open().filter(origin_key=f"appointment:{again.pk}:transport").exists()
    with pytest.raises(ValidationError, match="already rescheduled"):
        episodes.appointment_schedule(
            actor=cm, episode=episode, scheduled_for=timezone.now(), provider_name="X", rescheduled_from=visit
        )


def test_after_a_mental_health_stay_only_a_mental_health_visit_meets_the_follow_up(setup, send):
    world = setup
    episode = discharge(send, world, days_ago=3, diagnoses=("F32.9",))
    assert episode.is_mental_health
    practice = world.actor(world.p1_contact)
    primary = episodes.appointment_schedule(
        actor=practice, episode=episode, scheduled_for=timezone.now() - dt.timedelta(days=1), provider_name="Dr. PCP"
    )
    episodes.appointment_record_outcome(actor=practice, appointment=primary, status="kept")
    assert step(episode, Kind.FOLLOW_UP).status == "open"
    assert step(episode, Kind.ENGAGEMENT).status == "met"
    therapist = episodes.appointment_schedule(
        actor=practice,
        episode=episode,
        scheduled_for=timezone.now() - dt.timedelta(hours=3),
        provider_name="Dr. Psych",
        is_mental_health_provider=True,
    )
    episodes.appointment_record_outcome(actor=practice, appointment=therapist, status="kept")
    assert step(episode, Kind.FOLLOW_UP).on_time


def test_a_psychiatric_service_marks_a_mental_health_stay(setup, send):
    episode = discharge(send, setup, hospital_service="PSY")
    assert episode.is_mental_health


def test_missed_measure_steps_become_care_gaps_the_practice_can_close(setup, send):
    """A missed 7-day follow-up after a mental-health stay is an FUH gap, a missed medication
    reconciliation an MRP gap; a missed follow-up after another stay is no gap (no such measure)."""
    from caregaps.models import CareGap
    from caregaps.services import measure_catalog_seed

    world = setup
    measure_catalog_seed(plan=world.plan_a)
    mental = discharge(send, world, visit="V1", hospital_service="PSY")
    medical = discharge(send, world, visit="V2")
    for episode in (mental, medical):
        for kind in (Kind.FOLLOW_UP, Kind.MED_REC):
            fire(f"episode-step:{step(episode, kind).pk}:due")
    gaps = CareGap.objects.filter(member=world.m_a1, source="workflow")
    assert sorted(gaps.values_list("measure__code", "source_key")) == sorted(
        [
            ("FUH", f"episode-step:{step(mental, Kind.FOLLOW_UP).pk}"),
            ("MRP", f"episode-step:{step(mental, Kind.MED_REC).pk}"),
            ("MRP", f"episode-step:{step(medical, Kind.MED_REC).pk}"),
        ]
    )
    fuh = gaps.get(measure__code="FUH")
    assert fuh.status == "open" and "mental-health provider" in fuh.description
    assert CareGap.objects.visible_to(world.actor(world.p1_contact)).filter(pk=fuh.pk).exists()
    assert gaps.count() == 3 and fuh.events.count() == 1


# ---- Outreach, discharge information, medication reconciliation --------------------------------


def test_outreach_is_logged_in_the_contact_log_and_a_reached_member_meets_engagement(setup, send):
    world = setup
    episode = discharge(send, world)
    cm = world.actor(world.a_cm)
    entry = episodes.outreach_log(
        actor=cm, episode=episode, made_at=timezone.now(), method="phone", outcome="completed"
    )
    assert ContactLog.objects.get() == entry and entry.member == world.m_a1
    assert step(episode, Kind.OUTREACH).on_time and step(episode, Kind.ENGAGEMENT).on_time


def test_outreach_before_the_discharge_is_refused_naming_the_field(setup, send):
    world = setup
    episode = discharge(send, world)
    with pytest.raises(ValidationError) as err:
        episodes.outreach_log(
            actor=world.actor(world.a_cm),
            episode=episode,
            made_at=episode.discharged_at - dt.timedelta(days=2),
            method="phone",
            outcome="completed",
        )
    assert "made_at" in err.value.message_dict
    assert not ContactLog.objects.exists()


def test_the_practice_cannot_log_the_plans_outreach(setup, send):
    world = setup
    episode = discharge(send, world)
    with pytest.raises(ValidationError):
        episodes.outreach_log(
            actor=world.actor(world.p1_contact),
            episode=episode,
            made_at=timezone.now(),
            method="phone",
            outcome="completed",
        )


def test_discharge_information_is_shared_only_under_a_release(setup, send):
    world = setup
    episode = discharge(send, world)
    cm = world.actor(world.a_cm)
    with pytest.raises(ValidationError) as err:
        episodes.discharge_info_share(actor=cm, episode=episode, summary="Summary")
    assert "release" in err.value.message_dict["summary"][0]
    with pytest.raises(ValidationError) as err:
        episodes.discharge_info_share(actor=cm, episode=episode, summary=" ")
    assert "summary" in err.value.message_dict
    make_release(world.m_a1, world.p1)
    episodes.discharge_info_share(actor=cm, episode=episode, summary="New: apixaban 5 mg")
    assert Notification.objects.filter(recipient=world.p1_contact, kind="discharge_info").exists()


def test_medication_reconciliation_dates_are_checked(setup, send):
    world = setup
    episode = discharge(send, world, days_ago=1)
    practice = world.actor(world.p1_contact)
    today = timezone.localdate(timezone=world.plan_a.tz)
    for bad in (today + dt.timedelta(days=1), today - dt.timedelta(days=10)):
        with pytest.raises(ValidationError) as err:
            episodes.med_rec_record(actor=practice, episode=episode, done_on=bad, by_whom="Dr. Lee")
        assert "done_on" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        episodes.med_rec_record(actor=practice, episode=episode, done_on=today, by_whom="")
    assert "by_whom" in err.value.message_dict
    episodes.med_rec_record(actor=practice, episode=episode, done_on=today, by_whom="Pharmacist Kim")
    assert step(episode, Kind.MED_REC).on_time
    with pytest.raises(ValidationError, match="already recorded"):
        episodes.med_rec_record(actor=practice, episode=episode, done_on=today, by_whom="Pharmacist Kim")


# ---- Cancels and readmissions ------------------------------------------------------------------


def test_a_cancelled_discharge_cancels_the_episode_and_a_new_discharge_reopens_it(setup, send):
    world = setup
    episode = discharge(send, world)
    send(adt("A13", pid3="A0001^^^PLANA^MB", visit="V1"))
    episode.refresh_from_db()
    assert episode.status == "cancelled"
    assert set(episode.steps.values_list("status", flat=True)) == {"cancelled"}
    assert not Deadline.objects.filter(key__startswith="episode", state="pending").exists()
    assert not Task.objects.open().filter(origin="transition").exists()
    with pytest.raises(ValidationError):
        episodes.med_rec_record(
            actor=world.actor(world.p1_contact), episode=episode, done_on=world.plan_a.local_date(), by_whom="X"
        )
    reopened = discharge(send, world, days_ago=0.1)
    assert reopened.pk == episode.pk and reopened.status == "open"
    assert set(reopened.steps.values_list("status", flat=True)) == {"open"}
    assert Deadline.objects.filter(key__startswith="episode-step", state="pending").count() == 5


def test_a_readmission_within_30_days_is_flagged_on_both_episodes(setup, send):
    world = setup
    tz = world.plan_a.tz
    first = discharge(send, world, days_ago=10, visit="V1")
    back = timezone.now() - dt.timedelta(days=2)
    send(adt("A01", pid3="A0001^^^PLANA^MB", visit="V2", admitted=hl7_time(back, tz)))
    first.refresh_from_db()
    assert first.readmitted_at is not None and first.readmission_encounter.visit_key == "V2"
    assert Notification.objects.filter(recipient=world.a_cm, kind="readmission").count() == 1
    second = discharge(send, world, days_ago=0.5, stay_days=1, visit="V2")
    assert second.readmission_of == first


def test_a_cancelled_admission_takes_the_readmission_flag_back(setup, send):
    world = setup
    tz = world.plan_a.tz
    first = discharge(send, world, days_ago=10, visit="V1")
    send(adt("A01", pid3="A0001^^^PLANA^MB", visit="V2", admitted=hl7_time(timezone.now(), tz)))
    send(adt("A11", pid3="A0001^^^PLANA^MB", visit="V2", admitted=hl7_time(timezone.now(), tz)))
    first.refresh_from_db()
    assert first.readmitted_at is None


def test_an_admission_after_30_days_is_not_a_readmission(setup, send):
    world = setup
    first = discharge(send, world, days_ago=40, visit="V1")
    send(adt("A01", pid3="A0001^^^PLANA^MB", visit="V2", admitted=hl7_time(timezone.now(), world.plan_a.tz)))
    first.refresh_from_db()
    assert first.readmitted_at is None


def test_lace_is_computed_from_the_stay_with_its_parts(setup, send):
    world = setup
    tz = world.plan_a.tz
    for i in range(2):  # two ED visits in the last six months
        when = hl7_time(timezone.now() - dt.timedelta(days=60 + i), tz)
        send(adt("A04", pid3="A0001^^^PLANA^MB", visit=f"ED{i}", patient_class="E", admitted=when))
    episode = discharge(send, world, stay_days=5, admission_type="E", diagnoses=("I50.9", "E11.9", "N18.3"))
    assert episode.lace_parts["L"]["points"] == 4
    assert episode.lace_parts["A"]["points"] == 3
    # Heart failure 1 + diabetes 1 + renal disease 2: Charlson 4, which LACE scores 5.
    assert episode.lace_parts["C"]["points"] == 5 and "Renal disease" in episode.lace_parts["C"]["basis"]
    assert episode.lace_parts["E"]["points"] == 2
    assert episode.lace_score == 14


def test_lace_is_left_out_when_its_data_were_not_sent(setup, send):
    episode = discharge(send, setup)  # no admission type, no diagnoses
    assert episode.lace_score is None
    assert "missing" in episode.lace_parts["A"] and "missing" in episode.lace_parts["C"]
    assert episode.lace_parts["L"]["points"] == 3


def test_a_member_without_a_care_manager_has_the_supervisors_told(world, feed, send):
    episode = discharge(send, world, pid3="A0002^^^PLANA^MB")
    assert episode.care_manager is None
    outreach = step(episode, Kind.OUTREACH)
    fire(f"episode-step:{outreach.pk}:due")
    assert Notification.objects.filter(recipient=world.a_supervisor, kind="transition_overdue").exists()


def test_other_members_are_untouched(setup, send):
    world = setup
    make_member(world.plan_a, practice=world.p1, first="Zed", last="Zulu", member_number="A0099")
    discharge(send, world)
    assert Episode.objects.count() == 1


def test_a_readmission_is_flagged_from_the_discharge_when_no_admission_was_sent(setup, send):
    world = setup
    first = discharge(send, world, days_ago=12, visit="V1")
    second = discharge(send, world, days_ago=1, stay_days=2, visit="V2")  # A03 only
    first.refresh_from_db()
    assert first.readmission_encounter == second.encounter and second.readmission_of == first
