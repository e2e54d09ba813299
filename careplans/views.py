"""Care plan pages: the plan of a member (as the viewer may see it), its edit forms, the version
history, the practice's acknowledgement and interventions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from careplans import phq9, printable, selectors, services
from careplans.forms import (
    AnswerForm,
    AssessmentForm,
    CoordinationNoticeForm,
    GoalForm,
    GoalProgressForm,
    InterventionForm,
    NotesForm,
    PracticeInterventionForm,
    ProblemForm,
    RecordRequestForm,
)
from careplans.models import (
    Domain,
    Goal,
    GoalPriority,
    GoalProgress,
    Intervention,
    InterventionStatus,
    OwnerKind,
    Problem,
    RecordRequest,
)
from core import audit, uploads
from core.http import (
    apply_service_errors,
    bad_cursor_response,
    message_errors,
    page_args,
    render_page,
    staff_view,
    submit_form,
)
from core.pagination import BadCursor, paginate
from members.selectors import access_member, audit_reads
from organizations.models import Organization

ITEMS = {
    "problem": (Problem, ProblemForm, services.problem_save),
    "goal": (Goal, GoalForm, services.goal_save),
    "intervention": (Intervention, InterventionForm, services.intervention_save),
}


def _back(member) -> HttpResponse:
    return redirect("careplan-detail", member_id=member.public_id)


def _page_context(actor, member, care_plan) -> dict:
    view = selectors.careplan_view(actor, care_plan) if care_plan is not None else None
    can_edit = actor.is_plan_staff and actor.can("organizations.edit_careplans")
    return {
        "member": member,
        "care_plan": care_plan,
        "view": view,
        "can_edit": can_edit,
        "can_acknowledge": care_plan is not None
        and actor.is_practice_staff
        and actor.can("organizations.acknowledge_careplans"),
        "progress_choices": GoalProgress.choices,
        "can_request": actor.is_plan_staff and actor.can("organizations.request_records"),
        "notices": selectors.coordination_notices(actor, member) if actor.is_plan_staff else [],
        "notice_form": CoordinationNoticeForm(initial={"notified_on": member.plan.local_date()}) if can_edit else None,
    }


@staff_view
def detail(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan")
    return render_page(request, "careplans/detail.html", _page_context(actor, member, care_plan), partial="plan-items")


@staff_view
@require_POST
def start(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member, _ = selectors.access_member_care_plan(actor, member_id, via="care plan start")
    services.careplan_start(actor=actor, member=member)
    messages.success(request, "Care plan started.")
    return _back(member)


@staff_view
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, member_id, kind: str, item_id=None) -> HttpResponse:
    """Add (no item id) or change a problem, goal or intervention."""
    actor = request.actor
    model, form_class, save = ITEMS[kind]
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via=f"care plan {kind}")
    care_plan = selectors.require_care_plan(care_plan)
    item = selectors.access_item(actor, care_plan, model, item_id) if item_id else None
    actor.require("organizations.edit_careplans")
    initial = {}
    if item is None and kind == "problem" and request.GET.get("domain") in Domain.values:
        initial["domain"] = request.GET["domain"]
    if item is None and kind == "goal" and request.GET.get("problem"):
        initial["problem"] = request.GET["problem"]
    if item is None and kind == "intervention" and request.GET.get("goal"):
        initial["goal"] = request.GET["goal"]
    form = form_class(request.POST or None, instance=item, care_plan=care_plan, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save(actor=actor, care_plan=care_plan, values=form.cleaned_data, **{kind: item})
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"{kind.capitalize()} {'saved' if item else 'added'}.")
            return _back(member)
    context = {"member": member, "care_plan": care_plan, "form": form, "kind": kind, "item": item}
    return render_page(request, "careplans/item_form.html", context, status=400 if form.errors else 200)


@staff_view
@require_POST
def item_remove(request: HttpRequest, member_id, kind: str, item_id) -> HttpResponse:
    actor = request.actor
    model = ITEMS[kind][0]
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via=f"care plan {kind} remove")
    care_plan = selectors.require_care_plan(care_plan)
    item = selectors.access_item(actor, care_plan, model, item_id)
    try:
        services.item_remove(actor=actor, care_plan=care_plan, item=item)
    except ValidationError as error:
        message_errors(request, error)
    else:
        messages.success(request, f"{kind.capitalize()} removed.")
    return _back(member)


@staff_view
@require_POST
def goal_progress(request: HttpRequest, member_id, goal_id) -> HttpResponse:
    """Record a goal's progress from the care plan page (htmx: the plan's items come back)."""
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan goal progress")
    care_plan = selectors.require_care_plan(care_plan)
    goal = selectors.access_item(actor, care_plan, Goal, goal_id)
    form = GoalProgressForm(request.POST)
    error = None
    if not form.is_valid():
        error = ValidationError(form.errors)
    else:
        try:
            services.goal_save(actor=actor, care_plan=care_plan, goal=goal, values=form.cleaned_data)
        except ValidationError as exc:
            error = exc
    if not request.htmx:
        if error is not None:
            message_errors(request, error)
        return _back(member)
    # htmx swaps only 2xx answers: the error comes back inside the re-rendered items.
    care_plan.refresh_from_db()
    context = _page_context(actor, member, care_plan)
    if error is not None:
        context["progress_errors"] = [
            f"{name.replace('_', ' ').capitalize()}: {' '.join(problems)}"
            for name, problems in getattr(error, "message_dict", {"goal": error.messages}).items()
        ]
    return render_page(request, "careplans/detail.html", context, partial="plan-items")


@staff_view
@require_http_methods(["GET", "POST"])
def notes(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan notes")
    care_plan = selectors.require_care_plan(care_plan)
    actor.require("organizations.edit_careplans")
    if not actor.is_plan_staff:
        raise PermissionDenied("Barriers and strengths are the plan's own notes.")
    form = NotesForm(request.POST or None, initial={"barriers": care_plan.barriers, "strengths": care_plan.strengths})
    if request.method == "POST" and form.is_valid():
        services.careplan_notes_save(actor=actor, care_plan=care_plan, **form.cleaned_data)
        messages.success(request, "Barriers and strengths saved.")
        return _back(member)
    context = {"member": member, "care_plan": care_plan, "form": form, "kind": "notes", "item": None}
    return render_page(request, "careplans/item_form.html", context, status=400 if form.errors else 200)


@staff_view
@require_POST
def review(request: HttpRequest, member_id) -> HttpResponse:
    """Record a review of the plan with the member; the next one comes due in 90 days."""
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan review")
    care_plan = selectors.require_care_plan(care_plan)
    try:
        care_plan = services.careplan_review_record(actor=actor, care_plan=care_plan, note=request.POST.get("note", ""))
    except ValidationError as error:
        message_errors(request, error)
    else:
        messages.success(request, f"Review recorded. Next review due {care_plan.next_review_on:%b %-d, %Y}.")
    return _back(member)


@staff_view
@require_POST
def coordination_notice(request: HttpRequest, member_id) -> HttpResponse:
    """Record that the member or guardian was told coordination is happening."""
    actor = request.actor
    member = access_member(actor, member_id, via="coordination notice")
    actor.require("organizations.edit_careplans")
    submit_form(
        request,
        CoordinationNoticeForm(request.POST),
        lambda data: services.coordination_notice_record(actor=actor, member=member, **data),
        done="Coordination notice recorded.",
    )
    return _back(member)


@staff_view
@require_POST
def acknowledge(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan acknowledge")
    care_plan = selectors.require_care_plan(care_plan)
    ack = services.careplan_acknowledge(actor=actor, care_plan=care_plan)
    messages.success(request, f"Shared care plan version {ack.version} acknowledged.")
    return _back(member)


@staff_view
@require_http_methods(["GET", "POST"])
def practice_intervention(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan practice intervention")
    care_plan = selectors.require_care_plan(care_plan)
    actor.require("organizations.acknowledge_careplans")
    form = PracticeInterventionForm(request.POST or None, care_plan=care_plan, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            services.practice_intervention_add(actor=actor, care_plan=care_plan, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Intervention added; the care manager has been told.")
            return _back(member)
    context = {"member": member, "care_plan": care_plan, "form": form, "kind": "practice intervention", "item": None}
    return render_page(request, "careplans/item_form.html", context, status=400 if form.errors else 200)


def _plain(actor, member_id, via: str):
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via=via)
    care_plan = selectors.require_care_plan(care_plan)
    view = selectors.careplan_view(actor, care_plan)
    manager = services.care_manager_of(care_plan)
    contact = ""
    if manager is not None:
        contact = manager.get_full_name() + (f", {manager.phone}" if manager.phone else "")
    return member, care_plan, printable.plain_plan(view, care_manager=contact)


def _audit_export(actor, care_plan, summary: str) -> None:
    audit.record(
        actor=actor,
        action=audit.Action.EXPORT,
        object_type="care_plan",
        object_id=care_plan.public_id,
        plan_id=care_plan.plan_id,
        member_id=care_plan.member_id,
        summary=summary,
    )


@staff_view
def print_page(request: HttpRequest, member_id) -> HttpResponse:
    """The plan in plain language, styled for paper, as this viewer may see it."""
    actor = request.actor
    member, care_plan, plan = _plain(actor, member_id, via="care plan print")
    _audit_export(actor, care_plan, "Printable care plan")
    response = render(request, "careplans/print.html", {"member": member, "care_plan": care_plan, "plan": plan})
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view
def pdf(request: HttpRequest, member_id) -> HttpResponse:
    """The same plain-language plan as a PDF, to fax."""
    actor = request.actor
    member, care_plan, plan = _plain(actor, member_id, via="care plan pdf")
    _audit_export(actor, care_plan, "Care plan PDF")
    body = printable.render_pdf(plan, sender=actor.organization.name)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="care-plan-{member.member_number}-v{plan.version}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


_LABELS = {
    "domain": dict(Domain.choices),
    "priority": dict(GoalPriority.choices),
    "progress": dict(GoalProgress.choices),
    "owner_kind": dict(OwnerKind.choices),
    "status": dict(InterventionStatus.choices),
}


def _labelled(rows: list[dict]) -> list[dict]:
    return [
        {
            **row,
            **{f"{name}_label": labels.get(row[name], row[name]) for name, labels in _LABELS.items() if name in row},
        }
        for row in rows
    ]


@staff_view
def version_list(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan history")
    care_plan = selectors.require_care_plan(care_plan)
    context = {"member": member, "care_plan": care_plan, "versions": selectors.versions(actor, care_plan)}
    return render_page(request, "careplans/versions.html", context)


@staff_view
def version_detail(request: HttpRequest, member_id, version: int) -> HttpResponse:
    actor = request.actor
    member, care_plan = selectors.access_member_care_plan(actor, member_id, via="care plan version")
    care_plan = selectors.require_care_plan(care_plan)
    found = selectors.access_version(actor, care_plan, version)
    doc = found.snapshot
    context = {
        "member": member,
        "care_plan": care_plan,
        "version": found,
        "problems": _labelled(doc.get("problems", [])),
        "goals": _labelled(doc.get("goals", [])),
        "interventions": _labelled(doc.get("interventions", [])),
        "doc": doc,
    }
    return render_page(request, "careplans/version.html", context)


# Assessments ------------------------------------------------------------------------------------


@staff_view
@require_http_methods(["GET", "POST"])
def assessment_list(request: HttpRequest, member_id) -> HttpResponse:
    """The member's assessments and the form for a new one."""
    actor = request.actor
    member = access_member(actor, member_id, via="assessments")
    found = selectors.assessments(actor, member)
    can_edit = actor.can("organizations.edit_careplans")
    form = AssessmentForm(request.POST or None, initial={"assessed_on": member.plan.local_date()})
    if request.method == "POST":
        actor.require("organizations.edit_careplans")
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k in services.ASSESSMENT_FIELDS}
            try:
                assessment = services.assessment_record(
                    actor=actor, member=member, values=values, phq9_answers=form.cleaned_data["phq9_answers"]
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Assessment recorded.")
                return redirect("assessment-detail", member_id=member.public_id, assessment_id=assessment.public_id)
    context = {"member": member, "assessments": found, "form": form, "can_edit": can_edit}
    return render_page(request, "careplans/assessments.html", context, status=400 if form.errors else 200)


@staff_view
def assessment_detail(request: HttpRequest, member_id, assessment_id) -> HttpResponse:
    actor = request.actor
    member = access_member(actor, member_id, via="assessment")
    assessment = selectors.access_assessment(actor, member, assessment_id)
    context = {
        "member": member,
        "assessment": assessment,
        "can_edit": actor.can("organizations.edit_careplans"),
        "offers": selectors.assessment_offers(actor, assessment),
        "panel_loinc": phq9.PANEL_LOINC,
        "total_loinc": phq9.TOTAL_LOINC,
    }
    return render_page(request, "careplans/assessment.html", context)


@staff_view
@require_POST
def assessment_add_problem(request: HttpRequest, member_id, assessment_id) -> HttpResponse:
    """One click: the behavioral problem a moderate-or-worse PHQ-9 points to, on the care plan."""
    actor = request.actor
    member = access_member(actor, member_id, via="assessment to care plan")
    assessment = selectors.access_assessment(actor, member, assessment_id)
    try:
        problem = services.assessment_add_problem(
            actor=actor, assessment=assessment, need=request.POST.get("need", "depression")
        )
    except ValidationError as error:
        message_errors(request, error)
        return redirect("assessment-detail", member_id=member.public_id, assessment_id=assessment.public_id)
    messages.success(request, "Added to the care plan; agree a goal for it with the member.")
    return redirect(f"{reverse('careplan-detail', args=[member.public_id])}#problem-{problem.public_id}")


# Requests for information -----------------------------------------------------------------------


@staff_view
def record_request_list(request: HttpRequest) -> HttpResponse:
    """The plan's requests for records, or (for a practice) the requests addressed to it; open
    ones by default, soonest due first."""
    actor = request.actor
    qs = selectors.record_requests(actor)
    status = request.GET.get("status", RecordRequest.Status.OPEN)
    if status in RecordRequest.Status.values:
        qs = qs.filter(status=status)
    ordering = ("due_on", "id") if status == RecordRequest.Status.OPEN else ("-requested_at", "-id")
    cursor, size = page_args(request, default_size=25)
    try:
        page = paginate(qs, ordering=ordering, cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    audit_reads(actor, [r.member for r in page.items], via="record request list", action=audit.Action.LIST)
    context = {"page": page, "status": status, "statuses": RecordRequest.Status.choices}
    return render_page(request, "careplans/record_requests.html", context)


@staff_view
@require_http_methods(["GET", "POST"])
def record_request_new(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = access_member(actor, member_id, via="record request")
    actor.require("organizations.request_records")
    practices = Organization.objects.visible_to(actor).of_kind(Organization.Kind.PRACTICE).order_by("name")
    current = selectors.current_practice(actor, member)
    form = RecordRequestForm(
        request.POST or None, practices=practices, initial={"practice": current.public_id if current else None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            found = services.record_request_create(actor=actor, member=member, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Records requested from {found.practice.name}.")
            return redirect("record-request-detail", request_id=found.public_id)
    context = {"member": member, "form": form}
    return render_page(request, "careplans/record_request_new.html", context, status=400 if form.errors else 200)


@staff_view
def record_request_detail(request: HttpRequest, request_id) -> HttpResponse:
    actor = request.actor
    found = selectors.access_record_request(actor, request_id)
    audit_reads(actor, [found.member], via="record request")
    context = {
        "req": found,
        "files": selectors.record_request_files(actor, found),
        "form": AnswerForm(),
        "can_answer": actor.is_practice_staff
        and found.status == RecordRequest.Status.OPEN
        and actor.can("organizations.answer_record_requests"),
    }
    return render_page(request, "careplans/record_request.html", context)


@staff_view
@require_POST
def record_request_answer(request: HttpRequest, request_id) -> HttpResponse:
    actor = request.actor
    found = selectors.access_record_request(actor, request_id)
    form = AnswerForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.record_request_answer(
                actor=actor, request=found, notes=form.cleaned_data["notes"], files=form.cleaned_data["files"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Answer sent to the plan.")
            return redirect("record-request-detail", request_id=found.public_id)
    context = {"req": found, "files": selectors.record_request_files(actor, found), "form": form, "can_answer": True}
    return render_page(request, "careplans/record_request.html", context, status=400)


@staff_view
def record_request_file(request: HttpRequest, request_id, file_id) -> HttpResponse:
    """Serve a file only through this access check: never from a public URL."""
    actor = request.actor
    found = selectors.access_record_request(actor, request_id)
    item = selectors.access_record_request_file(actor, found, file_id)
    return uploads.serve(
        actor, item, object_type="record_request_file", plan_id=found.plan_id, member_id=found.member_id
    )


@staff_view
def reviews(request: HttpRequest) -> HttpResponse:
    """Care plans due for review in the next two weeks, and overdue ones first."""
    actor = request.actor
    mine = request.GET.get("mine") == "1"
    qs = selectors.reviews_due(actor, mine=mine)
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=("next_review_on", "id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    audit_reads(actor, [c.member for c in page.items], via="care plan reviews", action=audit.Action.LIST)
    today = actor.organization.local_date()
    context = {"page": page, "mine": mine, "today": today, "horizon": selectors.REVIEW_HORIZON_DAYS}
    return render_page(request, "careplans/reviews.html", context)
