"""The gap report as CSV, XLSX and a printable PDF: the same rows, filters and audit for all three.

Rows are read in keyset chunks of CHUNK gaps (by id), so memory stays flat however many gaps there
are; each chunk's members are audited as exported before its rows go out. CSV streams chunk by
chunk; XLSX is written in openpyxl's write-only mode (rows go to a temporary file as they come) and
sent from that file; the PDF is for printing and faxing, so it holds at most PDF_MAX_ROWS gaps and
says so when the report has more.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterator

from django.utils import timezone
from openpyxl import Workbook

from caregaps import selectors
from caregaps.models import Status
from caregaps.selectors import GapFilters
from core.audit import Action
from core.pdf import ConfidentialDocument
from organizations.access import Actor

CHUNK = 2000
PDF_MAX_ROWS = 2000
COLUMNS = (
    "member_id",
    "last_name",
    "first_name",
    "measure",
    "measure_name",
    "due_date",
    "status",
    "visit_scheduled",
    "provider_npi",
    "provider_name",
    "enrolled",
)


def chunks(actor: Actor, f: GapFilters, *, via: str, limit: int | None = None) -> Iterator[list[tuple]]:
    """The report's gaps, CHUNK at a time, as rows in COLUMNS order (dates as dates); each chunk's
    members audited as exported (`via` names the format). The permission is checked here, before
    anything is read or sent."""
    return _chunks(selectors.report(actor, f).order_by("id"), actor, via=via, limit=limit)


def _chunks(qs, actor: Actor, *, via: str, limit: int | None) -> Iterator[list[tuple]]:
    last, sent = 0, 0
    while limit is None or sent < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - sent)
        chunk = list(qs.filter(id__gt=last)[:size])
        if not chunk:
            return
        last, sent = chunk[-1]["id"], sent + len(chunk)
        selectors.mark_enrolled(chunk)
        selectors.audit_rows(actor, chunk, via=via, action=Action.EXPORT)
        yield [
            (
                r["member__member_number"],
                r["member__last_name"],
                r["member__first_name"],
                r["measure__code"],
                r["measure__name"],
                r["due_date"],
                r["status"],
                r["scheduled_for"],
                r["provider_npi"],
                r["provider_name"],
                "yes" if r["enrolled"] else "no",
            )
            for r in chunk
        ]


def csv_lines(actor: Actor, f: GapFilters) -> Iterator[str]:
    """The header and then one string per chunk (the header goes alone for an empty report)."""
    return _csv_lines(chunks(actor, f, via="care gap export"))


def _csv_lines(rows: Iterator[list[tuple]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for chunk in rows:
        writer.writerows([v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in chunk)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


def xlsx_file(actor: Actor, f: GapFilters) -> tempfile.SpooledTemporaryFile:
    """The workbook in a temporary file (rewound), one sheet "Care gaps" with a header row and
    real date cells."""
    rows = chunks(actor, f, via="care gap export (XLSX)")  # the permission first, before a workbook is open
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Care gaps")
    sheet.append(COLUMNS)
    for chunk in rows:
        for row in chunk:
            sheet.append(row)
    out = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115 (the response closes it)
    book.save(out)
    out.seek(0)
    return out


def _describe(f: GapFilters) -> str:
    parts = []
    if f.measure:
        parts.append(f"measure {f.measure.upper()}")
    if f.status:
        parts.append("still to close" if f.status == "open" else Status(f.status).label.lower())
    if f.due_before:
        parts.append(f"due by {f.due_before:%b %-d, %Y}")
    if f.practice is not None:
        parts.append(f"patients of {f.practice.name}")
    if f.provider:
        parts.append(f"provider {f.provider}")
    if f.new_since:
        parts.append("new since last review")
    return ", ".join(parts) or "all gaps"


class _Report(ConfidentialDocument):
    footer_text = "Care gap report"


def pdf_bytes(actor: Actor, f: GapFilters) -> bytes:
    """A printable report: the counts per measure, then up to PDF_MAX_ROWS gaps (oldest first)."""
    org = actor.organization
    pdf = _Report(org.name, orientation="landscape")
    pdf.add_page()
    pdf.line(f"Care gaps: {org.name}", 16, "B", 1)
    printed = timezone.localtime(timezone.now(), org.tz)
    pdf.line(f"{_describe(f).capitalize()}. Printed {printed:%b %-d, %Y %H:%M}.", 9, gap=3)
    summary = selectors.measure_summary(actor, f)
    if summary:
        pdf.set_font("Helvetica", size=9)
        with pdf.table(col_widths=(60, 18, 18, 18, 18), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")) as t:
            t.row(["Measure", "Still to close", "Closed", "Excluded", "Closure rate"])
            for m in summary:
                rate = f"{m['rate']}%" if m["rate"] is not None else "-"
                t.row([m["measure__name"], str(m["still_open"]), str(m["closed"]), str(m["excluded"]), rate])
        pdf.ln(4)
    labels = dict(Status.choices)
    shown = 0
    pdf.set_font("Helvetica", size=8)
    with pdf.table(col_widths=(40, 22, 50, 20, 34, 22, 36, 18)) as t:
        t.row(["Member", "Member id", "Measure", "Due", "Status", "Visit", "Provider", "Enrolled"])
        for chunk in chunks(actor, f, via="care gap export (PDF)", limit=PDF_MAX_ROWS):
            for number, last, first, _code, name, due, status, visit, npi, provider, enrolled in chunk:
                t.row(
                    [
                        f"{last}, {first}",
                        number,
                        name,
                        f"{due:%m/%d/%Y}" if due else "-",
                        labels[status],
                        f"{visit:%m/%d/%Y}" if visit else "",
                        provider or npi,
                        enrolled,
                    ]
                )
            shown += len(chunk)
    total = selectors.report(actor, f).count() if shown == PDF_MAX_ROWS else shown
    pdf.ln(3)
    if total > shown:
        pdf.line(
            f"The first {shown:,} of {total:,} gaps are printed. Narrow the filters, or export to CSV or XLSX for all.",
            9,
            "B",
        )
    elif not shown:
        pdf.line("No gaps match.", 10)
    return bytes(pdf.output())
