"""The report's other views and outputs: XLSX and PDF exports, the provider, practice and "new
since last review" filters, the plan's view by practice with its trend, evidence documents, and
the reminder of gaps due within 30 days."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from caregaps import exports, selectors, services
from caregaps.models import CareGap, EvidenceFile, Status
from core.models import AuditEvent, Deadline, Notification
from members.roster import Rejected
from organizations.models import Partnership
from organizations.services import partnership_contact_save
from tests.caregaps.conftest import import_gaps
from tests.conftest import SYSTEM, make_member
from tests.security.test_isolation import body_text

HEADER = "member_id,measure,description,due_date,status,provider_npi,provider_name"
NPI = "1234567893"


def _p1_gaps(world, n: int, measure: str = "COL") -> list[str]:
    """Gap-file rows for n new members attributed to P1 (ids and last names from the measure)."""
    rows = []
    for i in range(n):
        member = make_member(
            world.plan_a, practice=world.p1, member_number=f"{measure}{i:04d}", last=f"Last{measure}{i}"
        )
        rows.append(f"{member.member_number},{measure},,2026-12-31,open")
    return rows


def test_the_xlsx_export_holds_the_filtered_rows_with_real_dates_and_is_audited(catalog, client_for, monkeypatch):
    world = catalog
    monkeypatch.setattr(exports, "CHUNK", 2)
    import_gaps(world, *_p1_gaps(world, 3), f"{world.m_a1.member_number},BCS,,,", f"{world.m_a2.member_number},COL,,,")
    response = client_for(world.p1_contact).get("/care-gaps/export.xlsx?measure=COL")
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    assert 'filename="care-gaps.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)["Care gaps"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == exports.COLUMNS
    assert sorted(r[0] for r in rows[1:]) == ["COL0000", "COL0001", "COL0002"]  # not P2's, not BCS
    assert all(r[5] == dt.datetime(2026, 12, 31) for r in rows[1:])  # a date cell, not text
    assert AuditEvent.objects.filter(action="export", detail__via="care gap export (XLSX)").count() == 3


def test_the_printable_pdf_holds_the_counts_and_the_gaps_and_says_when_it_is_cut_short(
    catalog, client_for, monkeypatch
):
    world = catalog
    import_gaps(world, *_p1_gaps(world, 3))
    client = client_for(world.p1_contact)
    response = client.get("/care-gaps/report.pdf?measure=COL")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = body_text(response)
    assert "Colorectal cancer screening" in text and "LastCOL0" in text and "LastCOL2" in text
    assert "CONFIDENTIAL" in text and "are printed" not in text
    monkeypatch.setattr(exports, "PDF_MAX_ROWS", 2)
    printed = AuditEvent.objects.filter(action="export", detail__via="care gap export (PDF)")
    assert printed.count() == 3
    text = body_text(client.get("/care-gaps/report.pdf?measure=COL"))
    assert "The first 2 of 3 gaps are printed" in text
    assert printed.count() == 3 + 2  # each member as printed


def test_gap_files_carry_the_rendering_provider_and_the_report_filters_by_it(catalog, client_for):
    world = catalog
    a1 = world.m_a1.member_number
    import_gaps(world, f"{a1},BCS,,,,{NPI},Dr. Ada Quill", f"{a1},COL,,,,,Dr. Bo Reed", header=HEADER)
    client = client_for(world.p1_contact)
    by_name = client.get("/care-gaps/?provider=quill").content.decode()
    assert by_name.count("data-gap=") == 1 and "Dr. Ada Quill" in by_name
    assert client.get(f"/care-gaps/?provider={NPI}").content.decode().count("data-gap=") == 1
    assert client.get("/care-gaps/?provider=nobody").content.decode().count("data-gap=") == 0
    with pytest.raises(Rejected) as rejected:
        import_gaps(world, f"{a1},AWV,,,,12345,Dr. Short", header=HEADER)
    (error,) = rejected.value.result.errors
    assert (error.row, error.field) == (2, "provider_npi") and "10 digits" in error.message
    # A provider change alone is an update, and the same file again changes nothing.
    assert import_gaps(world, f"{a1},BCS,,,,{NPI},Dr. Ada Quill-Ng", header=HEADER).updated == 1
    assert import_gaps(world, f"{a1},BCS,,,,{NPI},Dr. Ada Quill-Ng", header=HEADER).unchanged == 1


def test_a_fhir_report_names_the_provider_from_the_patients_general_practitioner(catalog):
    world = catalog
    report = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": r}
            for r in (
                {
                    "resourceType": "Patient",
                    "id": "p",
                    "identifier": [{"value": world.m_a1.member_number}],
                    "generalPractitioner": [{"reference": "Practitioner/dr"}],
                },
                {
                    "resourceType": "Practitioner",
                    "id": "dr",
                    "identifier": [{"system": services.NPI_SYSTEM, "value": NPI}],
                    "name": [{"given": ["Ada"], "family": "Quill"}],
                },
                {"resourceType": "MeasureReport", "id": "mr", "measure": "http://x/Measure/EXM130-FHIR"},
                {
                    "resourceType": "DetectedIssue",
                    "id": "d",
                    "patient": {"reference": "Patient/p"},
                    "evidence": [{"detail": [{"reference": "MeasureReport/mr"}]}],
                    "modifierExtension": [
                        {
                            "url": services.GAP_STATUS_URL,
                            "valueCodeableConcept": {"coding": [{"code": "open-gap"}]},
                        }
                    ],
                },
            )
        ],
    }
    services.gaps_import_fhir(actor=world.actor(world.a_admin), document=report)
    gap = CareGap.objects.get()
    assert (gap.provider_npi, gap.provider_name) == (NPI, "Ada Quill")


def test_new_since_last_review_shows_only_what_arrived_after_the_person_marked_it(catalog, client_for):
    world = catalog
    client = client_for(world.p1_contact)
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,")
    assert client.get("/care-gaps/?new=1").content.decode().count("data-gap=") == 1  # never reviewed: all new
    assert client.get("/care-gaps/reviewed/").status_code == 405
    page = client.post("/care-gaps/reviewed/", follow=True).content.decode()
    assert "You last reviewed this report" in page
    assert client.get("/care-gaps/?new=1").content.decode().count("data-gap=") == 0
    import_gaps(world, f"{world.m_a1.member_number},COL,,,")
    fresh = client.get("/care-gaps/?new=1").content.decode()
    assert fresh.count("data-gap=") == 1 and "Colorectal" in fresh
    # Someone else's review is their own.
    other = client_for(world.p1_admin)
    assert other.get("/care-gaps/?new=1").content.decode().count("data-gap=") == 2


def test_the_plan_narrows_the_report_to_one_practice_and_a_practice_cannot(catalog, client_for):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,", f"{world.m_a2.member_number},BCS,,,")
    plan = client_for(world.a_cm)
    assert plan.get("/care-gaps/").content.decode().count("data-gap=") == 2
    only_p2 = plan.get(f"/care-gaps/?practice={world.p2.public_id}").content.decode()
    assert only_p2.count("data-gap=") == 1 and world.m_a2.last_name in only_p2
    assert world.m_a1.last_name not in only_p2.split('id="gaps"')[1]
    assert 'name="practice"' not in client_for(world.p1_contact).get("/care-gaps/").content.decode()
    # A practice asking for another practice's patients gets its own report, nothing more.
    theirs = client_for(world.p1_contact).get(f"/care-gaps/?practice={world.p2.public_id}").content.decode()
    assert world.m_a2.last_name not in theirs


def test_the_plan_sees_counts_by_practice_and_a_practice_only_its_own_row(catalog, client_for):
    world = catalog
    a1, a2 = world.m_a1.member_number, world.m_a2.member_number
    import_gaps(world, f"{a1},BCS,,,closed", f"{a1},COL,,,", f"{a2},BCS,,,")
    rows = {r["name"]: r for r in selectors.by_practice(world.actor(world.a_cm))}
    assert rows[world.p1.name]["total"] == 2 and rows[world.p1.name]["rate"] == 50
    assert rows[world.p2.name]["total"] == 1 and rows[world.p2.name]["rate"] == 0
    bcs = {
        r["name"]: r["total"]
        for r in selectors.by_practice(world.actor(world.a_cm), selectors.GapFilters(measure="BCS"))
    }
    assert bcs == {world.p1.name: 1, world.p2.name: 1}
    page = client_for(world.a_cm).get("/care-gaps/practices/").content.decode()
    assert f'data-practice-row="{world.p1.name}"' in page and f'data-practice-row="{world.p2.name}"' in page
    own = client_for(world.p1_contact).get("/care-gaps/practices/").content.decode()
    assert f'data-practice-row="{world.p1.name}"' in own and world.p2.name not in own


def test_the_trend_gives_each_months_closure_rate_from_the_gaps_opened_and_closed(catalog):
    world = catalog
    a1 = world.m_a1.member_number
    import_gaps(world, f"{a1},BCS,,,", f"{a1},COL,,,", f"{a1},AWV,,,", f"{a1},CBP,,,")
    tz = world.plan_a.tz
    this_month = world.plan_a.local_date().replace(day=1)
    two_back = (this_month - dt.timedelta(days=40)).replace(day=1)
    long_ago = dt.datetime.combine(two_back, dt.time(12), tzinfo=tz)
    CareGap.objects.update(opened_at=long_ago)
    gaps = {g.measure.code: g for g in CareGap.objects.select_related("measure")}
    CareGap.objects.filter(pk=gaps["BCS"].pk).update(status=Status.CLOSED, closed_at=long_ago)
    CareGap.objects.filter(pk=gaps["COL"].pk).update(status=Status.CLOSED, closed_at=timezone.now())
    CareGap.objects.filter(pk=gaps["AWV"].pk).update(status=Status.EXCLUDED, closed_at=timezone.now())
    months = {m.start: m for m in selectors.trends(world.actor(world.a_cm))}
    assert len(months) == 12 and max(months) == this_month
    assert (months[two_back].opened, months[two_back].closed, months[two_back].rate) == (4, 1, 25)
    # This month: one more closed, one excluded; 2 closed of the 3 that count.
    assert (months[this_month].closed, months[this_month].excluded, months[this_month].rate) == (1, 1, 67)
    assert months[min(months)].rate is None  # nothing opened yet then


def test_the_practices_page_takes_the_same_queries_for_two_practices_and_for_many(catalog, client_for):
    world = catalog
    client = client_for(world.a_cm)
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,", f"{world.m_a2.member_number},BCS,,,")
    client.get("/care-gaps/practices/")
    with CaptureQueriesContext(connection) as few:
        client.get("/care-gaps/practices/")
    from tests.conftest import make_org

    rows = []
    for i in range(4):
        practice = make_org("practice", f"Extra Practice {i}")
        Partnership.objects.create(
            plan=world.plan_a, practice=practice, effective_from=dt.date(2020, 1, 1), next_review_on=dt.date(2030, 1, 1)
        )
        rows.append(f"{make_member(world.plan_a, practice=practice, member_number=f'X{i}').member_number},BCS,,,")
    import_gaps(world, *rows)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/care-gaps/practices/").content.decode().count("data-practice-row=") == 6
    assert len(many) == len(few)


def _pdf(name="lab.pdf", body=b"%PDF-1.4 evidence"):
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def test_evidence_documents_are_stored_shown_and_served_only_to_those_who_see_the_gap(catalog, client_for):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,")
    gap = CareGap.objects.get()
    practice = client_for(world.p1_contact)
    url = f"/care-gaps/{gap.public_id}/"
    today = world.plan_a.local_date().isoformat()
    practice.post(f"{url}evidence/", {"service_date": today, "code": "77067", "files": [_pdf(), _pdf("b.pdf")]})
    assert CareGap.objects.get().status == "evidence"
    stored = list(EvidenceFile.objects.order_by("original_name"))
    assert [f.original_name for f in stored] == ["b.pdf", "lab.pdf"] and stored[0].event.code == "77067"
    assert "lab.pdf" not in stored[1].file.name  # a neutral name on disk
    page = client_for(world.a_cm).get(url).content.decode()
    assert 'class="evidence-file"' in page and "lab.pdf" in page
    download = client_for(world.a_cm).get(f"{url}files/{stored[1].public_id}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 evidence"
    assert "attachment" in download["Content-Disposition"]
    assert client_for(world.p2_contact).get(f"{url}files/{stored[1].public_id}/").status_code == 404
    # The gap a person can see, with another gap's document: 404.
    import_gaps(world, f"{world.m_a1.member_number},COL,,,")
    other = CareGap.objects.get(measure__code="COL")
    assert practice.get(f"/care-gaps/{other.public_id}/files/{stored[1].public_id}/").status_code == 404


def test_a_bad_document_refuses_the_evidence_and_stores_nothing(catalog, client_for):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,")
    gap = CareGap.objects.get()
    today = world.plan_a.local_date().isoformat()
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    page = client_for(world.p1_contact).post(
        f"/care-gaps/{gap.public_id}/evidence/",
        {"service_date": today, "code": "77067", "files": [_pdf(), fake]},
        follow=True,
    )
    assert "virus.pdf is not a PDF, PNG or JPEG file" in page.content.decode()
    assert CareGap.objects.get().status == "open" and not EvidenceFile.objects.exists()
    assert not gap.events.filter(to_status="evidence").exists()


def _contact(world, practice, user, *, primary=True):
    partnership_contact_save(
        actor=SYSTEM,
        partnership=Partnership.objects.get(plan=world.plan_a, practice=practice),
        side="practice",
        name=f"{user.username} contact",
        user=user,
        email=f"{user.username}@practice.example",
        is_primary=primary,
    )


def test_practices_are_reminded_once_of_open_gaps_due_within_30_days(catalog):
    world = catalog
    _contact(world, world.p1, world.p1_contact)
    _contact(world, world.p2, world.p2_contact)
    today = world.plan_a.local_date()
    soon, later, past = today + dt.timedelta(days=20), today + dt.timedelta(days=60), today - dt.timedelta(days=3)
    a1, a2 = world.m_a1.member_number, world.m_a2.member_number
    import_gaps(
        world,
        f"{a1},BCS,,{soon},open",
        f"{a1},COL,,{past},open",
        f"{a1},AWV,,{later},open",
        f"{a1},CBP,,{soon},closed",
        f"{a2},BCS,,{soon},open",
    )
    run = Deadline.objects.get(kind="care_gap.reminders")
    assert run.key == f"care-gap-reminders:{world.plan_a.pk}:{today + dt.timedelta(days=1)}"
    CareGap.objects.filter(member=world.m_a2).update(status=Status.SCHEDULED)  # P2 booked the visit: no reminder
    assert services.reminders_send(plan_id=world.plan_a.pk) == 2
    (notice,) = Notification.objects.filter(kind="care_gaps.due_soon")
    assert notice.recipient == world.p1_contact and notice.email_wanted
    assert notice.title.startswith("2 care gap(s) for your patients due within 30 days")
    assert world.m_a1.last_name not in notice.title and f"due_before={today + dt.timedelta(days=30)}" in notice.url
    assert services.reminders_send(plan_id=world.plan_a.pk) == 0  # once per gap
    assert Notification.objects.filter(kind="care_gaps.due_soon").count() == 1
    # The AWV gap is still to come, so tomorrow's run stays on the clock.
    assert Deadline.objects.filter(kind="care_gap.reminders").count() == 1


def test_the_reminder_chain_stops_when_nothing_is_left_to_remind(catalog):
    world = catalog
    soon = world.plan_a.local_date() + dt.timedelta(days=5)
    import_gaps(world, f"{world.m_a1.member_number},BCS,,{soon},open")
    Deadline.objects.filter(kind="care_gap.reminders").delete()
    assert services.reminders_send(plan_id=world.plan_a.pk) == 1
    assert not Deadline.objects.filter(kind="care_gap.reminders").exists()
