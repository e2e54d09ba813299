"""A discharge arrives over MLLP; the practice contact sees it and books the 7-day visit; the care
manager logs the outreach; the episode shows both deadlines met."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from caseloads.services import enrollment_start
from interop.mllp import frame
from organizations.models import Partnership
from organizations.services import partnership_contact_save
from tests.conftest import SYSTEM
from tests.e2e.test_sign_in_and_find_member import sign_in
from tests.interop.test_mllp import _connect, _msa, _read_acks, listener  # noqa: F401  (fixture)
from tests.transitions.adt import adt, hl7_time, make_feed
from transitions.models import Appointment, Episode, EpisodeStep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_discharge_over_mllp_to_both_deadlines_met(world, listener, page, screenshot):  # noqa: F811
    make_feed(world)
    enrollment_start(actor=SYSTEM, member=world.m_a1, program="complex_care", acuity="high", care_manager=world.a_cm)
    partnership_contact_save(
        actor=SYSTEM,
        partnership=Partnership.objects.get(plan=world.plan_a, practice=world.p1),
        side="practice",
        name="Pat Contact",
        user=world.p1_contact,
        email="pat@p1.example",
        is_primary=True,
    )
    tz = world.plan_a.tz
    out = timezone.now() - dt.timedelta(days=2)
    message = adt(
        "A03",
        pid3=f"{world.m_a1.member_number}^^^PLANA^MB",
        visit="JOURNEY1",
        admitted=hl7_time(out - dt.timedelta(days=3), tz),
        discharged=hl7_time(out, tz),
    )
    with _connect(listener) as sock:
        sock.sendall(frame(message.encode()))
        (ack,) = _read_acks(sock, 1)
    assert _msa(ack)[0] == "AA"
    episode = Episode.objects.get()

    # The practice contact: the notice in the inbox, the episode on the practice's worklist.
    sign_in(page, "p1_contact")
    page.goto("/inbox/")
    expect(page.locator("main")).to_contain_text("Alice Arbor discharged from General Hospital")
    page.get_by_role("link", name="Transitions").click()
    row = page.locator(f'#episodes tr[data-episode="{episode.public_id}"]')
    expect(row).to_contain_text("Arbor, Alice")
    row.get_by_role("link", name="Arbor, Alice").click()
    expect(page.locator('[data-step="follow_up"]')).to_contain_text("Practice")
    screenshot("1-practice-sees-discharge")
    visit_at = (timezone.localtime(timezone=tz) + dt.timedelta(days=2)).replace(hour=10, minute=30)
    page.get_by_label("Visit at").fill(visit_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("With").fill("Dr. Rivera")
    page.get_by_role("button", name="Book").click()
    expect(page.locator(".messages")).to_contain_text("Visit booked")
    expect(page.locator("#appointments")).to_contain_text("Dr. Rivera")
    screenshot("2-visit-booked")

    # Two days on, the visit has happened: the practice records it kept.
    Appointment.objects.update(scheduled_for=timezone.now() - dt.timedelta(hours=1))
    page.reload()
    visit_row = page.locator("#appointments tr[data-appointment]")
    visit_row.get_by_label("Outcome").select_option("kept")
    visit_row.get_by_role("button", name="Record").click()
    expect(page.locator(".messages")).to_contain_text("Visit recorded as kept")
    expect(page.locator('[data-step="follow_up"]')).to_have_attribute("data-step-status", "met-on-time")

    # The care manager logs the post-discharge call.
    page.context.clear_cookies()
    sign_in(page, "a_cm")
    page.goto(f"/transitions/episodes/{episode.public_id}/")
    form = page.locator("#log-outreach")
    form.get_by_label("When").fill(timezone.localtime(timezone=tz).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Method").select_option("phone")
    form.get_by_label("Outcome").select_option("completed")
    form.get_by_role("button", name="Log outreach").click()
    expect(page.locator(".messages")).to_contain_text("Outreach logged")
    expect(page.locator('[data-step="outreach"]')).to_have_attribute("data-step-status", "met-on-time")
    expect(page.locator('[data-step="follow_up"]')).to_contain_text("Met")
    screenshot("3-both-deadlines-met")
    steps = {s.kind: s for s in EpisodeStep.objects.filter(episode=episode)}
    assert steps["outreach"].on_time and steps["follow_up"].on_time
