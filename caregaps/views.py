"""The care-gap pages: the report (by measure and by member) and one gap with its actions."""

from __future__ import annotations

import csv
import io
import uuid

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from caregaps import selectors, services
from caregaps.forms import AdjudicateForm, EvidenceForm, ExclusionForm, ReportFilter, ScheduleForm
from caregaps.models import Status
from core.audit import Action
from core.http import bad_cursor_response, page_args, render_page, staff_view, submit_form
from core.pagination import BadCursor, paginate
from members.selectors import audit_reads


@staff_view
def gap_report(request: HttpRequest) -> HttpResponse:
    """Counts and closure rate per measure, then the gaps one by one (filters in the URL)."""
    actor = request.actor
    form = ReportFilter(request.GET or None)
    args = form.cleaned_data if form.is_valid() else {}
    qs = selectors.report(
        actor, measure=args.get("measure", ""), status=args.get("status", ""), due_before=args.get("due_before")
    )
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=selectors.REPORT_ORDER, cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    shown = {row["member_id"]: row for row in page.items}  # one read per member shown
    audit_reads(
        actor,
        [{"public_id": r["member__public_id"], "plan_id": r["member__plan_id"], "id": pk} for pk, r in shown.items()],
        via="care gap report",
    )
    labels = dict(Status.choices)
    for row in page.items:
        row["status_label"] = labels[row["status"]]
    context = {
        "page": page,
        "form": form,
        "summary": selectors.measure_summary(actor),
        "measures": selectors.measures(actor).order_by("name"),
    }
    return render_page(request, "caregaps/report.html", context, partial="rows")


EXPORT_CHUNK = 2000
EXPORT_COLUMNS = ("member_id", "last_name", "first_name", "measure", "measure_name", "due_date", "status", "enrolled")


@staff_view
def gap_export(request: HttpRequest) -> StreamingHttpResponse:
    """The report's gaps as CSV, with the page's filters. Streamed in keyset chunks of
    EXPORT_CHUNK rows, so memory stays flat however many gaps there are; each chunk's members are
    audited as exported."""
    actor = request.actor
    form = ReportFilter(request.GET or None)
    args = form.cleaned_data if form.is_valid() else {}
    qs = selectors.report(
        actor, measure=args.get("measure", ""), status=args.get("status", ""), due_before=args.get("due_before")
    ).order_by("id")

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        last = 0
        while True:
            chunk = list(qs.filter(id__gt=last)[:EXPORT_CHUNK])
            if not chunk:
                break
            last = chunk[-1]["id"]
            members = {r["member_id"]: r for r in chunk}
            audit_reads(
                actor,
                [
                    {"public_id": r["member__public_id"], "plan_id": r["member__plan_id"], "id": pk}
                    for pk, r in members.items()
                ],
                via="care gap export",
                action=Action.EXPORT,
            )
            for r in chunk:
                writer.writerow(
                    [
                        r["member__member_number"],
                        r["member__last_name"],
                        r["member__first_name"],
                        r["measure__code"],
                        r["measure__name"],
                        r["due_date"].isoformat() if r["due_date"] else "",
                        r["status"],
                        "yes" if r["enrolled"] else "no",
                    ]
                )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if out.tell():
            yield out.getvalue()

    # The header line goes out with the first chunk (or alone, for an empty report).
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="care-gaps.csv"'
    return response


@staff_view
def gap_detail(request: HttpRequest, gap_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    gap = selectors.access_gap(actor, gap_id)
    practice_turn = gap.status in services.PRACTICE_FROM and actor.can("organizations.work_care_gaps")
    plan_turn = gap.status in (Status.EVIDENCE_SUBMITTED, Status.EXCLUSION_REQUESTED) and actor.can(
        "organizations.adjudicate_care_gaps"
    )
    context = {
        "gap": gap,
        "history": selectors.gap_history(gap),
        "practice_turn": practice_turn,
        "plan_turn": plan_turn,
        "schedule_form": ScheduleForm(),
        "evidence_form": EvidenceForm(),
        "exclusion_form": ExclusionForm(),
    }
    return render_page(request, "caregaps/gap.html", context)


def _action(form_class, apply, done: str):
    """A POST-only view for one action on a gap: the gap from the actor's scope (404 outside it),
    the form handed to the service, the result flashed, back to the gap's page."""

    @require_POST
    @staff_view
    def view(request: HttpRequest, gap_id: uuid.UUID) -> HttpResponse:
        actor = request.actor
        gap = selectors.access_gap(actor, gap_id)
        submit_form(request, form_class(request.POST), lambda data: apply(actor, gap, data), done=done)
        return redirect("caregap-detail", gap_id=gap.public_id)

    return view


gap_schedule = _action(
    ScheduleForm, lambda actor, gap, d: services.gap_schedule(actor=actor, gap=gap, **d), "Visit recorded."
)
gap_evidence = _action(
    EvidenceForm,
    lambda actor, gap, d: services.gap_submit_evidence(actor=actor, gap=gap, **d),
    "Closure evidence sent to the plan.",
)
gap_exclusion = _action(
    ExclusionForm,
    lambda actor, gap, d: services.gap_request_exclusion(actor=actor, gap=gap, **d),
    "Exclusion requested.",
)
gap_adjudicate = _action(
    AdjudicateForm,
    lambda actor, gap, d: services.gap_adjudicate(
        actor=actor, gap=gap, accept=d["decision"] == "accept", reason=d["reason"]
    ),
    "Decision recorded.",
)
