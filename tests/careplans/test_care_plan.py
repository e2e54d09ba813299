"""The care plan: one per member, versioned on every change, shared with the practice only in
its shareable parts and only under a release of information."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from careplans import services
from careplans.models import Acknowledgement, CarePlan, CarePlanVersion, Goal, Intervention
from core.models import AuditEvent, Notification
from members.services import release_revoke
from tests.careplans.conftest import INTERNAL_TEXTS, SHARED_TEXTS, build_plan
from tests.conftest import SYSTEM, make_release


def pdf_text(body: bytes) -> str:
    """The text a PDF shows: its deflated content streams' string operands, joined."""
    import re
    import zlib

    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        content = zlib.decompress(stream).decode("latin-1")
        shown += [m.replace("\\(", "(").replace("\\)", ")") for m in re.findall(r"\((.*?)(?<!\\)\) ?Tj", content)]
    return " ".join(shown)


def url(member, rest=""):
    return f"/members/{member.public_id}/care-plan/{rest}"


def test_every_change_bumps_the_version_and_keeps_a_full_snapshot(world, care_plan):
    assert care_plan.version == 7  # started, 2 problems, 2 goals, 2 interventions
    versions = list(CarePlanVersion.objects.filter(care_plan=care_plan).order_by("number"))
    assert [v.number for v in versions] == list(range(1, 8))
    assert versions[0].summary == "Care plan started" and versions[0].changed_by == world.a_cm
    assert versions[1].summary.startswith("Added problem: Uncontrolled diabetes")
    assert versions[1].snapshot["problems"][0]["description"] == "Uncontrolled diabetes"
    assert versions[1].snapshot["goals"] == []
    last = versions[-1].snapshot
    assert len(last["problems"]) == 2 and len(last["goals"]) == 2 and len(last["interventions"]) == 2
    goal = Goal.objects.get(member_words__startswith="I want")
    services.goal_save(
        actor=world.actor(world.a_cm),
        care_plan=care_plan,
        goal=goal,
        values={"progress": "in_progress", "progress_note": "Walked twice this week"},
    )
    newest = CarePlanVersion.objects.get(care_plan=care_plan, number=8)
    assert "progress" in newest.summary
    assert {g["progress"] for g in newest.snapshot["goals"]} == {"in_progress", "not_started"}
    # the earlier version still says what it said
    assert {g["progress"] for g in versions[-1].snapshot["goals"]} == {"not_started"}
    audits = AuditEvent.objects.filter(object_type="care_plan", object_id=str(care_plan.public_id))
    assert audits.count() == 8 and audits.filter(member_id=world.m_a1.pk).count() == 8


def test_an_unchanged_save_writes_no_version(world, care_plan):
    goal = Goal.objects.get(member_words__startswith="I want")
    services.goal_save(
        actor=world.actor(world.a_cm), care_plan=care_plan, goal=goal, values={"progress": "not_started"}
    )
    care_plan.refresh_from_db()
    assert care_plan.version == 7


def test_removing_an_item_is_a_version_and_the_history_keeps_it(world, care_plan):
    problem = care_plan.problems.get(description="Uncontrolled diabetes")
    services.item_remove(actor=world.actor(world.a_cm), care_plan=care_plan, item=problem)
    care_plan.refresh_from_db()
    assert care_plan.version == 8
    assert not care_plan.problems.filter(pk=problem.pk).exists()
    goal = Goal.objects.get(member_words__startswith="I want")
    assert goal.problem_id is None  # the goal stays, unlinked
    assert "Uncontrolled diabetes" in str(CarePlanVersion.objects.get(care_plan=care_plan, number=7).snapshot)


def test_one_care_plan_per_member_is_a_database_rule(world, care_plan):
    assert services.careplan_start(actor=world.actor(world.a_cm), member=world.m_a1) == care_plan
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlan.objects.create(plan=world.plan_a, member=world.m_a1)


def test_bad_values_name_the_field_and_write_nothing(world, care_plan):
    cm = world.actor(world.a_cm)
    with pytest.raises(ValidationError) as error:
        services.goal_save(actor=cm, care_plan=care_plan, values={"member_words": " ", "progress": "finished"})
    assert set(error.value.message_dict) == {"member_words", "progress"}
    other = build_plan(world, world.m_a2)
    with pytest.raises(ValidationError) as error:
        services.goal_save(
            actor=cm, care_plan=care_plan, values={"member_words": "x", "problem": other.problems.first()}
        )
    assert "problem" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.intervention_save(
            actor=cm,
            care_plan=care_plan,
            values={"description": "Ride", "owner_kind": "community", "owner_organization": world.p3},
        )
    assert "owner_organization" in error.value.message_dict
    care_plan.refresh_from_db()
    assert care_plan.version == 7


def test_the_add_goal_form_answers_bad_input_naming_the_field(world, care_plan, client_for):
    response = client_for(world.a_cm).post(url(world.m_a1, "goals/add/"), {"member_words": "", "priority": "urgent"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "The goal, in the member&#x27;s own words: This field is required." in body
    assert "Priority: Select a valid choice." in body
    assert Goal.objects.filter(care_plan=care_plan).count() == 2


def test_care_manager_builds_the_plan_through_the_pages(world, client_for):
    client = client_for(world.a_cm)
    member = world.m_a1
    assert b"Start the care plan" in client.get(url(member)).content
    assert client.post(url(member, "start/")).status_code == 302
    response = client.post(
        url(member, "problems/add/"),
        {"domain": "social", "description": "No reliable transport", "root_causes": "Car sold", "shareable": "on"},
    )
    assert response.status_code == 302
    problem = CarePlan.objects.get(member=member).problems.get()
    response = client.post(
        url(member, "goals/add/"),
        {
            "problem": problem.public_id,
            "member_words": "Get to my appointments",
            "priority": "high",
            "progress": "not_started",
        },
    )
    assert response.status_code == 302
    goal = Goal.objects.get(problem=problem)
    response = client.post(
        url(member, "interventions/add/"),
        {
            "goal": goal.public_id,
            "description": "Arrange rides",
            "owner_kind": "community",
            "owner_organization": world.community.public_id,
            "status": "planned",
        },
    )
    assert response.status_code == 302
    response = client.post(url(member, "notes/"), {"barriers": "Works nights", "strengths": "Supportive daughter"})
    assert response.status_code == 302
    plan = CarePlan.objects.get(member=member)
    assert plan.version == 5 and plan.strengths == "Supportive daughter"
    page = client.get(url(member)).content.decode()
    assert "Get to my appointments" in page and "Community Org" in page and "Works nights" in page
    # htmx progress update comes back as the plan's items only
    response = client.post(
        url(member, f"goals/{goal.public_id}/progress/"),
        {"progress": "met", "progress_note": "Rides arranged"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="plan-items">')
    assert "Rides arranged" in response.content.decode()
    response = client.post(
        url(member, f"goals/{goal.public_id}/progress/"), {"progress": "done-ish"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "Progress: Select a valid choice" in response.content.decode()
    goal.refresh_from_db()
    assert goal.progress == "met"
    history = client.get(url(member, "versions/")).content.decode()
    assert "Changed goal" in history
    old = client.get(url(member, "versions/2/")).content.decode()
    assert "No reliable transport" in old and "Get to my appointments" not in old


def test_member_summary_links_to_the_care_plan(world, client_for):
    page = client_for(world.a_cm).get(f"/members/{world.m_a1.public_id}/").content.decode()
    assert url(world.m_a1) in page


def test_practice_sees_only_shared_parts_and_only_under_a_release(world, care_plan, client_for):
    client = client_for(world.p1_contact)
    page = client.get(url(world.m_a1)).content.decode()
    assert "No care plan is shared with your practice" in page
    assert not any(text in page for text in SHARED_TEXTS + INTERNAL_TEXTS)

    release = make_release(world.m_a1, world.p1)
    page = client.get(url(world.m_a1)).content.decode()
    assert all(text in page for text in SHARED_TEXTS)
    assert not any(text in page for text in INTERNAL_TEXTS)
    assert "Cost of insulin" in page  # root causes of a shared problem
    assert "Barriers" not in page and "Version history" not in page

    release_revoke(actor=SYSTEM, release=release, reason="Member asked")
    page = client.get(url(world.m_a1)).content.decode()
    assert not any(text in page for text in SHARED_TEXTS + INTERNAL_TEXTS)


def test_a_shared_goal_under_a_plan_internal_problem_does_not_reveal_the_problem(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    hidden = care_plan.problems.get(shareable=False)
    Goal.objects.filter(problem=hidden).update(shareable=True)
    page = client_for(world.p1_contact).get(url(world.m_a1)).content.decode()
    assert "Hidden goal about mood" in page
    assert "Secret depression history" not in page and str(hidden.public_id) not in page


def test_a_release_to_another_practice_shares_nothing_with_this_one(world, care_plan, client_for):
    make_release(world.m_a1, world.p2)
    page = client_for(world.p1_contact).get(url(world.m_a1)).content.decode()
    assert not any(text in page for text in SHARED_TEXTS)


def test_practice_acknowledges_and_the_care_manager_hears(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    assert (care_plan.version, care_plan.shared_version) == (7, 4)  # 4 of the 7 changes were shared
    client = client_for(world.p1_contact)
    assert client.post(url(world.m_a1, "acknowledge/")).status_code == 302
    ack = Acknowledgement.objects.get()
    assert (ack.version, ack.acknowledged_by, ack.practice) == (4, world.p1_contact, world.p1)
    notice = Notification.objects.get(kind="careplan.acknowledged")
    assert notice.recipient == world.a_cm and "Practice One" in notice.title
    assert "Acknowledged" in client.get(url(world.m_a1)).content.decode()
    client.post(url(world.m_a1, "acknowledge/"))  # twice: one acknowledgement, one notice
    assert Acknowledgement.objects.count() == 1
    assert Notification.objects.filter(kind="careplan.acknowledged").count() == 1
    assert "Practice One: shared version 4" in client_for(world.a_cm).get(url(world.m_a1)).content.decode()
    cm = world.actor(world.a_cm)
    services.careplan_notes_save(actor=cm, care_plan=care_plan, barriers="x", strengths="")
    page = client.get(url(world.m_a1)).content.decode()
    assert "data-acknowledged" in page and "Version 4," in page  # a plan-internal change moves nothing here
    goal = Goal.objects.get(member_words__startswith="I want")
    services.goal_save(actor=cm, care_plan=care_plan, goal=goal, values={"progress": "met"})
    page = client.get(url(world.m_a1)).content.decode()
    assert "You acknowledged version 4" in page and "Acknowledge version 5" in page


def test_plan_internal_changes_move_neither_the_practices_version_nor_its_time(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    client = client_for(world.p1_contact)
    before = client.get(f"/api/v1/careplans/{care_plan.public_id}/").json()
    hidden = Goal.objects.get(shareable=False)
    services.goal_save(actor=world.actor(world.a_cm), care_plan=care_plan, goal=hidden, values={"progress": "met"})
    after = client.get(f"/api/v1/careplans/{care_plan.public_id}/").json()
    assert (
        (after["version"], after["updated_at"]) == (before["version"], before["updated_at"]) == (4, after["updated_at"])
    )
    since = before["updated_at"]
    assert client.get("/api/v1/careplans/", {"updated_since": since}).json()["results"]  # the shared change itself
    plan_view = client_for(world.a_cm).get(f"/api/v1/careplans/{care_plan.public_id}/").json()
    assert (plan_view["version"], plan_view["shared_version"]) == (8, 4)


def test_practice_adds_its_own_intervention_always_shared(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    goal = Goal.objects.get(member_words__startswith="I want")
    response = client_for(world.p1_contact).post(
        url(world.m_a1, "practice-interventions/add/"),
        {"description": "Foot exam at next visit", "goal": goal.public_id, "due_date": "2030-01-15"},
    )
    assert response.status_code == 302
    added = Intervention.objects.get(description="Foot exam at next visit")
    assert (added.owner_kind, added.owner_organization, added.shareable, added.goal) == (
        "practice",
        world.p1,
        True,
        goal,
    )
    assert added.added_by_organization == world.p1
    assert Notification.objects.filter(recipient=world.a_cm, kind="careplan.practice_intervention").exists()
    hidden_goal = Goal.objects.get(shareable=False)
    response = client_for(world.p1_contact).post(
        url(world.m_a1, "practice-interventions/add/"), {"description": "x", "goal": hidden_goal.public_id}
    )
    assert response.status_code == 400 and "Goal: Select a valid choice" in response.content.decode()


def test_practice_without_a_release_cannot_acknowledge(world, care_plan):
    with pytest.raises(PermissionDenied):
        services.careplan_acknowledge(actor=world.actor(world.p1_contact), care_plan=care_plan)


def test_insiders_without_the_right_get_403(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    assert client_for(world.a_intake).get(url(world.m_a1)).status_code == 403
    practice = client_for(world.p1_contact)
    assert practice.get(url(world.m_a1, "problems/add/")).status_code == 403
    assert practice.get(url(world.m_a1, "versions/")).status_code == 403
    assert practice.post(url(world.m_a1, "notes/"), {"barriers": "x"}).status_code == 403
    goal = Goal.objects.get(member_words__startswith="I want")
    assert practice.post(url(world.m_a1, f"goals/{goal.public_id}/progress/"), {"progress": "met"}).status_code == 403
    assert client_for(world.a_cm).post(url(world.m_a1, "acknowledge/")).status_code == 403
    goal.refresh_from_db()
    assert goal.progress == "not_started"


def test_another_practice_and_another_plan_get_404(world, care_plan, client_for):
    for user in (world.p2_contact, world.b_cm, world.c_staff, world.p3_contact):
        assert client_for(user).get(url(world.m_a1)).status_code == 404


@pytest.mark.parametrize("persona", ["a_cm", "p1_contact"])
def test_the_care_plan_page_costs_the_same_queries_whatever_its_size(world, client_for, persona):
    make_release(world.m_a1, world.p1)
    small = build_plan(world, world.m_a1)
    client = client_for(getattr(world, persona))
    client.get(url(world.m_a1))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(world.m_a1)).status_code == 200
    cm = world.actor(world.a_cm)
    for n in range(6):
        problem = services.problem_save(
            actor=cm, care_plan=small, values={"domain": "social", "description": f"P{n}", "shareable": True}
        )
        goal = services.goal_save(
            actor=cm, care_plan=small, values={"problem": problem, "member_words": f"G{n}", "shareable": True}
        )
        services.intervention_save(
            actor=cm,
            care_plan=small,
            values={
                "goal": goal,
                "description": f"I{n}",
                "owner_kind": "community",
                "owner_organization": world.community,
                "shareable": True,
            },
        )
    with CaptureQueriesContext(connection) as many:
        body = client.get(url(world.m_a1)).content.decode()
    assert "G5" in body
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert len(few) <= 16


def test_own_member_with_another_members_item_is_404(world, care_plan, client_for):
    other = build_plan(world, world.m_a2)
    problem, goal = other.problems.first(), other.goals.first()
    client = client_for(world.a_cm)
    assert client.get(url(world.m_a1, f"problems/{problem.public_id}/edit/")).status_code == 404
    assert client.post(url(world.m_a1, f"problems/{problem.public_id}/remove/")).status_code == 404
    assert client.post(url(world.m_a1, f"goals/{goal.public_id}/progress/"), {"progress": "met"}).status_code == 404
    assert other.problems.count() == 2


def test_plan_internal_items_are_404_to_the_practice_even_by_id(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    hidden = care_plan.problems.get(shareable=False)
    client = client_for(world.p1_contact)
    assert client.get(url(world.m_a1, f"problems/{hidden.public_id}/edit/")).status_code == 404


def test_printable_plan_is_plain_language_and_shows_only_what_the_viewer_may_see(world, care_plan, client_for):
    page = client_for(world.a_cm).get(url(world.m_a1, "print/")).content.decode()
    assert "My care plan" in page and "My goal:" in page and "Your doctor&#x27;s office" in page
    assert all(text in page for text in SHARED_TEXTS) and "Hidden goal about mood" in page
    make_release(world.m_a1, world.p1)
    page = client_for(world.p1_contact).get(url(world.m_a1, "print/")).content.decode()
    assert all(text in page for text in SHARED_TEXTS)
    assert not any(text in page for text in INTERNAL_TEXTS)
    assert AuditEvent.objects.filter(action="export", object_id=str(care_plan.public_id)).count() == 2


def test_pdf_for_fax_holds_only_the_shared_parts_for_a_practice(world, care_plan, client_for):
    make_release(world.m_a1, world.p1)
    for user, hidden_expected in ((world.a_cm, True), (world.p1_contact, False)):
        response = client_for(user).get(url(world.m_a1, "care-plan.pdf"))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        text = pdf_text(response.content)
        assert "I want to walk my granddaughter to school" in text and "Check A1c every three months" in text
        assert ("Hidden goal about mood" in text) is hidden_expected
        assert ("Internal note: weekly call" in text) is hidden_expected
    assert client_for(world.p2_contact).get(url(world.m_a1, "care-plan.pdf")).status_code == 404


def test_coordination_notice_is_recorded_with_date_and_method(world, client_for):
    client = client_for(world.a_cm)
    today = world.plan_a.local_date()
    response = client.post(
        url(world.m_a1, "coordination-notices/"),
        {"notified_on": today.isoformat(), "method": "phone", "recipient": "member", "note": "Explained sharing"},
    )
    assert response.status_code == 302
    notice = world.m_a1.coordination_notices.get()
    assert (notice.notified_on, notice.method, notice.recorded_by) == (today, "phone", world.a_cm)
    assert AuditEvent.objects.filter(object_type="coordination_notice", member_id=world.m_a1.pk).exists()
    assert "Member told by phone" in client.get(url(world.m_a1)).content.decode()
    client.post(
        url(world.m_a1, "coordination-notices/"),
        {"notified_on": today.isoformat(), "method": "fax", "recipient": "guardian"},
    )
    with pytest.raises(ValidationError) as error:
        services.coordination_notice_record(
            actor=world.actor(world.a_cm), member=world.m_a1, notified_on=today, method="mail", recipient="guardian"
        )
    assert "recipient" in error.value.message_dict
    assert world.m_a1.coordination_notices.count() == 1
    make_release(world.m_a1, world.p1)
    assert (
        client_for(world.p1_contact)
        .post(
            url(world.m_a1, "coordination-notices/"),
            {"notified_on": today.isoformat(), "method": "phone", "recipient": "member"},
        )
        .status_code
        == 403
    )
    assert "Explained sharing" not in client_for(world.p1_contact).get(url(world.m_a1)).content.decode()


def test_substance_use_items_reach_a_practice_only_under_a_part_2_release(world, care_plan, client_for):
    cm = world.actor(world.a_cm)
    problem = services.problem_save(
        actor=cm,
        care_plan=care_plan,
        values={
            "domain": "behavioral",
            "description": "Alcohol use disorder",
            "shareable": True,
            "substance_use": True,
        },
    )
    goal = services.goal_save(
        actor=cm, care_plan=care_plan, values={"problem": problem, "member_words": "Stay sober", "shareable": True}
    )
    assert goal.substance_use  # under a Part 2 problem: Part 2 as well
    client = client_for(world.p1_contact)
    make_release(world.m_a1, world.p1)
    page = client.get(url(world.m_a1)).content.decode()
    assert "Uncontrolled diabetes" in page
    assert "Alcohol use disorder" not in page and "Stay sober" not in page
    assert "Alcohol" not in client.get(f"/api/v1/careplans/{care_plan.public_id}/").content.decode()
    make_release(world.m_a1, world.p1, includes_substance_use=True)
    page = client.get(url(world.m_a1)).content.decode()
    assert "Alcohol use disorder" in page and "Stay sober" in page and "42 CFR Part 2" in page
