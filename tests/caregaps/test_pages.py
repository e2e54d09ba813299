"""The care-gap pages: the practice's report (by measure, by member, filters in the URL), one gap
with the practice's actions and the plan's decision."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from caregaps.models import CareGap
from tests.caregaps.conftest import import_gaps
from tests.conftest import make_member


def test_the_practice_report_shows_its_patients_counts_and_closure_rate(catalog, client_for):
    world = catalog
    a1, a2 = world.m_a1.member_number, world.m_a2.member_number
    import_gaps(world, f"{a1},BCS,Mammogram due,2026-12-31,open", f"{a1},AWV,,2026-12-31,closed", f"{a2},BCS,,,")
    page = client_for(world.p1_contact).get("/care-gaps/").content.decode()
    assert world.m_a1.last_name in page and world.m_a2.last_name not in page
    assert 'data-measure="AWV"' in page and "100%" in page  # AWV: 1 closed of 1
    assert 'data-measure="BCS"' in page and "0%" in page  # P1 sees one open BCS gap, not P2's
    filtered = client_for(world.p1_contact).get("/care-gaps/?measure=BCS&status=open").content.decode()
    assert filtered.count("data-gap=") == 1 and "Mammogram due" in filtered
    assert (
        client_for(world.p1_contact).get("/care-gaps/?status=closed&measure=BCS").content.decode().count("data-gap=")
        == 0
    )


def test_the_report_takes_the_same_queries_for_one_gap_and_for_a_page_of_them(catalog, client_for):
    world = catalog
    client = client_for(world.p1_contact)
    import_gaps(world, f"{world.m_a1.member_number},BCS,,,")
    client.get("/care-gaps/")
    with CaptureQueriesContext(connection) as one:
        client.get("/care-gaps/")
    rows = [
        f"{make_member(world.plan_a, practice=world.p1, member_number=f'R{n:04d}').member_number},COL,,,"
        for n in range(30)
    ]
    import_gaps(world, *rows)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/care-gaps/").content.decode().count("data-gap=") == 31
    assert len(many) == len(one)
    with CaptureQueriesContext(connection) as new_only:
        assert client.get("/care-gaps/?new=1").content.decode().count("data-gap=") == 31  # never reviewed
    assert len(new_only) == len(one)  # the last review is read once, filter and banner alike


def test_the_practice_sends_evidence_and_the_plan_accepts_it_on_the_gap_page(catalog, client_for):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,,2026-12-31,open")
    gap = CareGap.objects.get()
    practice, plan = client_for(world.p1_contact), client_for(world.a_cm)
    url = f"/care-gaps/{gap.public_id}/"
    assert 'id="practice-actions"' in practice.get(url).content.decode()
    assert 'id="practice-actions"' not in plan.get(url).content.decode()
    today = world.plan_a.local_date().isoformat()
    response = practice.post(f"{url}evidence/", {"service_date": today, "code": ""}, follow=True)
    assert "code" in response.content.decode().lower() and CareGap.objects.get().status == "open"
    practice.post(f"{url}evidence/", {"service_date": today, "code": "77067", "note": "BI-RADS 1"})
    assert CareGap.objects.get().status == "evidence"
    assert 'id="plan-actions"' in plan.get(url).content.decode()
    assert practice.post(f"{url}adjudicate/", {"decision": "accept"}).status_code == 403
    plan.post(f"{url}adjudicate/", {"decision": "accept"})
    assert CareGap.objects.get().status == "closed"
    page = practice.get(url).content.decode()
    assert "77067" in page and "BI-RADS 1" in page
    assert client_for(world.p2_contact).get(url).status_code == 404


def test_the_csv_export_streams_the_filtered_report_in_chunks_and_audits_each_member(catalog, client_for, monkeypatch):
    import csv
    import io

    from caregaps import exports
    from core.models import AuditEvent

    world = catalog
    monkeypatch.setattr(exports, "CHUNK", 2)
    rows = [
        f"{make_member(world.plan_a, practice=world.p1, member_number=f'E{n:04d}').member_number},COL,,,"
        for n in range(5)
    ]
    import_gaps(world, *rows, f"{world.m_a1.member_number},BCS,,,", f"{world.m_a2.member_number},COL,,,")
    response = client_for(world.p1_contact).get("/care-gaps/export.csv?measure=COL")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    parts = list(response.streaming_content)
    assert len(parts) == 3  # five rows, two a chunk
    table = list(csv.reader(io.StringIO(b"".join(parts).decode())))
    assert table[0][:4] == ["member_id", "last_name", "first_name", "measure"]
    assert sorted(r[0] for r in table[1:]) == [f"E{n:04d}" for n in range(5)]  # not P2's, not BCS
    exported = AuditEvent.objects.filter(action="export", detail__via="care gap export")
    assert exported.count() == 5
    empty = client_for(world.p1_contact).get("/care-gaps/export.csv?measure=AWV")
    assert b"".join(empty.streaming_content).decode().splitlines() == [",".join(exports.COLUMNS)]
