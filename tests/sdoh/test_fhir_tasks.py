"""Community referrals through the FHIR facade: SDOHCC Tasks For Referral Management, valid R4
(checked with fhir.resources), scoped as the pages, every error an OperationOutcome."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.task import Task

from sdoh import services
from sdoh.fhir import MEMBER_ID_SYSTEM
from tests.conftest import make_member, make_org, make_release, make_user
from tests.sdoh.test_social_referrals import _refer, housing  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _get(client, url: str):
    response = client.get(url)
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    return response, response.json()


def test_the_organization_reads_its_referral_as_a_valid_gravity_task(world, housing, client_for):  # noqa: F811
    need, agency, agency_staff = housing
    referral = _refer(world, need, agency)
    response, body = _get(client_for(agency_staff), f"/fhir/Task/{referral.public_id}")
    assert response.status_code == 200
    Task.model_validate(body)  # valid FHIR R4 (R4B's Task is R4's)
    assert (body["status"], body["intent"], body["code"]["coding"][0]["code"]) == ("requested", "order", "fulfill")
    assert body["owner"]["display"] == "Open Door Housing" and body["requester"]["display"] == "Plan A"
    contained = {r["resourceType"]: r for r in body["contained"]}
    assert body["focus"]["reference"] == "#request" and body["for"]["reference"] == "#patient"
    categories = [c["coding"][0]["code"] for c in contained["ServiceRequest"]["category"]]
    assert categories == ["410606002"]  # the need's own category is not the organization's to read
    assert "housing-instability" not in response.content.decode()
    _, as_plan = _get(client_for(world.a_cm), f"/fhir/Task/{referral.public_id}")
    plan_categories = [c["coding"][0]["code"] for c in as_plan["contained"][1]["category"]]
    assert plan_categories == ["410606002", "housing-instability"]
    assert contained["ServiceRequest"]["note"][0]["text"] == "Eviction notice"
    patient = contained["Patient"]
    assert patient["name"] == [{"text": world.m_a1.full_name}]
    assert "identifier" not in patient and "birthDate" not in patient  # the minimum detail only
    assert world.m_a1.member_number not in response.content.decode()


def test_the_answers_show_on_the_task(world, housing, client_for):  # noqa: F811
    need, agency, agency_staff = housing
    org = world.actor(agency_staff)
    done = _refer(world, need, agency)
    services.social_referral_move(actor=org, referral=done, to="accepted")
    services.social_referral_move(actor=org, referral=done, to="completed", reason="Two months' rent paid")
    declined = _refer(world, need, agency)
    services.social_referral_move(actor=org, referral=declined, to="rejected", reason="Outside our county")
    client = client_for(agency_staff)
    _, completed = _get(client, f"/fhir/Task/{done.public_id}")
    assert completed["status"] == "completed"
    assert completed["output"][0]["valueString"] == "Two months' rent paid"
    assert completed["contained"][1]["status"] == "completed"
    _, rejected = _get(client, f"/fhir/Task/{declined.public_id}")
    assert rejected["status"] == "rejected" and rejected["statusReason"]["text"] == "Outside our county"
    Task.model_validate(completed)
    Task.model_validate(rejected)


def test_search_is_a_paged_bundle_of_only_the_callers_referrals(world, housing, client_for):  # noqa: F811
    from organizations.models import Role

    need, agency, agency_staff = housing
    first, second = _refer(world, need, agency), _refer(world, need, agency)
    other = make_org("community", "Elsewhere Aid")
    make_user(other, "elsewhere", Role.COMMUNITY_STAFF)
    make_release(world.m_a1, other, recipient_kind="community", purposes=["social_services"])
    theirs = _refer(world, need, other)
    client = client_for(agency_staff)
    response, bundle = _get(client, "/fhir/Task?_count=1")
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(second.public_id)]
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/Task/{second.public_id}")
    (following,) = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
    _, rest = _get(client, following)
    assert [e["resource"]["id"] for e in rest["entry"]] == [str(first.public_id)]
    assert not [link for link in rest["link"] if link["relation"] == "next"]
    assert str(theirs.public_id) not in response.content.decode() + str(rest)
    # The plan sees all three, with the member's CareCoord id on the patient.
    _, plan = _get(client_for(world.a_cm), "/fhir/Task?status=requested")
    assert len(plan["entry"]) == 3
    patient = plan["entry"][0]["resource"]["contained"][0]
    assert patient["identifier"] == [{"system": MEMBER_ID_SYSTEM, "value": str(world.m_a1.public_id)}]
    _, none = _get(client, "/fhir/Task?status=completed")
    assert none["entry"] == []


def test_errors_are_operation_outcomes_and_outsiders_get_404(world, housing, client_for):  # noqa: F811
    need, agency, agency_staff = housing
    referral = _refer(world, need, agency)
    for user in (world.b_cm, world.p2_contact, world.c_staff):
        response, body = _get(client_for(user), f"/fhir/Task/{referral.public_id}")
        assert response.status_code == 404 and body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["code"] == "not-found"
    client = client_for(agency_staff)
    response, body = _get(client, "/fhir/Task?status=done")
    assert response.status_code == 400 and body["issue"][0]["expression"] == ["status"]
    assert "done: not a task status" in body["issue"][0]["diagnostics"]
    response, body = _get(client, "/fhir/Task?_count=0")
    assert response.status_code == 400 and body["issue"][0]["expression"] == ["_count"]
    response, body = _get(client, "/fhir/Task?_cursor=nonsense")
    assert response.status_code == 400 and body["issue"][0]["expression"] == ["_cursor"]
    response, body = _get(client, "/fhir/Task?_count=" + "9" * 5000)
    assert response.status_code == 400 and body["issue"][0]["expression"] == ["_count"]
    response, body = _get(client, "/fhir/Task?patient=x")  # ignoring it would look like a filter
    assert response.status_code == 400 and body["issue"][0]["expression"] == ["patient"]
    for path in ("/fhir/Task/123", "/fhir/Patient", "/fhir/Task/"):
        response, body = _get(client, path)
        assert response.status_code == 404 and body["issue"][0]["code"] == "not-found", path
    from django.test import Client

    response, body = _get(Client(), f"/fhir/Task/{referral.public_id}")
    assert response.status_code in (401, 403) and body["resourceType"] == "OperationOutcome"


def test_the_search_takes_the_same_queries_for_one_task_and_for_many(world, housing, client_for):  # noqa: F811
    need, agency, agency_staff = housing
    client = client_for(agency_staff)
    _refer(world, need, agency)
    client.get("/fhir/Task")
    with CaptureQueriesContext(connection) as one:
        client.get("/fhir/Task")
    for n in range(5):
        member = make_member(world.plan_a, practice=world.p1, member_number=f"T{n:03d}")
        make_release(member, agency, recipient_kind="community", purposes=["social_services"])
        services.social_referral_create(
            actor=world.actor(world.a_cm), member=member, organization=agency, request_note="Rent"
        )
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/fhir/Task").json()["entry"]) == 6
    assert len(many) == len(one)


def test_the_capability_statement_says_what_the_server_answers(world):
    from django.test import Client

    _, body = _get(Client(), "/fhir/metadata")  # read before signing in
    assert body["implementation"]["url"].endswith("/fhir/")
    CapabilityStatement.model_validate(body)
    (task,) = body["rest"][0]["resource"]
    assert task["type"] == "Task" and {p["name"] for p in task["searchParam"]} == {"status", "_count"}
