import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_care_manager_signs_in_and_finds_a_member_despite_a_typo(world, page, screenshot):
    make_member(
        world.plan_a,
        practice=world.p1,
        first="Maria",
        last="Gonzalez",
        dob=dt.date(1961, 4, 9),
        member_number="PHP9000001",
    )
    sign_in(page, "a_cm")
    expect(page.get_by_role("heading", level=1)).to_contain_text(world.a_cm.first_name)
    page.get_by_label("Find a member").fill("maria gonzales")
    page.get_by_role("button", name="Search").click()
    result = page.get_by_role("link", name="Gonzalez, Maria")
    expect(result).to_be_visible()
    screenshot("search")
    result.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maria Gonzalez")
    expect(page.get_by_text("Attributed to")).to_contain_text("Practice One")
    screenshot("summary")


def test_live_search_updates_results_without_a_reload(world, page):
    make_member(world.plan_a, practice=world.p1, first="Maria", last="Gonzalez", member_number="PHP9000001")
    sign_in(page, "a_cm")
    page.goto("/members/")
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("Search").fill("PHP9000001")
    expect(page.locator("#member-results")).to_contain_text("Gonzalez, Maria")
    expect(page.locator("#member-results")).not_to_contain_text("Arbor")
    assert page.evaluate("window.__marker") == "same page"  # htmx swapped the rows in place
    assert "q=PHP9000001" in page.url  # the search survives a reload


def test_practice_contact_sees_only_attributed_patients(world, page):
    sign_in(page, "p2_contact")
    page.get_by_role("link", name="All attributed patients").click()
    rows = page.locator("#member-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Aspen, Aaron")
