"""The care manager builds a care plan with the member's goal and shares part of it; the practice
contact sees only the shared parts and acknowledges the plan."""

import pytest
from playwright.sync_api import expect

from tests.conftest import make_release
from tests.e2e.test_referral_journey import sign_out
from tests.e2e.test_sign_in_and_find_member import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_care_plan_built_shared_and_acknowledged(world, page, screenshot):
    make_release(world.m_a1, world.p1)  # the member let the plan share with their practice
    member = world.m_a1

    sign_in(page, "a_cm")
    page.goto(f"/members/{member.public_id}/")
    page.get_by_role("link", name="Care plan", exact=True).click()
    page.get_by_role("button", name="Start the care plan").click()
    expect(page.locator("[data-version]")).to_contain_text("Version 1")

    page.locator('[data-domain="physical"]').get_by_role("link", name="Add a problem").click()
    page.locator("#id_description").fill("Blood sugar out of control")
    page.locator("#id_root_causes").fill("Cannot afford test strips")
    page.locator("#id_shareable").check()
    page.get_by_role("button", name="Add").click()

    page.locator("[data-problem]").get_by_role("link", name="Add a goal").click()
    page.locator("#id_member_words").fill("I want to dance at my grandson's wedding")
    page.locator("#id_priority").select_option("high")
    page.locator("#id_shareable").check()
    screenshot("1-member-goal")
    page.get_by_role("button", name="Add").click()

    page.locator('[data-domain="behavioral"]').get_by_role("link", name="Add a problem").click()
    page.locator("#id_description").fill("Grief after a loss, not for sharing")
    page.get_by_role("button", name="Add").click()

    goal = page.locator("[data-goal]").first
    goal.get_by_label("Progress", exact=True).select_option("in_progress")
    goal.get_by_label("Progress note").fill("Walked twice this week")
    goal.get_by_role("button", name="Update").click()  # htmx: the plan's items come back in place
    expect(page.locator("[data-goal] [data-progress]").first).to_have_text("In progress")
    expect(page.locator("[data-version]")).to_contain_text("Version 5")
    screenshot("2-care-plan")
    sign_out(page)

    sign_in(page, "p1_contact")
    page.goto(f"/members/{member.public_id}/")
    page.get_by_role("link", name="Care plan", exact=True).click()
    expect(page.locator("#plan-items")).to_contain_text("I want to dance at my grandson's wedding")
    expect(page.locator("#plan-items")).to_contain_text("Blood sugar out of control")
    expect(page.locator("body")).not_to_contain_text("Grief after a loss")
    expect(page.locator("[data-version]")).to_contain_text("Version 4")  # the shared part's own count
    page.get_by_role("button", name="Acknowledge version 4").click()
    expect(page.locator("[data-acknowledged]")).to_contain_text("version 4")
    screenshot("3-practice-acknowledged")
