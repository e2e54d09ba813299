"""The care plans API: scoped as the pages; a practice gets the shared items only."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from careplans import services
from core.models import AuditEvent
from members.services import release_revoke
from tests.careplans.conftest import INTERNAL_TEXTS, SHARED_TEXTS, build_plan
from tests.conftest import SYSTEM, make_member, make_release


def test_plan_staff_get_the_whole_plan_by_member_or_plan_id(world, care_plan, client_for):
    client = client_for(world.a_cm)
    by_member = client.get(f"/api/v1/careplans/{world.m_a1.public_id}/")
    by_plan = client.get(f"/api/v1/careplans/{care_plan.public_id}/")
    assert by_member.status_code == by_plan.status_code == 200
    assert by_member.json() == by_plan.json()
    data = by_member.json()
    assert data["version"] == 7 and data["member"] == str(world.m_a1.public_id)
    assert len(data["problems"]) == 2 and len(data["goals"]) == 2 and len(data["interventions"]) == 2
    assert "barriers" in data
    goal = next(g for g in data["goals"] if g["member_words"].startswith("I want"))
    problem = next(p for p in data["problems"] if p["description"] == "Uncontrolled diabetes")
    assert goal["problem"] == problem["id"]
    assert (
        AuditEvent.objects.filter(object_type="member", member_id=world.m_a1.pk, detail__via="api care plan").count()
        == 2
    )


def test_practice_gets_only_the_shared_items_and_only_under_a_release(world, care_plan, client_for):
    client = client_for(world.p1_contact)
    assert client.get(f"/api/v1/careplans/{world.m_a1.public_id}/").status_code == 404
    assert client.get("/api/v1/careplans/").json()["results"] == []
    release = make_release(world.m_a1, world.p1)
    response = client.get(f"/api/v1/careplans/{world.m_a1.public_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert all(text in body for text in SHARED_TEXTS)
    assert not any(text in body for text in INTERNAL_TEXTS)
    assert "barriers" not in response.json() and "next_review_on" not in response.json()
    listed = client.get("/api/v1/careplans/").json()["results"]
    assert [c["id"] for c in listed] == [str(care_plan.public_id)]
    assert not any(text in str(listed) for text in INTERNAL_TEXTS)
    release_revoke(actor=SYSTEM, release=release, reason="Revoked")
    assert client.get(f"/api/v1/careplans/{world.m_a1.public_id}/").status_code == 404
    assert client.get("/api/v1/careplans/").json()["results"] == []


def test_outsiders_get_404_and_insiders_without_the_right_403(world, care_plan, client_for):
    for user in (world.b_cm, world.p2_contact, world.p3_contact, world.c_staff):
        assert client_for(user).get(f"/api/v1/careplans/{care_plan.public_id}/").status_code == 404
    assert client_for(world.a_intake).get("/api/v1/careplans/").status_code == 403
    assert client_for(world.a_intake).get(f"/api/v1/careplans/{care_plan.public_id}/").status_code == 403
    assert client_for(world.b_cm).get("/api/v1/careplans/").json()["results"] == []


def test_bad_filters_answer_400_naming_the_field(world, care_plan, client_for):
    client = client_for(world.a_cm)
    response = client.get("/api/v1/careplans/", {"member": "not-a-uuid", "updated_since": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()) >= {"member", "updated_since"}
    response = client.get("/api/v1/careplans/", {"page_size": "0"})
    assert response.status_code == 400 and "page_size" in response.json()
    response = client.get("/api/v1/careplans/", {"member": str(world.m_a1.public_id)})
    assert [c["id"] for c in response.json()["results"]] == [str(care_plan.public_id)]


def test_the_list_costs_the_same_queries_whatever_the_number_of_plans_and_items(world, client_for):
    client = client_for(world.a_cm)
    build_plan(world, world.m_a1)
    client.get("/api/v1/careplans/")
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/careplans/").json()["results"]) == 1
    for n in range(3):
        member = make_member(world.plan_a, practice=world.p1, first=f"M{n}", last="Many", member_number=f"AM{n}")
        plan = build_plan(world, member)
        services.problem_save(
            actor=world.actor(world.a_cm), care_plan=plan, values={"domain": "social", "description": "More"}
        )
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/careplans/").json()["results"]) == 4
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    with CaptureQueriesContext(connection) as one:
        client.get(f"/api/v1/careplans/{plan.public_id}/")
    assert len(one) <= len(few)


def test_practice_acknowledges_through_the_api(world, care_plan, client_for):
    from careplans.models import Acknowledgement

    endpoint = f"/api/v1/careplans/{care_plan.public_id}/acknowledge/"
    practice = client_for(world.p1_contact)
    assert practice.post(endpoint).status_code == 404  # not shared without a release
    make_release(world.m_a1, world.p1)
    response = practice.post(endpoint)
    assert response.status_code == 200 and response.json()["version"] == 4
    assert practice.post(endpoint).json()["version"] == 4 and Acknowledgement.objects.count() == 1
    assert client_for(world.a_cm).post(endpoint).status_code == 403
    assert client_for(world.p2_contact).post(endpoint).status_code == 404
