"""A supervisor sees the caseloads, opens one care manager's caseload, selects 50 members and
moves them to a colleague in one action; the dashboard shows the new balance."""

import pytest
from playwright.sync_api import expect

from caseloads.models import Enrollment
from caseloads.services import enrollment_start
from organizations.models import Credential, Role
from tests.conftest import SYSTEM, make_member, make_user
from tests.e2e.test_sign_in_and_find_member import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_reassigns_fifty_members_in_one_action(world, page, screenshot):
    colleague = make_user(
        world.plan_a, "a_cm_colleague", Role.CARE_MANAGER, credential=Credential.RN, caseload_capacity=80
    )
    colleague.first_name, colleague.last_name = "Cole", "League"
    colleague.save(update_fields=["first_name", "last_name"])
    for i in range(55):
        enrollment_start(
            actor=SYSTEM,
            member=make_member(world.plan_a, practice=world.p1, first=f"Pat{i:02d}", last="Moved"),
            program="complex_care",
            acuity="moderate",
            care_manager=world.a_cm,
        )

    sign_in(page, "a_supervisor")
    page.get_by_role("link", name="Caseloads").click()
    row = page.locator(f'#caseloads tr[data-user="{world.a_cm.public_id}"]')
    expect(row).to_contain_text("55")
    screenshot("1-dashboard-before")
    row.get_by_role("link", name="Carla Manning").click()
    boxes = page.locator('#reassign input[name="enrollments"]')
    expect(boxes).to_have_count(55)
    for i in range(50):
        boxes.nth(i).check()
    page.get_by_label("Move to").select_option(str(colleague.public_id))
    page.get_by_label("Why").fill("Carla moves to the transitions team")
    screenshot("2-fifty-selected")
    page.get_by_role("button", name="Move selected").click()
    expect(page.locator(".messages")).to_contain_text("50 members moved to Cole League")
    expect(page.locator('#reassign input[name="enrollments"]')).to_have_count(5)
    page.get_by_role("link", name="← Caseloads").click()
    expect(page.locator(f'#caseloads tr[data-user="{colleague.public_id}"]')).to_contain_text("50")
    screenshot("3-dashboard-after")
    assert Enrollment.objects.active().filter(care_manager=colleague).count() == 50
