"""Referral pages: the plan's queue, a referral, intake, the practice's "My referrals"."""

from __future__ import annotations

import uuid
from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from caseloads.models import Program
from core import audit, uploads
from core.http import (
    apply_service_errors,
    bad_cursor_response,
    filter_controls,
    message_errors,
    page_args,
    render_page,
    staff_view,
    submit_form,
)
from core.pagination import BadCursor, Page, paginate
from members.models import Member
from members.selectors import access_member, member_summary
from members.services import has_care_coordination_consent
from organizations.access import Actor
from organizations.models import Organization
from referrals import selectors, services
from referrals.filters import QueueFilter
from referrals.forms import AssignForm, AttachmentForm, ListUploadForm, MoveForm, OutreachForm, ReferralForm, TriageForm
from referrals.models import ENDINGS, OPEN, Priority, Referral, Source, Status
from referrals.services import Intake, TransitionError

_STATUS_LABELS = dict(Status.choices)
_PRIORITY_LABELS = dict(Priority.choices)
_SOURCE_LABELS = dict(Source.choices)
_PROGRAM_LABELS = dict(Program.choices)


def _due_in(left) -> str:
    """'3 h' or '2 d': the badge text (Django's timeuntil filter costs more than the rest of a row)."""
    hours = int(left.total_seconds() // 3600)
    return f"{max(hours, 1)} h" if hours < 48 else f"{hours // 24} d"


def _deadline_badge(due, missed: int, now) -> str:
    """The deadline cell's pill: overdue, due in (its time as the title), or the count missed.
    Written here rather than in the template: its branches cost a queue row more than the rest."""
    if due is not None:
        if due < now:
            return mark_safe('<span class="pill bad">overdue</span>')
        when = date_format(timezone.localtime(due), "DATETIME_FORMAT")
        return format_html('<span class="pill warn" title="{}">due in {}</span>', when, _due_in(due - now))
    return format_html('<span class="pill">{} missed</span>', missed) if missed else ""


def _queue_rows(rows: list[dict]) -> list[dict]:
    """Preformatted queue rows: plain dicts with each cell's text ready, so a row costs the
    template a few lookups (see members.views._list_rows)."""
    base = reverse("referral-queue")
    now = timezone.now()
    out = []
    for r in rows:
        practice = r["referring_practice__name"]
        out.append(
            {
                "id": r["public_id"],
                "url": f"{base}{r['public_id']}/",
                "member": f"{r['member__last_name']}, {r['member__first_name']}",
                "sub": f"{r['member__member_number']} · {practice}" if practice else r["member__member_number"],
                "status": r["status"],
                "status_label": _STATUS_LABELS[r["status"]],
                "priority": _PRIORITY_LABELS.get(r["priority"], "Urgent (untriaged)" if r["queue_rank"] == 1 else "—"),
                "rank": r["queue_rank"],
                "program": _PROGRAM_LABELS.get(r["program"], "—"),
                "source": _SOURCE_LABELS[r["source"]],
                "assignee": f"{r['assigned_to__first_name']} {r['assigned_to__last_name']}"
                if r["assigned_to_id"]
                else "—",
                "age": f"{(now - r['submitted_at']).days} d",
                "badge": _deadline_badge(r["due_at"], r["missed_deadlines"], now),
            }
        )
    return out


def queue_context(actor: Actor, filterset: QueueFilter, page: Page, counts: dict[str, int]) -> dict:
    """What the queue template gets, from one page of row dicts and the per-status counts."""
    can_assign = actor.can("organizations.assign_referrals")
    return {
        "filterset": filterset,
        "filter_controls": partial(filter_controls, filterset.form),  # only the whole page shows them
        "page": page,
        "rows": _queue_rows(page.items),
        "counts": [(s, _STATUS_LABELS[s], counts[s]) for s in OPEN],
        "staff": selectors.care_staff(actor) if can_assign else [],
        "can_assign": can_assign,
        "can_claim": actor.can("organizations.claim_referrals"),
    }


@staff_view
def queue(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not actor.is_plan_staff:
        raise PermissionDenied("The referral queue is the plan's; your practice's referrals are under My referrals.")
    base = selectors.referrals(actor)
    filterset = QueueFilter(request.GET, queryset=base, request=request)
    if not filterset.is_valid():
        qs, closed = base.none(), False
    else:
        qs, closed = filterset.qs, filterset.closed
    cursor, size = page_args(request)
    try:
        page = selectors.queue_page(qs, closed=closed, cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    counts = selectors.status_counts(filterset.without_status() if filterset.is_valid() else base.none())
    context = queue_context(actor, filterset, page, counts)
    return render_page(request, "referrals/queue.html", context, partial="queue-rows")


@staff_view
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign or claim the selected referrals. Each one is its own move: the ones that cannot be
    moved are listed, the others are done."""
    actor = request.actor
    ids = []
    for raw in request.POST.getlist("referrals"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            messages.error(request, f"{raw!r} is not a referral id.")
    action = request.POST.get("action")
    assignee = None
    if action == "assign":
        form = AssignForm(request.POST, staff=selectors.care_staff(actor))
        if not form.is_valid():
            messages.error(request, "Choose a care manager to assign to.")
            return redirect(request.POST.get("next") or reverse("referral-queue"))
        assignee = form.cleaned_data["assignee"]
    elif action != "claim":
        messages.error(request, "Choose assign or claim.")
        return redirect(request.POST.get("next") or reverse("referral-queue"))
    done, problems = 0, []
    for referral in selectors.referrals(actor).filter(public_id__in=ids):
        try:
            if action == "claim":
                services.referral_claim(actor=actor, referral=referral)
            elif referral.status in (Status.ASSIGNED, Status.OUTREACH):
                services.referral_reassign(actor=actor, referral=referral, assignee=assignee)
            else:
                services.referral_transition(actor=actor, referral=referral, to=Status.ASSIGNED, assignee=assignee)
            done += 1
        except (ValidationError, PermissionDenied) as exc:
            problems.append(f"{referral.member}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
    if done:
        messages.success(
            request, f"{done} referral{'s' if done != 1 else ''} {'claimed' if action == 'claim' else 'assigned'}."
        )
    for problem in problems:
        messages.error(request, problem)
    next_url = request.POST.get("next", "")
    return redirect(next_url if next_url.startswith("/referrals/") else reverse("referral-queue"))


@staff_view
def sent(request: HttpRequest) -> HttpResponse:
    """My referrals: what the practice sent, what became of each, who the care manager is."""
    actor = request.actor
    if not actor.is_practice_staff:
        return redirect("referral-queue")
    qs = selectors.referrals(actor).select_related("member", "assigned_to", "plan", "linked_to__assigned_to")
    cursor, size = page_args(request, default_size=25)
    try:
        page = paginate(qs, ordering=("-submitted_at", "-id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    rows = []
    for referral in page.items:
        shown = referral.linked_to if referral.status == Status.LINKED and referral.linked_to_id else referral
        rows.append({"referral": referral, "shown": shown, "next_step": services.next_step(shown)})
    return render_page(request, "referrals/sent.html", {"page": page, "rows": rows})


@staff_view
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    member_id = request.GET.get("member") or request.POST.get("member")
    try:
        member = access_member(actor, uuid.UUID(str(member_id)), via="referral intake")
    except (ValueError, TypeError):
        return render_page(
            request,
            "error.html",
            {"title": "Choose a member", "message": "Open the member's page and choose Refer."},
            status=400,
        )
    practices = Organization.objects.visible_to(actor).of_kind(Organization.Kind.PRACTICE)
    form = ReferralForm(
        request.POST or None, request.FILES or None, practice_user=actor.is_practice_staff, practices=practices
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        intake = Intake(
            reason=data["reason"],
            urgency=data["urgency"],
            diagnoses=data["diagnoses"],
            recent_utilization=data["recent_utilization"],
            clinical_context=data["clinical_context"],
            contact_method=data["contact_method"],
            contact_time=data["contact_time"],
        )
        try:
            referral = services.referral_create(
                actor=actor,
                member=member,
                source=data.get("source", Source.PRACTICE),
                intake=intake,
                referring_practice=data.get("referring_practice"),
                attachments=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if referral.status == Status.LINKED:
                messages.info(request, "The member already has an open case; this referral was added to it.")
            else:
                messages.success(request, "Referral sent.")
            return redirect("referral-detail", referral_id=referral.public_id)
    return render_page(
        request, "referrals/new.html", {"form": form, "member": member}, status=400 if form.errors else 200
    )


@staff_view
def detail(request: HttpRequest, referral_id) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    audit.record(
        actor=actor,
        action=audit.Action.READ,
        object_type="referral",
        object_id=referral.public_id,
        plan_id=referral.plan_id,
        member_id=referral.member_id,
    )
    view = selectors.referral_view(actor, referral)
    closing_moves = [m for m in services.allowed_moves(referral) if m in (*ENDINGS, Status.ACKNOWLEDGED)]
    member = referral.member
    # The member summary as this viewer may see it: a practice whose patient has moved on sees
    # the referral it made, but no longer the member's record.
    summary = member_summary(actor, member) if Member.objects.visible_to(actor).filter(pk=member.pk).exists() else None
    context = {
        "summary": summary,
        "outreach_consent": summary is not None
        and actor.is_plan_staff
        and has_care_coordination_consent(member=member),
        "view": view,
        "referral": referral,
        "next_step": services.next_step(referral),
        "due_label": services.STEP_LABELS.get(referral.due_step, ""),
        "overdue": referral.due_at is not None and referral.due_at < timezone.now(),
        "assigned_stage": referral.status in (Status.ASSIGNED, Status.OUTREACH),
        # Endings, and reopening one (back to triage); the other moves have their own forms.
        "move_choices": [
            (m, "Reopen (back to triage)" if m == Status.ACKNOWLEDGED else Status(m).label)
            for m in closing_moves
            if m != Status.ACKNOWLEDGED or referral.status in ENDINGS
        ]
        if actor.is_plan_staff
        else [],
    }
    if actor.is_plan_staff:
        staff = selectors.care_staff(actor)
        context.update(
            {
                "triage_form": TriageForm(),
                "move_form": MoveForm(),
                "assign_form": AssignForm(staff=staff),
                "outreach_form": OutreachForm(),
                "suggestions": selectors.suggestions(actor, referral) if referral.status == Status.TRIAGED else [],
                "can_assign": actor.can("organizations.assign_referrals"),
                "can_claim": actor.can("organizations.claim_referrals") and referral.status == Status.TRIAGED,
                "can_triage": actor.can("organizations.triage_referrals"),
                "can_work": actor.can("organizations.work_referrals")
                and (referral.assigned_to_id == actor.user.pk or actor.can("organizations.assign_referrals")),
            }
        )
    context["attachment_form"] = AttachmentForm()
    context["can_attach"] = (actor.is_plan_staff and actor.can("organizations.record_referrals")) or (
        actor.is_practice_staff and referral.is_open
    )
    context["can_cancel"] = actor.is_practice_staff and referral.status in (Status.SUBMITTED, Status.ACKNOWLEDGED)
    return render_page(request, "referrals/detail.html", context)


def _redirect_back(referral: Referral) -> HttpResponse:
    return redirect("referral-detail", referral_id=referral.public_id)


def _report(request: HttpRequest, error: ValidationError) -> None:
    message_errors(request, error)
    if isinstance(error, TransitionError) and error.allowed:
        messages.info(request, "Possible next: " + ", ".join(Status(s).label.lower() for s in error.allowed) + ".")


@staff_view
@require_POST
def transition(request: HttpRequest, referral_id) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    to = request.POST.get("to", "")
    submit_form(
        request,
        TriageForm(request.POST) if to == Status.TRIAGED else MoveForm(request.POST),
        lambda data: services.referral_transition(
            actor=actor,
            referral=referral,
            to=to,
            reason=data.get("reason", ""),
            internal_note=data.get("internal_note", ""),
            priority=data.get("priority"),
            program=data.get("program", ""),
            skill_needed=data.get("skill_needed", ""),
            acuity=data.get("acuity", ""),
        ),
        done=lambda moved: f"Referral {moved.get_status_display().lower()}.",
        report=_report,
    )
    return _redirect_back(referral)


@staff_view
@require_POST
def assign(request: HttpRequest, referral_id) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    actor.require("organizations.assign_referrals")

    def apply(data):
        if referral.status in (Status.ASSIGNED, Status.OUTREACH):
            return services.referral_reassign(
                actor=actor, referral=referral, assignee=data["assignee"], reason=data["reason"]
            )
        return services.referral_transition(
            actor=actor, referral=referral, to=Status.ASSIGNED, assignee=data["assignee"]
        )

    submit_form(
        request,
        AssignForm(request.POST, staff=selectors.care_staff(actor)),
        apply,
        done=lambda moved: f"Assigned to {moved.assigned_to}.",
        report=_report,
    )
    return _redirect_back(referral)


@staff_view
@require_POST
def claim(request: HttpRequest, referral_id) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    try:
        services.referral_claim(actor=actor, referral=referral)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, "The referral is yours.")
    return _redirect_back(referral)


@staff_view
@require_POST
def outreach(request: HttpRequest, referral_id) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    submit_form(
        request,
        OutreachForm(request.POST),
        lambda data: services.outreach_log(actor=actor, referral=referral, **data),
        done="Outreach attempt logged.",
        report=_report,
    )
    return _redirect_back(referral)


@staff_view
@require_POST
def attach(request: HttpRequest, referral_id) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    submit_form(
        request,
        AttachmentForm(request.POST, request.FILES),
        lambda data: services.referral_attach(actor=actor, referral=referral, upload=data["file"]),
        done="File attached.",
        report=_report,
    )
    return _redirect_back(referral)


@staff_view
def attachment(request: HttpRequest, referral_id, attachment_id) -> HttpResponse:
    """Serve a file only through this access check: never from a public URL."""
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    item = selectors.access_attachment(actor, referral, attachment_id)
    return uploads.serve(
        actor, item, object_type="referral_attachment", plan_id=referral.plan_id, member_id=referral.member_id
    )


@staff_view
@require_POST
def cancel(request: HttpRequest, referral_id) -> HttpResponse:
    """A practice withdraws its own referral before triage."""
    actor = request.actor
    referral = selectors.access_referral(actor, referral_id)
    try:
        services.referral_transition(
            actor=actor, referral=referral, to=Status.CANCELLED, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, "Referral cancelled.")
    return _redirect_back(referral)


@staff_view
@require_http_methods(["GET", "POST"])
def lists(request: HttpRequest) -> HttpResponse:
    """Create referrals from a predictive model's list of members."""
    actor = request.actor
    actor.require("organizations.import_referral_lists")
    form = ListUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = services.referral_list_import(
            actor=actor, upload=form.cleaned_data["file"], reason=form.cleaned_data["reason"]
        )
        if not result.errors:
            messages.success(request, f"{result.created} referrals created, {result.linked} linked to open cases.")
    return render_page(
        request,
        "referrals/lists.html",
        {"form": form, "result": result},
        status=400 if (form.errors or (result and result.errors)) else 200,
    )
