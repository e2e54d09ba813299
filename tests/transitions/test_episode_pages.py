"""The transition pages: the plan's and each practice's worklist, the episode page and its forms,
the rates with their chart, and the episodes API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseloads.models import ContactLog
from members.services import release_revoke
from tests.conftest import SYSTEM, make_member, make_release
from tests.transitions.adt import discharge, fire, step
from transitions import episodes, selectors
from transitions.models import Appointment, Episode, EpisodeStep

Kind = EpisodeStep.Kind


def rows(response) -> list[str]:
    body = response.content.decode()
    return [part.split('"', 1)[0] for part in body.split('data-episode="')[1:]]


def test_the_plan_worklist_puts_overdue_episodes_first_and_filters(setup, send, client_for):
    world = setup
    make_member(world.plan_a, practice=world.p2, first="Bo", last="Birch", member_number="A0003")
    recent = discharge(send, world, visit="V1", days_ago=0.1)
    old = discharge(send, world, visit="V2", days_ago=5, pid3="A0003^^^PLANA^MB")
    client = client_for(world.a_cm)
    response = client.get("/transitions/")
    assert response.status_code == 200
    assert rows(response) == [str(old.public_id), str(recent.public_id)]
    assert "Overdue" in response.content.decode()
    assert rows(client.get("/transitions/?mine=1")) == [str(recent.public_id)]  # only m_a1 is enrolled with a_cm
    assert rows(client.get(f"/transitions/?practice={world.p2.public_id}")) == [str(old.public_id)]
    assert rows(client.get("/transitions/?overdue=1")) == [str(old.public_id)]


def test_a_practice_sees_its_own_patients_episodes_only(setup, send, client_for):
    world = setup
    mine = discharge(send, world, visit="V1")
    theirs = discharge(send, world, visit="V2", pid3="A0002^^^PLANA^MB")  # attributed to Practice Two
    response = client_for(world.p1_contact).get("/transitions/")
    assert rows(response) == [str(mine.public_id)]
    assert client_for(world.p1_contact).get(f"/transitions/episodes/{theirs.public_id}/").status_code == 404
    assert client_for(world.p2_contact).get(f"/transitions/episodes/{theirs.public_id}/").status_code == 200


def test_the_worklist_query_count_does_not_grow_with_the_page(setup, send, client_for):
    world = setup
    client = client_for(world.a_cm)
    discharge(send, world, visit="V1")
    client.get("/transitions/")
    with CaptureQueriesContext(connection) as one:
        client.get("/transitions/")
    for i in range(2, 6):
        member = make_member(world.plan_a, practice=world.p1, first=f"M{i}", last="Many", member_number=f"A01{i}")
        discharge(send, world, visit=f"V{i}", pid3=f"{member.member_number}^^^PLANA^MB")
    with CaptureQueriesContext(connection) as five:
        response = client.get("/transitions/")
    assert len(rows(response)) == 5
    assert len(five) == len(one)


def test_the_practice_books_the_visit_and_records_it_kept_from_the_episode_page(setup, send, client_for):
    world = setup
    episode = discharge(send, world, days_ago=2)
    client = client_for(world.p1_contact)
    page = client.get(f"/transitions/episodes/{episode.public_id}/")
    assert page.status_code == 200 and "Book a visit" in page.content.decode()
    assert "Log outreach" not in page.content.decode()  # the plan's step: not offered to the practice
    when = timezone.localtime(timezone=world.plan_a.tz) - dt.timedelta(hours=1)
    response = client.post(
        f"/transitions/episodes/{episode.public_id}/appointments/",
        {"scheduled_for": when.strftime("%Y-%m-%dT%H:%M"), "provider_name": "Dr. Lee"},
        follow=True,
    )
    assert "Visit booked" in response.content.decode()
    visit = Appointment.objects.get()
    response = client.post(f"/transitions/appointments/{visit.public_id}/outcome/", {"status": "kept"}, follow=True)
    assert "Visit recorded as kept" in response.content.decode()
    assert step(episode, Kind.FOLLOW_UP).on_time
    assert 'data-step-status="met-on-time"' in response.content.decode()


def test_bad_form_input_is_answered_naming_the_field(setup, send, client_for):
    world = setup
    episode = discharge(send, world)
    client = client_for(world.a_cm)
    response = client.post(
        f"/transitions/episodes/{episode.public_id}/appointments/",
        {"scheduled_for": "not a date", "provider_name": ""},
        follow=True,
    )
    body = response.content.decode()
    assert "Scheduled for:" in body and "Provider name:" in body
    response = client.post(
        f"/transitions/episodes/{episode.public_id}/discharge-info/", {"summary": "Meds changed"}, follow=True
    )
    assert "Summary: No release of information in force names Practice One" in response.content.decode()
    assert not Appointment.objects.exists() and Episode.objects.get().discharge_info == ""


def test_discharge_information_shows_to_the_practice_only_under_a_release(setup, send, client_for):
    world = setup
    make_release(world.m_a1, world.p1)
    episode = discharge(send, world)
    client_for(world.a_cm).post(
        f"/transitions/episodes/{episode.public_id}/discharge-info/", {"summary": "Apixaban started"}
    )
    url = f"/transitions/episodes/{episode.public_id}/"
    assert "Apixaban started" in client_for(world.p1_contact).get(url).content.decode()
    release_revoke(actor=SYSTEM, release=world.m_a1.releases.get(), reason="Withdrawn")
    assert "Apixaban started" not in client_for(world.p1_contact).get(url).content.decode()


def test_the_care_manager_logs_outreach_from_the_episode_page(setup, send, client_for):
    world = setup
    episode = discharge(send, world)
    now = timezone.localtime(timezone=world.plan_a.tz)  # forms read times in the organization's own zone
    response = client_for(world.a_cm).post(
        f"/transitions/episodes/{episode.public_id}/outreach/",
        {"made_at": now.strftime("%Y-%m-%dT%H:%M"), "method": "phone", "outcome": "completed"},
        follow=True,
    )
    assert "Outreach logged" in response.content.decode()
    assert step(episode, Kind.OUTREACH).on_time
    made_at = ContactLog.objects.get().made_at
    assert abs(made_at - timezone.now()) < dt.timedelta(minutes=2)  # 10:05 typed in Chicago is 10:05 Chicago
    page = client_for(world.a_cm).get(f"/transitions/episodes/{episode.public_id}/").content.decode()
    # Shown in Chicago time too (the met note's time), not UTC.
    assert made_at.astimezone(world.plan_a.tz).strftime("%H:%M") in page


def test_community_staff_and_intake_cannot_see_transitions(setup, send, client_for):
    world = setup
    episode = discharge(send, world)
    assert client_for(world.c_staff).get(f"/transitions/episodes/{episode.public_id}/").status_code == 404
    assert client_for(world.a_intake).get(f"/transitions/episodes/{episode.public_id}/").status_code == 403
    assert client_for(world.a_intake).get("/transitions/").status_code == 403


# ---- Rates ------------------------------------------------------------------------------------


@pytest.fixture
def history(setup, send):
    """Four Plan A discharges: two at Practice One (one 7-day visit on time, one missed; one
    readmitted), one at Practice Two with its window still open, all within the last 40 days."""
    world = setup
    practice = world.actor(world.p1_contact)
    a = discharge(send, world, visit="R1", days_ago=35)
    visit = episodes.appointment_schedule(
        actor=practice, episode=a, scheduled_for=a.discharged_at + dt.timedelta(days=3), provider_name="Dr. Lee"
    )
    episodes.appointment_record_outcome(actor=practice, appointment=visit, status="kept")
    b = discharge(send, world, visit="R2", days_ago=20)
    fire(f"episode-step:{step(b, Kind.FOLLOW_UP).pk}:due")
    Episode.objects.filter(pk=a.pk).update(readmitted_at=b.admitted_at)
    c = discharge(send, world, visit="R3", days_ago=1, pid3="A0002^^^PLANA^MB")
    return world, a, b, c


def test_rates_per_practice_and_for_the_plan(history):
    world, _a, _b, _c = history
    today = timezone.localdate(timezone=world.plan_a.tz)
    rows_ = selectors.rates(world.actor(world.a_supervisor), start=today - dt.timedelta(days=60), end=today)
    by_name = {r.name: r for r in rows_}
    one, two, total = by_name["Practice One"], by_name["Practice Two"], by_name["All practices (plan)"]
    assert rows_[-1] is total
    follow = one.rate(Kind.FOLLOW_UP)
    assert (follow.met, follow.eligible, follow.percent) == (1, 2, 50)
    assert (two.rate(Kind.FOLLOW_UP).eligible, two.rate(Kind.FOLLOW_UP).pending) == (0, 1)
    assert two.rate(Kind.FOLLOW_UP).percent is None
    readmit = one.rate("readmission")
    assert (readmit.met, readmit.eligible) == (1, 1)  # b's 30 days are not over and it was not readmitted
    assert one.missed >= 1 and one.episodes == 2 and total.episodes == 3
    assert total.rate(Kind.FOLLOW_UP).eligible == 2
    # The period picks discharges by date.
    recent = selectors.rates(world.actor(world.a_supervisor), start=today - dt.timedelta(days=5), end=today)
    assert [r.name for r in recent] == ["Practice Two"]


def test_a_practice_sees_only_its_own_rates(history):
    world = history[0]
    today = world.plan_a.local_date()
    rows_ = selectors.rates(world.actor(world.p1_contact), start=today - dt.timedelta(days=60), end=today)
    assert [r.name for r in rows_] == ["Practice One"]


def test_rates_take_two_queries_whatever_the_number_of_practices(history, django_assert_num_queries):
    world = history[0]
    actor = world.actor(world.a_supervisor)
    today = world.plan_a.local_date()
    selectors.rates(actor, start=today, end=today)  # the actor's permissions, read once per request
    with django_assert_num_queries(2):
        selectors.rates(actor, start=today - dt.timedelta(days=60), end=today)


def test_the_rates_page_shows_the_table_and_the_chart(history, client_for):
    world = history[0]
    client = client_for(world.a_supervisor)
    response = client.get("/transitions/rates/?start=2020-01-01&end=2030-01-01")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-practice-row="Practice One"' in body and "50%" in body and 'class="bars"' in body
    bad = client.get("/transitions/rates/?start=2026-05-01&end=2026-01-01")
    assert bad.status_code == 400 and "end" in bad.content.decode()


# ---- API --------------------------------------------------------------------------------------


def test_the_episodes_api_lists_and_shows_what_each_side_may_see(setup, send, client_for):
    world = setup
    mine = discharge(send, world, visit="V1")
    discharge(send, world, visit="V2", pid3="A0002^^^PLANA^MB")  # Practice Two's patient
    plan = client_for(world.a_cm).get("/api/v1/episodes/").json()["results"]
    assert len(plan) == 2 and {"care_manager", "steps"} <= set(plan[0])
    practice = client_for(world.p1_contact).get("/api/v1/episodes/").json()["results"]
    assert [e["id"] for e in practice] == [str(mine.public_id)]
    assert "care_manager" not in practice[0]
    assert {s["kind"]: s["side"] for s in practice[0]["steps"]}["follow_up"] == "practice"
    detail = client_for(world.p1_contact).get(f"/api/v1/episodes/{mine.public_id}/").json()
    assert detail["appointments"] == [] and "discharge_info" not in detail  # no release for Practice One
    bad = client_for(world.a_cm).get("/api/v1/episodes/?status=whatever")
    assert bad.status_code == 400 and "status" in bad.json()


def test_the_episodes_api_query_count_does_not_grow_with_the_page(setup, send, client_for):
    world = setup
    client = client_for(world.a_cm)
    discharge(send, world, visit="V1")
    client.get("/api/v1/episodes/")
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/episodes/")
    for i in range(2, 5):
        member = make_member(world.plan_a, practice=world.p1, first=f"M{i}", last="Many", member_number=f"A02{i}")
        discharge(send, world, visit=f"V{i}", pid3=f"{member.member_number}^^^PLANA^MB")
    with CaptureQueriesContext(connection) as four:
        assert len(client.get("/api/v1/episodes/").json()["results"]) == 4
    assert len(four) == len(one)


def test_the_rates_page_opens_for_a_practice_whose_plans_are_on_different_dates(world, client_for):
    """Kiritimati (UTC+14) and Pago Pago (UTC-11) are never on the same date: the practice that
    partners with both gets its own date for the default period instead of an error."""
    world.plan_a.timezone, world.plan_b.timezone = "Pacific/Kiritimati", "Pacific/Pago_Pago"
    world.plan_a.save(update_fields=["timezone"])
    world.plan_b.save(update_fields=["timezone"])
    response = client_for(world.p1_contact).get("/transitions/rates/")
    assert response.status_code == 200
