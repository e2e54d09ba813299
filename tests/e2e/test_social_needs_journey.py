"""Seed 001's program in action, end to end in the browser: a concurrent-review nurse refers the
member; the care manager reaches the member and then the PCP (the contact log), finds signs of
depression (a PHQ-9), a pending eviction and food worries (the AHC screening) and a neglected
medical condition; a member advocate refers the housing need to a community organization, which
accepts and reports the rent paid, so the need shows resolved; the care manager refers the member
to behavioral health (co-management with the partner); and the care plan manages the medical
condition with the PCP, who sees the shared problem, acknowledges it and adds the practice's
part."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from careplans.models import Intervention
from caseloads.models import Enrollment
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
    enrollment = enrollment_start(
        actor=SYSTEM, member=world.m_a1, program="complex_care", acuity="high", care_manager=world.a_cm
    )
    make_org("community", "Riverside Behavioral Health")
    make_release(world.m_a1, world.p1)  # the member lets the plan share with their PCP's practice
    agency = make_org("community", "Open Door Housing")
    make_user(agency, "open_door", Role.COMMUNITY_STAFF)
    make_user(world.plan_a, "a_advocate", Role.MEMBER_ADVOCATE)
    make_release(
        world.m_a1, agency, recipient_kind="community", purposes=[ReleaseOfInformation.Purpose.SOCIAL_SERVICES]
    )

    sign_in(page, "a_cm")
    member_url = f"/members/{world.m_a1.public_id}/"
    today = world.plan_a.local_date()
    # The care manager reaches the member, then the PCP.
    page.goto(f"{member_url}contacts/")
    yesterday = today - dt.timedelta(days=1)
    for n, (with_whom, notes) in enumerate(
        (
            ("Alice Arbor (member)", "Behind on rent, eviction notice; low mood since the admission"),
            ("Dr. Lee, Practice One (PCP)", "Diabetes not followed for a year; no A1c since last winter"),
        ),
        start=1,
    ):
        page.locator("#id_made_at").fill(f"{yesterday.isoformat()}T1{n}:00")
        page.locator("#id_method").select_option("phone")
        page.locator("#id_with_whom").fill(with_whom)
        page.locator("#id_outcome").select_option("completed")
        page.locator("#id_notes").fill(notes)
        page.get_by_role("button", name="Log contact").click()
        expect(page.locator("[data-contact]")).to_have_count(n)
    # Signs of depression: a PHQ-9 in the assessment.
    page.goto(f"{member_url}assessments/")
    page.locator("#id_assessed_on").fill(today.isoformat())
    for number, answer in enumerate((2, 2, 1, 2, 1, 1, 1, 0, 0), start=1):
        page.locator(f"#id_phq9_{number}").select_option(str(answer))
    page.get_by_role("button", name="Record assessment").click()
    expect(page.locator("[data-phq9]")).to_contain_text("Total 10")
    expect(page.locator("[data-phq9]")).to_contain_text("Moderate")
    screenshot("0-phq9-moderate")
    page.goto(member_url)
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
    # The care manager refers the member to behavioral health: co-managed with the partner.
    page.goto(f"/enrollments/{enrollment.public_id}/")
    page.locator("#id_co_partner").select_option(label="Riverside Behavioral Health")
    page.locator("#id_co_contact").fill("Intake line (555) 010-0200")
    page.locator("#id_co_reason").fill("PHQ-9 of 10: moderate depression; therapy referral")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("With Riverside Behavioral Health")
    # The care plan takes up the medical condition, shared with the PCP.
    page.goto(f"{member_url}care-plan/")
    page.get_by_role("button", name="Start the care plan").click()
    page.locator('[data-domain="physical"]').get_by_role("link", name="Add a problem").click()
    page.locator("#id_description").fill("Diabetes not followed for a year")
    page.locator("#id_root_causes").fill("Housing crisis crowded out appointments")
    page.locator("#id_shareable").check()
    page.get_by_role("button", name="Add").click()
    page.locator("[data-problem]").get_by_role("link", name="Add a goal").click()
    page.locator("#id_member_words").fill("Get my sugar back under control")
    page.locator("#id_shareable").check()
    page.get_by_role("button", name="Add").click()
    page.locator('[data-domain="behavioral"]').get_by_role("link", name="Add a problem").click()
    page.locator("#id_description").fill("Moderate depression (PHQ-9 10), co-managed with Riverside")
    page.get_by_role("button", name="Add").click()
    screenshot("6-care-plan")
    sign_out(page)

    sign_in(page, "p1_contact")
    page.goto(f"{member_url}care-plan/")
    expect(page.locator("#plan-items")).to_contain_text("Diabetes not followed for a year")
    expect(page.locator("#plan-items")).to_contain_text("Get my sugar back under control")
    expect(page.locator("body")).not_to_contain_text("Moderate depression")  # plan-internal
    acknowledge = page.get_by_role("button", name=re.compile(r"^Acknowledge version \d+$"))
    version = acknowledge.inner_text().rsplit(" ", 1)[1]
    acknowledge.click()
    expect(page.locator("[data-acknowledged]")).to_contain_text(f"version {version}")
    page.get_by_role("link", name="Add what your practice will do").click()
    page.locator("#id_description").fill("Visit with A1c booked; diabetes education referral")
    page.locator("#id_goal").select_option(index=1)  # the member's goal
    page.locator("#id_due_date").fill((today + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#plan-items")).to_contain_text("Visit with A1c booked")
    screenshot("7-pcp-takes-part")
    assert Enrollment.objects.get(pk=enrollment.pk).co_manager.name == "Riverside Behavioral Health"
    practice_part = Intervention.objects.get(description__startswith="Visit with A1c")
    assert practice_part.owner_kind == "practice"
    assert practice_part.goal.member_words == "Get my sugar back under control"
    assert Need.objects.get(category="housing_instability").status == "resolved"
    assert SocialReferral.objects.get().status == "completed"
    assert Notification.objects.filter(kind="sdoh.referral", recipient=world.a_cm).count() == 2
