"""Roster import: all or nothing, idempotent, every bad row named; set-based, not one save per row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent, Deadline
from members import roster, services
from members.models import Attribution, EligibilitySpan, Member, RosterImport
from members.roster import COLUMNS

SAMPLE = Path(__file__).resolve().parents[2] / "members" / "sample_data" / "roster_sample.csv"


def csv_bytes(rows: list[dict[str, str]], columns=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def row(member_id="R0001", **fields) -> dict[str, str]:
    base = {
        "member_id": member_id,
        "last_name": "Reyes",
        "first_name": "Ana",
        "date_of_birth": "1980-05-06",
        "sex": "F",
        "eligibility_start": "2025-01-01",
        "practice_npi": "1000000001",
    }
    return {**base, **fields}


def run_import(world, data: bytes, *, user=None) -> RosterImport:
    actor = world.actor(user or world.a_admin)
    started = services.roster_import_start(actor=actor, upload=SimpleUploadedFile("roster.csv", data))
    return services.roster_import_run(import_id=started.pk)


def test_sample_file_imports_and_reimporting_it_changes_nothing(world):
    data = SAMPLE.read_bytes().replace(b"1902000011", b"1000000001").replace(b"1902000029", b"1000000002")
    first = run_import(world, data)
    assert first.status == "succeeded", first.errors
    assert (first.created_count, first.updated_count, first.unchanged_count) == (25, 0, 0)
    members = Member.objects.filter(plan=world.plan_a, member_number__startswith="PHS")
    assert members.count() == 25
    assert Attribution.objects.filter(member__in=members).count() == sum(
        1 for line in data.splitlines()[1:] if b",1000000001," in line or b",1000000002," in line
    )
    audit_rows = AuditEvent.objects.filter(detail__roster_import=str(first.public_id)).count()
    assert audit_rows == 25
    snapshot = list(Member.objects.filter(pk__in=members).order_by("pk").values())
    second = run_import(world, data)
    assert (second.status, second.created_count, second.updated_count, second.unchanged_count) == (
        "succeeded",
        0,
        0,
        25,
    )
    assert list(Member.objects.filter(pk__in=members).order_by("pk").values()) == snapshot
    assert AuditEvent.objects.filter(detail__roster_import=str(second.public_id)).count() == 0


def test_changes_update_only_what_differs_and_compute_risk(world):
    run_import(
        world, csv_bytes([row(risk_score="0.9", ed_visits_12m="4", inpatient_admits_12m="2", chronic_conditions="3")])
    )
    member = Member.objects.get(member_number="R0001")
    assert member.risk_tier == "very_high" and member.risk_score == 36 + 20 + 20 + 12
    assert member.risk_inputs[0]["input"] == "Predictive model score"
    result = run_import(
        world,
        csv_bytes(
            [
                row(
                    phone="217 555 0199",
                    risk_score="0.9",
                    ed_visits_12m="4",
                    inpatient_admits_12m="2",
                    chronic_conditions="3",
                )
            ]
        ),
    )
    assert (result.updated_count, result.unchanged_count) == (1, 0)
    member.refresh_from_db()
    assert member.phone == "217-555-0199"


def test_any_bad_row_rejects_the_file_applies_nothing_and_names_every_problem(world):
    rows = [
        row("R0001"),
        row("R0002", date_of_birth="05/06/1980"),  # US date format is fine
        row("R0003", date_of_birth="1980-13-40", sex="Q"),
        row("R0004", eligibility_end="2024-01-01"),
        row("R0005", practice_npi="9999999999"),
        row("R0006", last_name="", email="nope"),
        row("r0001"),  # same id as row 2 once upper-cased
        row("R0008", risk_score="7"),
    ]
    result = run_import(world, csv_bytes(rows))
    assert result.status == "rejected"
    problems = {(e["row"], e["field"]) for e in result.errors}
    assert problems == {
        (4, "date_of_birth"),
        (4, "sex"),
        (5, "eligibility_end"),
        (6, "practice_npi"),
        (7, "last_name"),
        (7, "email"),
        (8, "member_id"),
        (9, "risk_score"),
    }
    assert result.error_count == 8
    assert "nothing was applied" in result.message
    assert not Member.objects.filter(member_number__startswith="R").exists()
    assert not AuditEvent.objects.filter(object_type="member", action="create").exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (b"", "file", "empty"),
        (b"member_id,last_name\n", "first_name", "missing"),
        (b"member_id,last_name,first_name,date_of_birth,sex,eligibility_start,dob\n", "dob", "unknown column"),
        (csv_bytes([]), "file", "no rows"),
        (
            "member_id,last_name,first_name,date_of_birth,sex,eligibility_start\nX1,Zoë,Ana,1980-01-01,F,2025-01-01\n".encode(
                "latin-1"
            ),
            "file",
            "not UTF-8",
        ),
    ],
)
def test_bad_files_are_rejected_with_a_reason(world, data, field, message):
    actor = world.actor(world.a_admin)
    if not data:
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            services.roster_import_start(actor=actor, upload=SimpleUploadedFile("r.csv", data))
        return
    result = run_import(world, data)
    assert result.status == "rejected"
    assert any(e["field"] == field and message in e["message"] for e in result.errors), result.errors


def test_a_row_with_the_wrong_number_of_fields_is_named(world):
    data = csv_bytes([row()]) + b"R0009,Short,Row\n"
    result = run_import(world, data)
    assert result.errors == [{"row": 3, "field": "row", "message": "has 3 fields; the header has 27"}]


def test_a_new_practice_closes_the_previous_attribution_the_day_before(world):
    run_import(world, csv_bytes([row(attribution_start="2025-01-01")]))
    result = run_import(world, csv_bytes([row(practice_npi="1000000002", attribution_start="2026-03-01")]))
    assert result.status == "succeeded" and result.updated_count == 1
    member = Member.objects.get(member_number="R0001")
    history = list(member.attributions.order_by("start_date").values_list("practice__name", "start_date", "end_date"))
    assert history == [
        ("Practice One", dt.date(2025, 1, 1), dt.date(2026, 2, 28)),
        ("Practice Two", dt.date(2026, 3, 1), None),
    ]
    # Sending the same practice again with a later start date is a continuation, not a change.
    again = run_import(world, csv_bytes([row(practice_npi="1000000002", attribution_start="2026-06-01")]))
    assert again.unchanged_count == 1 and member.attributions.count() == 2


def test_history_is_not_rewritten_and_coverage_does_not_overlap(world):
    run_import(world, csv_bytes([row(attribution_start="2025-06-01", eligibility_start="2025-01-01")]))
    result = run_import(world, csv_bytes([row(attribution_start="2025-02-01", eligibility_start="2024-06-01")]))
    assert result.status == "rejected"
    fields = {e["field"] for e in result.errors}
    assert fields == {"attribution_start", "eligibility_start"}
    assert EligibilitySpan.objects.filter(member__member_number="R0001").count() == 1


def test_ending_coverage_is_an_update(world):
    run_import(world, csv_bytes([row()]))
    result = run_import(world, csv_bytes([row(eligibility_end="2026-06-30", attribution_end="2026-06-30")]))
    assert result.updated_count == 1
    span = EligibilitySpan.objects.get(member__member_number="R0001")
    assert span.end_date == dt.date(2026, 6, 30)


def test_import_is_set_based_not_one_query_per_row(world):
    def queries_for(n: int) -> int:
        data = csv_bytes([row(f"Q{n}{i:05d}") for i in range(n)])
        upload = services.roster_import_start(
            actor=world.actor(world.a_admin), upload=SimpleUploadedFile("r.csv", data)
        )
        with CaptureQueriesContext(connection) as ctx:
            result = services.roster_import_run(import_id=upload.pk)
        assert result.created_count == n
        return len(ctx)

    assert queries_for(10) == queries_for(400)


def test_only_plan_admins_import_and_the_import_is_a_durable_deadline(world, client_for):
    assert client_for(world.a_cm).get("/rosters/").status_code == 403
    response = client_for(world.a_admin).post("/rosters/", {"file": SimpleUploadedFile("r.csv", csv_bytes([row()]))})
    assert response.status_code == 302
    roster_import = RosterImport.objects.get()
    assert response["Location"] == f"/rosters/{roster_import.public_id}/"
    assert Deadline.objects.get(kind="roster.import").payload == {"import_id": roster_import.pk}
    page = client_for(world.a_admin).get(response["Location"])
    assert page.status_code == 200 and b"Waiting for a worker" in page.content
    assert b'hx-trigger="every 1s"' in page.content  # the progress bar polls until done


def test_upload_form_rejects_non_csv_with_the_field_named(world, client_for):
    response = client_for(world.a_admin).post("/rosters/", {"file": SimpleUploadedFile("r.xlsx", b"PK..")})
    assert response.status_code == 400
    assert "file" in response.context["form"].errors


def test_api_upload_returns_202_and_the_status_to_poll(world, client_for):
    client = client_for(world.a_admin)
    response = client.post("/api/v1/roster-imports/", {"file": SimpleUploadedFile("r.csv", csv_bytes([row()]))})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["progress"]["percent"] == 0
    services.roster_import_run(import_id=RosterImport.objects.get().pk)
    status = client.get(f"/api/v1/roster-imports/{body['id']}/").json()
    assert status["status"] == "succeeded" and status["created_count"] == 1
    missing = client.post("/api/v1/roster-imports/", {})
    assert missing.status_code == 400 and "file" in missing.json()
    assert client_for(world.a_cm).post("/api/v1/roster-imports/", {}).status_code == 403


def test_running_an_import_twice_is_harmless(world):
    started = services.roster_import_start(
        actor=world.actor(world.a_admin), upload=SimpleUploadedFile("r.csv", csv_bytes([row()]))
    )
    services.roster_import_run(import_id=started.pk)
    again = services.roster_import_run(import_id=started.pk)
    assert again.created_count == 1 and Member.objects.filter(member_number="R0001").count() == 1


def test_loader_reports_columns_once_for_a_bad_header(world):
    result = roster.Result()
    rows = list(roster._rows(io.StringIO("member_id,member_id,foo\n"), result))
    assert rows == []
    assert {e.field for e in result.errors} >= {"member_id", "foo", "last_name"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone": "123"}, "phone"),
        ({"guardian_phone": "55"}, "guardian_phone"),
        ({"middle_name": "M" * 150}, "middle_name"),
        ({"product": "P" * 80}, "product"),
        ({"city": "C" * 120}, "city"),
        ({"ed_visits_12m": "²"}, "ed_visits_12m"),
    ],
)
def test_every_bad_value_is_named_never_blanked(world, fields, field):
    result = run_import(world, csv_bytes([row(**fields)]))
    assert result.status == "rejected"
    assert [(e["row"], e["field"]) for e in result.errors] == [(2, field)]


def test_a_bad_phone_on_reimport_does_not_wipe_the_good_one(world):
    run_import(world, csv_bytes([row(phone="217-555-0100")]))
    assert run_import(world, csv_bytes([row(phone="oops")])).status == "rejected"
    assert Member.objects.get(member_number="R0001").phone == "217-555-0100"


def test_blank_attribution_start_never_rewrites_history(world):
    run_import(world, csv_bytes([row(attribution_start="2025-01-01")]))
    result = run_import(world, csv_bytes([row(practice_npi="1000000002")]))  # monthly file: dates blank
    assert result.status == "succeeded", result.errors
    today = world.plan_a.local_date()
    history = list(
        Member.objects.get(member_number="R0001")
        .attributions.order_by("start_date")
        .values_list("practice__name", "start_date", "end_date")
    )
    assert history == [
        ("Practice One", dt.date(2025, 1, 1), today - dt.timedelta(days=1)),
        ("Practice Two", today, None),
    ]


def test_blank_attribution_start_continues_the_same_practice(world):
    run_import(world, csv_bytes([row(attribution_start="2025-06-01", eligibility_start="2025-01-01")]))
    result = run_import(world, csv_bytes([row(eligibility_start="2025-01-01")]))
    assert (result.status, result.unchanged_count) == ("succeeded", 1), result.errors


def test_an_unfinished_import_whose_worker_died_starts_over(world):
    started = services.roster_import_start(
        actor=world.actor(world.a_admin), upload=SimpleUploadedFile("r.csv", csv_bytes([row()]))
    )
    RosterImport.objects.filter(pk=started.pk).update(status="validating", processed_rows=40)
    result = services.roster_import_run(import_id=started.pk)
    assert (result.status, result.created_count) == ("succeeded", 1)


@pytest.mark.django_db(transaction=True)
def test_two_imports_for_one_plan_at_once_both_apply(world):
    """A per-plan advisory lock serializes the database phase: no constraint errors, no deadlock."""
    import threading

    from django.db import connection as conn

    data = csv_bytes([row(f"C{i:04d}") for i in range(200)])
    ids = [
        services.roster_import_start(actor=world.actor(world.a_admin), upload=SimpleUploadedFile("r.csv", data)).pk
        for _ in range(2)
    ]
    results: dict[int, RosterImport] = {}

    def run(pk: int) -> None:
        results[pk] = services.roster_import_run(import_id=pk)
        conn.close()

    threads = [threading.Thread(target=run, args=(pk,)) for pk in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results.values()) == ["succeeded", "succeeded"]
    assert sorted(r.created_count for r in results.values()) == [0, 200]
    assert Member.objects.filter(member_number__startswith="C").count() == 200
