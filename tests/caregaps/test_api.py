"""`/api/v1/caregaps/`: scoped as the members are, filters, one gap with its history, the import."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caregaps.models import CareGap
from core.models import AuditEvent
from tests.caregaps.conftest import import_gaps
from tests.conftest import make_member


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("gaps.csv", text.encode(), content_type="text/csv")


def test_a_practice_lists_only_its_attributed_patients_gaps(catalog, client_for):
    world = catalog
    import_gaps(
        world, f"{world.m_a1.member_number},BCS,Mammogram,2026-12-31,open", f"{world.m_a2.member_number},COL,,,"
    )
    body = client_for(world.p1_contact).get("/api/v1/caregaps/").json()
    assert [g["member"]["member_number"] for g in body["results"]] == [world.m_a1.member_number]
    assert body["results"][0]["measure"] == {"code": "BCS", "name": "Breast cancer screening"}
    plan_view = client_for(world.a_cm).get("/api/v1/caregaps/?measure=col").json()
    assert [g["member"]["member_number"] for g in plan_view["results"]] == [world.m_a2.member_number]
    assert client_for(world.c_staff).get("/api/v1/caregaps/").status_code == 403
    assert AuditEvent.objects.filter(object_type="member", detail__via="care gaps").exists()


def test_filters_are_checked_and_the_open_filter_keeps_every_status_still_to_close(catalog, client_for):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,open", f"{world.m_a1.member_number},AWV,,,closed")
    client = client_for(world.a_cm)
    assert [g["measure"]["code"] for g in client.get("/api/v1/caregaps/?open=1").json()["results"]] == ["BCS"]
    assert [g["measure"]["code"] for g in client.get("/api/v1/caregaps/?status=closed").json()["results"]] == ["AWV"]
    response = client.get("/api/v1/caregaps/?status=shut")
    assert response.status_code == 400 and "status" in response.json()


def test_the_list_takes_the_same_queries_for_one_gap_and_for_a_full_page(catalog, client_for):
    world = catalog
    client = client_for(world.a_cm)
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,open")
    client.get("/api/v1/caregaps/")  # the actor's permissions, read once
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/caregaps/").json()["results"]) == 1
    rows = [
        f"{make_member(world.plan_a, practice=world.p1, member_number=f'Q{n:04d}').member_number},COL,,,"
        for n in range(30)
    ]
    import_gaps(world, *rows)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/caregaps/").json()["results"]) == 31
    assert len(many) == len(one)


def test_one_gap_shows_its_history(catalog, client_for):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,2026-12-31,open")
    import_gaps(world, f"{world.m_a1.member_number},BCS,,2026-12-31,closed")
    gap = CareGap.objects.get()
    body = client_for(world.p1_contact).get(f"/api/v1/caregaps/{gap.public_id}/").json()
    assert body["status"] == "closed"
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [("", "open"), ("open", "closed")]
    assert client_for(world.p2_contact).get(f"/api/v1/caregaps/{gap.public_id}/").status_code == 404


def test_the_import_endpoint_applies_a_good_file_and_reports_every_bad_row_of_a_bad_one(catalog, client_for):
    world = catalog
    client = client_for(world.a_admin)
    good = _csv(f"member_id,measure,due_date\n{world.m_a1.member_number},BCS,2026-12-31\n")
    response = client.post("/api/v1/caregaps/imports/", {"file": good})
    assert response.status_code == 201
    assert response.json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "applied": True}
    bad = _csv(f"member_id,measure,due_date\n{world.m_a2.member_number},COL,2026-12-31\nZZZ,BCS,someday\n")
    response = client.post("/api/v1/caregaps/imports/", {"file": bad})
    assert response.status_code == 400 and response.json()["applied"] is False
    assert {(e["row"], e["field"]) for e in response.json()["errors"]} == {(3, "member_id"), (3, "due_date")}
    assert CareGap.objects.count() == 1  # the good row of the bad file was not applied either
    assert client.post("/api/v1/caregaps/imports/", {}).status_code == 400
    assert client_for(world.a_cm).post("/api/v1/caregaps/imports/", {"file": good}).status_code == 403
    assert client_for(world.p1_contact).post("/api/v1/caregaps/imports/", {"file": good}).status_code == 403


def test_the_import_endpoint_takes_a_fhir_gaps_report(catalog, client_for):
    from tests.caregaps.test_fhir_import import _load

    world = catalog
    make_member(world.plan_a, practice=world.p1, member_number="999995992")
    client = client_for(world.a_admin)
    report = _load("Bundle-single-gaps-open-indv-report01.json")
    response = client.post("/api/v1/caregaps/imports/", report, content_type="application/fhir+json")
    assert response.status_code == 201 and response.json()["created"] == 2
    lone = _load("DetectedIssue-gaps-detectedissue01.json")
    response = client.post("/api/v1/caregaps/imports/", lone, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "DetectedIssue/gaps-detectedissue01.patient"


def test_the_api_filters_by_provider_practice_and_due_date_and_names_a_bad_value(catalog, client_for):
    world = catalog
    header = "member_id,measure,description,due_date,status,provider_npi,provider_name"
    import_gaps(
        world,
        f"{world.m_a1.member_number},BCS,,2026-06-30,open,1234567893,Dr. Ada Quill",
        f"{world.m_a2.member_number},COL,,2027-06-30,open,,",
        header=header,
    )
    plan = client_for(world.a_cm)
    (gap,) = plan.get("/api/v1/caregaps/?provider=quill").json()["results"]
    assert (gap["provider_npi"], gap["provider_name"]) == ("1234567893", "Dr. Ada Quill")
    p2 = plan.get(f"/api/v1/caregaps/?practice={world.p2.public_id}").json()["results"]
    assert [g["member"]["member_number"] for g in p2] == [world.m_a2.member_number]
    due = plan.get("/api/v1/caregaps/?due_before=2026-12-31").json()["results"]
    assert [g["measure"]["code"] for g in due] == ["BCS"]
    bad = plan.get("/api/v1/caregaps/?due_before=someday")
    assert bad.status_code == 400 and "due_before" in bad.json()
    # A practice id means nothing to a practice: it sees its own patients, never another's.
    own = client_for(world.p1_contact).get(f"/api/v1/caregaps/?practice={world.p2.public_id}").json()["results"]
    assert [g["member"]["member_number"] for g in own] == [world.m_a1.member_number]


def test_the_gap_detail_lists_the_evidence_documents_with_their_download(catalog, client_for):
    from caregaps import services

    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,")
    gap = CareGap.objects.get()
    services.gap_submit_evidence(
        actor=world.actor(world.p1_contact),
        gap=gap,
        service_date=world.plan_a.local_date(),
        code="77067",
        files=[SimpleUploadedFile("lab.pdf", b"%PDF-1.4 x", content_type="application/pdf")],
    )
    history = client_for(world.a_cm).get(f"/api/v1/caregaps/{gap.public_id}/").json()["history"]
    (sent,) = [e for e in history if e["to_status"] == "evidence"]
    assert sent["code"] == "77067" and sent["files"][0]["name"] == "lab.pdf"
    assert client_for(world.a_cm).get(sent["files"][0]["url"]).status_code == 200
