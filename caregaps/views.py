"""The care-gap pages: the report (by measure and by member) and one gap with its actions."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from caregaps import exports, selectors, services
from caregaps.forms import AdjudicateForm, EvidenceForm, ExclusionForm, ReportFilter, ScheduleForm
from caregaps.models import Status
from caregaps.selectors import GapFilters
from core import uploads
from core.http import action_view, bad_cursor_response, page_args, render_page, staff_view
from core.pagination import BadCursor, paginate


def _filters(request: HttpRequest) -> tuple[ReportFilter, GapFilters]:
    """The report's filters from the URL (a bad value is ignored, the form shows why)."""
    actor = request.actor
    form = ReportFilter(request.GET or None, practices=selectors.narrowing_practices(actor))
    if not form.is_valid():
        return form, GapFilters()
    d = form.cleaned_data
    return form, GapFilters(
        measure=d.get("measure", ""),
        status=d.get("status", ""),
        due_before=d.get("due_before"),
        practice=d.get("practice"),
        provider=d.get("provider", ""),
        new_since=(selectors.last_review(actor) or EPOCH) if d.get("new") else None,
    )


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "new since last review" for someone who never reviewed: all


def _reviewed(new_since: dt.datetime) -> dt.datetime | None:
    return None if new_since == EPOCH else new_since


@staff_view
def gap_report(request: HttpRequest) -> HttpResponse:
    """Counts and closure rate per measure, then the gaps one by one (filters in the URL)."""
    actor = request.actor
    form, f = _filters(request)
    qs = selectors.report(actor, f)
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=selectors.REPORT_ORDER, cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    selectors.mark_enrolled(page.items)
    selectors.audit_rows(actor, page.items, via="care gap report")
    labels = dict(Status.choices)
    for row in page.items:
        row["status_label"] = labels[row["status"]]
    context = {
        "page": page,
        "form": form,
        "filters": f,
        "summary": selectors.measure_summary(actor, f),
        "measures": selectors.measures(actor).order_by("name"),
        # With "new since last review" on, the filter has read it already (EPOCH: never reviewed).
        "last_review": selectors.last_review(actor) if f.new_since is None else _reviewed(f.new_since),
    }
    return render_page(request, "caregaps/report.html", context, partial="rows")


@staff_view
def gap_export(request: HttpRequest) -> StreamingHttpResponse:
    """The report's gaps as CSV, with the page's filters, streamed in chunks (caregaps.exports)."""
    _form, f = _filters(request)
    response = StreamingHttpResponse(exports.csv_lines(request.actor, f), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="care-gaps.csv"'
    return response


@staff_view
def gap_export_xlsx(request: HttpRequest) -> FileResponse:
    _form, f = _filters(request)
    response = FileResponse(
        exports.xlsx_file(request.actor, f),
        as_attachment=True,
        filename="care-gaps.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view
def gap_export_pdf(request: HttpRequest) -> HttpResponse:
    _form, f = _filters(request)
    response = HttpResponse(exports.pdf_bytes(request.actor, f), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="care-gaps.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@staff_view
def gap_report_reviewed(request: HttpRequest) -> HttpResponse:
    """Mark the report reviewed: "new since last review" starts again from now."""
    services.report_mark_reviewed(actor=request.actor)
    messages.success(request, "Marked reviewed. Gaps that arrive from now on show as new.")
    return redirect("caregap-report")


@staff_view
def gap_practices(request: HttpRequest) -> HttpResponse:
    """The plan's view by practice (a practice sees its own row) and closure over the last twelve
    months, with a chart; the measure (and, for the plan, practice) filters in the URL."""
    actor = request.actor
    form, f = _filters(request)
    months = selectors.trends(actor, f)
    context = {
        "form": form,
        "filters": f,
        "rows": selectors.by_practice(actor, f),
        "months": months,
        "measures": selectors.measures(actor).order_by("name"),
    }
    return render_page(request, "caregaps/practices.html", context)


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


@staff_view
def gap_file(request: HttpRequest, gap_id: uuid.UUID, file_id: uuid.UUID) -> FileResponse:
    """A document sent with closure evidence, only through this access check."""
    actor = request.actor
    gap = selectors.access_gap(actor, gap_id)
    item = selectors.access_evidence_file(actor, gap, file_id)
    return uploads.serve(actor, item, object_type="care_gap_file", plan_id=gap.plan_id, member_id=gap.member_id)


def _action(form_class, apply, done: str):
    """One action on a gap (core.http.action_view), back to the gap's page."""
    return action_view(
        access=selectors.access_gap,
        form_class=form_class,
        apply=apply,
        done=done,
        back=lambda request, gap: redirect("caregap-detail", gap_id=gap.public_id),
    )


gap_schedule = _action(
    ScheduleForm, lambda actor, gap, d: services.gap_schedule(actor=actor, gap=gap, **d), "Visit recorded."
)
gap_evidence = _action(
    EvidenceForm,
    lambda actor, gap, d: services.gap_submit_evidence(
        actor=actor, gap=gap, service_date=d["service_date"], code=d["code"], note=d["note"], files=d["files"]
    ),
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
