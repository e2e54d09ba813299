"""Seed 001's program in action, its social-needs part: a concurrent-review nurse has referred the
member; the care manager screens them and finds a pending eviction and food worries; a member
advocate refers the housing need to a community organization; the organization accepts and
reports the rent paid; the need shows resolved and the care manager heard each step."""

import pytest
from playwright.sync_api import expect

from caseloads.services import enrollment_start
from core.models import Notification
from members.models import ReleaseOfInformation
from organizations.models import Role
from referrals.services import Intake, referral_create
from sdoh.models import Need, SocialReferral
from tests.conftest import SYSTEM, make_org, make_release, make_user
from tests.e2e.test_referral_journey import sign_out
from tests.e2e.test_sign_in_and_find_member import sign_in
from tests.sdoh.test_instruments import ahc_answers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVICTION = "LA31994-9"  # "I have a place to live today, but I am worried about losing it"
SOMETIMES_TRUE = "LA6729-3"


def test_an_eviction_found_at_screening_is_resolved_through_a_community_referral(world, page, screenshot):
    referral_create(
        actor=world.actor(world.a_intake),
        member=world.m_a1,
        source="utilization_management",
        intake=Intake(reason="Concurrent review: third admission this year"),
    )
    enrollment_start(actor=SYSTEM, member=world.m_a1, program="complex_care", acuity="high", care_manager=world.a_cm)
    agency = make_org("community", "Open Door Housing")
    make_user(agency, "open_door", Role.COMMUNITY_STAFF)
    make_user(world.plan_a, "a_advocate", Role.MEMBER_ADVOCATE)
    make_release(
        world.m_a1, agency, recipient_kind="community", purposes=[ReleaseOfInformation.Purpose.SOCIAL_SERVICES]
    )

    sign_in(page, "a_cm")
    page.goto(f"/members/{world.m_a1.public_id}/")
    page.locator("#screen-member").click()
    answers = ahc_answers(**{"71802-3": EVICTION, "88122-7": SOMETIMES_TRUE})
    for code, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            page.locator(f'input[name="{code}"][value="{one}"]').check()
    screenshot("1-screening")
    page.get_by_role("button", name="Score and save").click()
    expect(page.locator("#screening-outcome")).to_contain_text("Positive screen")
    expect(page.locator("[data-domain] >> text=Positive")).to_have_count(2)
    expect(page.locator("[data-need]")).to_have_count(2)
    screenshot("2-needs-found")
    screening_url = page.url
    sign_out(page)

    sign_in(page, "a_advocate")
    page.get_by_role("link", name="Social needs").click()
    expect(page.locator("#needs [data-need]")).to_have_count(2)
    page.goto(screening_url)
    page.locator('[data-need="housing_instability"] a.refer').click()
    page.locator("#id_organization").select_option(label="Open Door Housing")
    page.locator("#id_request_note").fill("Eviction notice for unpaid rent; needs two months' rent.")
    screenshot("3-community-referral")
    page.get_by_role("button", name="Send the referral").click()
    expect(page.locator("#referral-status")).to_contain_text("Requested")
    sign_out(page)

    sign_in(page, "open_door")
    page.get_by_role("link", name="Community referrals").click()
    expect(page.locator("#social-referrals [data-referral]")).to_have_count(1)
    page.locator("#social-referrals [data-referral] a").click()
    expect(page.locator("#referral-status")).to_contain_text("Received")
    expect(page.locator("main")).not_to_contain_text(world.m_a1.member_number)  # the minimum detail only
    page.locator("#id_answer").select_option("accepted")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#referral-status")).to_contain_text("Accepted")
    page.locator("#id_answer").select_option("completed")
    page.locator("#id_reason").fill("Rent paid through March; eviction withdrawn")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#referral-status")).to_contain_text("Service delivered")
    screenshot("4-organization-closes-the-loop")
    sign_out(page)

    sign_in(page, "a_cm")
    page.goto(screening_url)
    expect(page.locator('[data-need="housing_instability"]')).to_contain_text("Resolved")
    expect(page.locator('[data-need="food_insecurity"]')).to_contain_text("Open")
    screenshot("5-need-resolved")
    assert Need.objects.get(category="housing_instability").status == "resolved"
    assert SocialReferral.objects.get().status == "completed"
    assert Notification.objects.filter(kind="sdoh.referral", recipient=world.a_cm).count() == 2
