"""A practice contact filters the gap report and sends closure evidence; the plan's care manager
accepts it; the gap shows closed and the measure's closure rate moves."""

import re

import pytest
from playwright.sync_api import expect

from caregaps import services
from tests.caregaps.conftest import import_gaps
from tests.e2e.test_referral_journey import sign_out
from tests.e2e.test_sign_in_and_find_member import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_gap_closed_with_the_practices_evidence_moves_the_closure_rate(world, page, screenshot):
    services.measure_catalog_seed(plan=world.plan_a)
    a1 = world.m_a1.member_number
    import_gaps(world, f"{a1},BCS,Mammogram due,2026-12-31,open", f"{a1},COL,Colorectal screening,2026-12-31,open")

    sign_in(page, "p1_contact")
    page.get_by_role("link", name="Care gaps").click()
    expect(page.locator('[data-measure="BCS"] .rate')).to_have_text("0%")
    page.locator("#id_measure").select_option("BCS")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"measure=BCS"))  # the filter lives in the URL
    expect(page.locator("#gaps [data-gap]")).to_have_count(1)
    page.reload()
    expect(page.locator("#gaps [data-gap]")).to_have_count(1)
    screenshot("1-practice-report")
    page.locator("#gaps [data-gap] a").click()
    form = page.locator("#evidence-form")
    form.locator("#id_service_date").fill(world.plan_a.local_date().isoformat())
    form.locator("#id_code").fill("77067")
    form.locator("#id_note").fill("Screening mammogram, BI-RADS 1")
    form.get_by_role("button", name="Send closure evidence").click()
    expect(page.locator("#gap-status")).to_have_text("Closure evidence submitted")
    sign_out(page)

    sign_in(page, "a_cm")
    page.goto("/care-gaps/?status=evidence")
    page.locator("#gaps [data-gap] a").click()
    expect(page.locator("#history")).to_contain_text("77067")
    screenshot("2-plan-checks-evidence")
    page.locator("#plan-actions").get_by_role("button", name="Accept").click()
    expect(page.locator("#gap-status")).to_have_text("Closed")
    page.goto("/care-gaps/")
    expect(page.locator('[data-measure="BCS"] .rate')).to_have_text("100%")
    screenshot("3-closure-rate")
