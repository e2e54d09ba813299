"""ADT review queue (unmatched or ambiguous messages, worked by plan staff); transition episodes:
the worklists of plan and practice, an episode with its deadlines and visits, and the rates."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.http import bad_cursor_response, message_errors, page_args, render_page, staff_view, submit_form
from core.pagination import BadCursor, paginate
from members.models import Member
from members.selectors import audit_reads
from organizations.models import Organization
from transitions import episodes as episode_services
from transitions import selectors, services
from transitions.forms import (
    AppointmentForm,
    DischargeInfoForm,
    MedRecForm,
    OutcomeForm,
    OutreachForm,
    RatesFilter,
    TransportForm,
    WorklistFilter,
)
from transitions.models import Appointment, EpisodeStep


@staff_view
def review_queue(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    qs = selectors.review_queue(actor)
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=selectors.QUEUE_ORDER, cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    return render_page(request, "transitions/review_queue.html", {"page": page})


@staff_view
def review_detail(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    message = selectors.access_adt_message(actor, message_id)
    candidates = selectors.review_candidates(actor, message) if message.status == "needs_review" else []
    shown = [*candidates, *([message.member] if message.member else [])]
    audit_reads(actor, shown, via="ADT review")
    context = {
        "message": message,
        "candidates": candidates,
        "raw_lines": message.raw.replace("\r\n", "\r").replace("\n", "\r").split("\r"),
    }
    return render_page(request, "transitions/review_detail.html", context)


@staff_view
@require_POST
def review_match(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    message = selectors.access_adt_message(actor, message_id)
    member_ref = request.POST.get("member", "").strip()
    try:
        member_uuid = uuid.UUID(member_ref)
    except ValueError:
        member_uuid = None
    lookup = {"public_id": member_uuid} if member_uuid else {"member_number": member_ref}
    if not member_ref:
        messages.error(request, "Member: choose a member or enter a member id.")
        return redirect("adt-review-detail", message_id=message.public_id)
    member = Member.objects.visible_to(actor).filter(**lookup).first()
    if member is None:
        messages.error(request, f"Member: no member of your plan has the id {member_ref!r}.")
        return redirect("adt-review-detail", message_id=message.public_id)
    try:
        services.adt_message_match(actor=actor, message=message, member=member, note=request.POST.get("note", ""))
    except ValidationError as exc:
        message_errors(request, exc)
        return redirect("adt-review-detail", message_id=message.public_id)
    messages.success(request, f"Matched to {member.full_name} and applied.")
    return redirect("adt-review-queue")


@staff_view
@require_POST
def review_dismiss(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    message = selectors.access_adt_message(actor, message_id)
    try:
        services.adt_message_dismiss(actor=actor, message=message, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        message_errors(request, exc)
        return redirect("adt-review-detail", message_id=message.public_id)
    messages.success(request, "Dismissed from your plan's review queue.")
    return redirect("adt-review-queue")


# ---- Transition episodes --------------------------------------------------------------------------


def _practices(actor):
    return Organization.objects.visible_to(actor).filter(kind=Organization.Kind.PRACTICE).order_by("name")


@staff_view
def episode_worklist(request: HttpRequest) -> HttpResponse:
    """Open episodes by due date, overdue first: the plan's (all, or a care manager's own), or a
    practice's attributed patients."""
    actor = request.actor
    form = WorklistFilter(request.GET or None)
    args = form.cleaned_data if form.is_valid() else {}
    qs = selectors.episode_worklist(
        actor,
        mine=bool(args.get("mine")),
        practice=str(args["practice"]) if args.get("practice") else "",
        overdue=bool(args.get("overdue")),
    )
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=selectors.EPISODE_ORDER, cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    kinds = dict(EpisodeStep.Kind.choices)
    for row in page.items:
        row["next_label"] = kinds.get(row["next_kind"], "")
    context = {
        "page": page,
        "form": form,
        "now": timezone.now(),
        "practices": _practices(actor) if actor.is_plan_staff else [],
    }
    return render_page(request, "transitions/worklist.html", context, partial="rows")


@staff_view
def episode_detail(request: HttpRequest, episode_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    episode = selectors.access_episode(actor, episode_id)
    tz = episode.plan.tz
    appointments = selectors.episode_appointments(actor, episode)
    context = {
        "episode": episode,
        "steps": selectors.episode_steps(actor, episode),
        "appointments": appointments,
        "show_discharge_info": selectors.discharge_info_visible(actor, episode),
        "can_work": actor.can("organizations.work_transitions") and episode.status != "cancelled",
        "now": timezone.now(),
        "outreach_form": OutreachForm(initial={"made_at": timezone.localtime().replace(second=0, microsecond=0)}),
        "discharge_form": DischargeInfoForm(initial={"summary": episode.discharge_info}),
        "med_rec_form": MedRecForm(initial={"done_on": timezone.localdate(timezone=tz)}),
        "appointment_form": AppointmentForm(initial={"is_mental_health_provider": episode.is_mental_health}),
        "outcome_form": OutcomeForm(),
        "transport_form": TransportForm(),
        "follow_up_by": (episode.discharged_at.astimezone(tz) + dt.timedelta(days=7)).date(),
    }
    return render_page(request, "transitions/episode.html", context)


def _episode_post(request, episode_id, form_class, apply, done):
    actor = request.actor
    episode = selectors.access_episode(actor, episode_id)
    submit_form(request, form_class(request.POST), lambda data: apply(actor, episode, data), done=done)
    return redirect("episode-detail", episode_id=episode.public_id)


@staff_view
@require_POST
def episode_outreach(request: HttpRequest, episode_id: uuid.UUID) -> HttpResponse:
    return _episode_post(
        request,
        episode_id,
        OutreachForm,
        lambda actor, episode, d: episode_services.outreach_log(actor=actor, episode=episode, **d),
        "Outreach logged.",
    )


@staff_view
@require_POST
def episode_discharge_info(request: HttpRequest, episode_id: uuid.UUID) -> HttpResponse:
    return _episode_post(
        request,
        episode_id,
        DischargeInfoForm,
        lambda actor, episode, d: episode_services.discharge_info_share(actor=actor, episode=episode, **d),
        "Discharge information shared with the practice.",
    )


@staff_view
@require_POST
def episode_med_rec(request: HttpRequest, episode_id: uuid.UUID) -> HttpResponse:
    return _episode_post(
        request,
        episode_id,
        MedRecForm,
        lambda actor, episode, d: episode_services.med_rec_record(actor=actor, episode=episode, **d),
        "Medication reconciliation recorded.",
    )


def _schedule(actor, episode, data):
    previous = data.pop("rescheduled_from", None)
    rescheduled_from = None
    if previous:
        rescheduled_from = Appointment.objects.visible_to(actor).filter(public_id=previous, episode=episode).first()
        if rescheduled_from is None:
            raise ValidationError({"rescheduled_from": ["No such visit in this episode."]})
    return episode_services.appointment_schedule(
        actor=actor, episode=episode, rescheduled_from=rescheduled_from, **data
    )


@staff_view
@require_POST
def episode_appointment_new(request: HttpRequest, episode_id: uuid.UUID) -> HttpResponse:
    return _episode_post(
        request,
        episode_id,
        AppointmentForm,
        _schedule,
        lambda a: (
            f"Visit booked for {a.scheduled_for.astimezone(a.episode.plan.tz):%b %-d %H:%M} with {a.provider_name}."
        ),
    )


@staff_view
@require_POST
def appointment_outcome(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    appointment = selectors.access_appointment(actor, appointment_id)
    submit_form(
        request,
        OutcomeForm(request.POST),
        lambda d: episode_services.appointment_record_outcome(actor=actor, appointment=appointment, **d),
        done=lambda a: f"Visit recorded as {a.get_status_display().lower()}.",
    )
    return redirect("episode-detail", episode_id=appointment.episode.public_id)


@staff_view
@require_POST
def appointment_transport(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    appointment = selectors.access_appointment(actor, appointment_id)
    submit_form(
        request,
        TransportForm(request.POST),
        lambda d: episode_services.appointment_arrange_transport(actor=actor, appointment=appointment, **d),
        done="Transportation recorded.",
    )
    return redirect("episode-detail", episode_id=appointment.episode.public_id)


RATE_MEASURES = (*selectors.RATE_STEPS, ("readmission", "30-day readmissions"))


@staff_view
def episode_rates(request: HttpRequest) -> HttpResponse:
    """7-day follow-up, medication reconciliation, outreach and readmission rates per practice and
    for the plan over a chosen discharge period, with a chart."""
    actor = request.actor
    actor.require("organizations.view_transitions")
    today = actor.organization.local_date()  # the default period in the person's own zone, like every page
    form = RatesFilter(request.GET or {"start": today - dt.timedelta(days=90), "end": today})
    rows, error = [], None
    if form.is_valid():
        practice_id = None
        if form.cleaned_data.get("practice") and actor.is_plan_staff:
            practice = _practices(actor).filter(public_id=form.cleaned_data["practice"]).first()
            practice_id = practice.pk if practice else -1
        rows = selectors.rates(
            actor, start=form.cleaned_data["start"], end=form.cleaned_data["end"], practice_id=practice_id
        )
    else:
        error = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
    chart = [
        {
            "name": r.name,
            "total": r.is_total,
            "episodes": r.episodes,
            "missed": r.missed,
            "escalated": r.escalated,
            "bars": [
                {"label": label, "percent": r.rate(key).percent, "rate": r.rate(key), "key": key}
                for key, label in RATE_MEASURES
            ],
        }
        for r in rows
    ]
    context = {
        "form": form,
        "rows": rows,
        "chart": chart,
        "measures": RATE_MEASURES,
        "error": error,
        "practices": _practices(actor) if actor.is_plan_staff else [],
    }
    return render_page(request, "transitions/rates.html", context, status=400 if error else 200)
