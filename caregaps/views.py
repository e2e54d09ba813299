"""The care-gap pages: the report (by measure and by member) and one gap with its actions."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from caregaps import selectors, services
from caregaps.forms import AdjudicateForm, EvidenceForm, ExclusionForm, ReportFilter, ScheduleForm
from caregaps.models import Status
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


def _act(request: HttpRequest, gap_id: uuid.UUID, form, apply, done: str) -> HttpResponse:
    gap = selectors.access_gap(request.actor, gap_id)
    submit_form(request, form, lambda data: apply(gap, data), done=done)
    return redirect("caregap-detail", gap_id=gap.public_id)


@require_POST
@staff_view
def gap_schedule(request: HttpRequest, gap_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    return _act(
        request,
        gap_id,
        ScheduleForm(request.POST),
        lambda gap, d: services.gap_schedule(actor=actor, gap=gap, **d),
        "Visit recorded.",
    )


@require_POST
@staff_view
def gap_evidence(request: HttpRequest, gap_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    return _act(
        request,
        gap_id,
        EvidenceForm(request.POST),
        lambda gap, d: services.gap_submit_evidence(actor=actor, gap=gap, **d),
        "Closure evidence sent to the plan.",
    )


@require_POST
@staff_view
def gap_exclusion(request: HttpRequest, gap_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    return _act(
        request,
        gap_id,
        ExclusionForm(request.POST),
        lambda gap, d: services.gap_request_exclusion(actor=actor, gap=gap, **d),
        "Exclusion requested.",
    )


@require_POST
@staff_view
def gap_adjudicate(request: HttpRequest, gap_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    return _act(
        request,
        gap_id,
        AdjudicateForm(request.POST),
        lambda gap, d: services.gap_adjudicate(
            actor=actor, gap=gap, accept=d["decision"] == "accept", reason=d["reason"]
        ),
        "Decision recorded.",
    )
