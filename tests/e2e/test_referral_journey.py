"""A practice refers; the plan acknowledges, triages, assigns, reaches out and enrolls; the
practice sees "Enrolled" with the care manager's name."""

import pytest
from playwright.sync_api import expect

from tests.conftest import make_release
from tests.e2e.test_sign_in_and_find_member import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_referral_from_practice_to_enrollment(world, page, screenshot):
    make_release(world.m_a1, world.p1)  # signed at the practice, so the plan may reach out
    member = world.m_a1

    sign_in(page, "p1_contact")
    page.goto(f"/members/{member.public_id}/")
    page.get_by_role("link", name="Refer to care management").click()
    page.get_by_label("Reason").fill("Three ED visits this month for asthma; lives alone.")
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_label("Best way to reach the patient").select_option("phone")
    screenshot("1-practice-refers")
    page.get_by_role("button", name="Send referral").click()
    expect(page.locator("[data-status]")).to_have_text("Submitted")
    sign_out(page)

    sign_in(page, "a_cm")
    page.get_by_role("link", name="Referral queue").click()
    expect(page.locator("#queue-rows")).to_contain_text("Arbor, Alice")
    screenshot("2-queue")
    page.get_by_role("link", name="Arbor, Alice").click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("[data-status]")).to_have_text("Acknowledged")
    page.get_by_label("Priority").select_option("2")
    page.get_by_label("Program").select_option("complex_care")
    page.get_by_label("Skill needed").select_option("RN")
    page.get_by_role("button", name="Triage").click()
    expect(page.locator("[data-status]")).to_have_text("Triaged")
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("[data-status]")).to_have_text("Assigned")
    page.get_by_label("Method").select_option("phone")
    page.get_by_label("Outcome").select_option("reached")
    page.get_by_role("button", name="Log attempt").click()
    expect(page.locator("[data-status]")).to_have_text("Outreach")
    page.get_by_label("Acuity").select_option("moderate")
    page.get_by_role("button", name="Enroll").click()
    expect(page.locator("[data-status]")).to_have_text("Enrolled")
    screenshot("3-enrolled")
    sign_out(page)

    sign_in(page, "p1_contact")
    page.get_by_role("link", name="My referrals").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Enrolled")
    expect(row).to_contain_text(world.a_cm.get_full_name())
    screenshot("4-practice-sees-enrolled")


def test_queue_keyboard_navigation(world, page):
    from tests.conftest import make_member
    from tests.referrals.conftest import submit

    first = submit(world, world.m_a1, urgency="urgent")
    second = submit(world, make_member(world.plan_a, practice=world.p1, first="Zed", last="Zulu"))
    sign_in(page, "a_cm")
    page.goto("/referrals/")
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_contain_text("Arbor, Alice")  # urgent first
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_contain_text("Zulu, Zed")
    page.keyboard.press("k")
    page.keyboard.press("x")
    expect(page.locator("tr.selected input[type=checkbox]")).to_be_checked()
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{page.url.split('/referrals/')[0]}/referrals/{second.public_id}/")
    assert first.status == "submitted"
