"""Social-needs pages: a screening entered for a member, its result with the needs it found, and
the member advocates' worklist of open needs with their outcomes."""

from __future__ import annotations

import uuid
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.http import action_view, apply_service_errors, bad_cursor_response, page_args, render_page, staff_view
from core.pagination import BadCursor, paginate
from members.roster import Rejected
from members.selectors import access_member, audit_reads
from sdoh import instruments, selectors, services
from sdoh.forms import (
    CancelForm,
    OutcomeForm,
    ResourceForm,
    ResourceImportForm,
    ResourceSearch,
    ScreeningForm,
    SocialReferralAnswerForm,
    SocialReferralForm,
)
from sdoh.models import SocialReferral


@staff_view
def screening_new(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    """Enter a screening (AHC HRSN by default; PRAPARE with ?instrument=93025-5)."""
    actor = request.actor
    member = access_member(actor, member_id, via="screening form")
    actor.require("organizations.screen_members")
    code = request.GET.get("instrument") or instruments.AHC_HRSN
    if code not in instruments.INSTRUMENTS:
        code = instruments.AHC_HRSN
    instrument = instruments.get_instrument(code)
    form = ScreeningForm(request.POST or None, instrument=instrument, initial={"screened_on": member.plan.local_date()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                screening = services.screening_record(
                    actor=actor,
                    member=member,
                    instrument=code,
                    answers=form.answers(),
                    screened_on=form.cleaned_data["screened_on"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return redirect("screening-detail", screening_id=screening.public_id)
        status = 400
    context = {"member": member, "form": form, "instrument": instrument, "instruments": instruments.INSTRUMENTS}
    return render_page(request, "sdoh/screening_form.html", context, status=status)


@staff_view
def screening_detail(request: HttpRequest, screening_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    screening = selectors.access_screening(actor, screening_id)
    context = {
        "screening": screening,
        "member": screening.member,
        "needs": screening.needs.select_related("problem").order_by("id"),
        "can_work": actor.can("organizations.work_social_needs"),
        "can_refer": actor.is_plan_staff and actor.can("organizations.make_social_referrals"),
        "outcome_form": OutcomeForm(),
    }
    return render_page(request, "sdoh/screening.html", context)


@staff_view
def needs_worklist(request: HttpRequest) -> HttpResponse:
    """Members with open social needs, oldest first (seed 001: the member advocates' list)."""
    actor = request.actor
    cursor, size = page_args(request)
    try:
        page = paginate(selectors.open_needs(actor), ordering=("created_at", "id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    audit_reads(actor, list({n.member_id: n.member for n in page.items}.values()), via="social needs worklist")
    context = {"page": page, "can_work": actor.can("organizations.work_social_needs"), "outcome_form": OutcomeForm()}
    return render_page(request, "sdoh/needs.html", context)


def _back(request: HttpRequest, need) -> HttpResponse:
    if request.POST.get("next") == "worklist":
        return redirect("needs-worklist")
    return redirect("screening-detail", screening_id=need.screening.public_id)


need_outcome = action_view(
    access=selectors.access_need,
    require="organizations.work_social_needs",
    form_class=OutcomeForm,
    apply=lambda actor, need, d: services.need_record_outcome(
        actor=actor, need=need, status=d["status"], note=d["note"]
    ),
    done="Outcome recorded.",
    back=_back,
)
need_to_care_plan = action_view(
    access=selectors.access_need,
    require="organizations.work_social_needs",
    form_class=forms.Form,  # nothing to fill in: the service decides
    apply=lambda actor, need, _d: services.need_add_to_care_plan(actor=actor, need=need),
    done="Added to the care plan, with its goal.",
    back=_back,
)


SAMPLE = Path(__file__).resolve().parent / "sample_data" / "resources_sample.csv"


@staff_view
def resource_search(request: HttpRequest) -> HttpResponse:
    """Search the directory by need, ZIP code and language (in the URL); stale entries flagged."""
    actor = request.actor
    form = ResourceSearch(request.GET or None)
    args = form.cleaned_data if form.is_valid() else {}
    qs = selectors.resources(
        actor,
        need=args.get("need", ""),
        zip_code=args.get("zip_code", ""),
        language=args.get("language", ""),
        stale=bool(args.get("stale")),
    )
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=("organization_name", "name", "id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    stale_before = actor.organization.local_date() - selectors.STALE_AFTER
    for service in page.items:
        service.stale = service.last_verified < stale_before
    context = {
        "form": form,
        "page": page,
        "can_manage": actor.is_plan_staff and actor.can("organizations.manage_resources"),
    }
    return render_page(request, "sdoh/resources.html", context, partial="rows")


@staff_view
def resource_import(request: HttpRequest) -> HttpResponse:
    """Upload a directory file: all or nothing, every bad row listed by number and column."""
    actor = request.actor
    actor.require("organizations.manage_resources")
    form = ResourceImportForm(request.POST or None, request.FILES or None)
    errors, status = [], 200
    if request.method == "POST" and form.is_valid():
        try:
            result = services.resources_import_csv(actor=actor, stream=form.cleaned_data["file"])
        except Rejected as refused:
            errors, status = refused.result.errors, 400
        else:
            messages.success(
                request,
                f"Directory updated: {result.created} added, {result.updated} changed, {result.unchanged} unchanged.",
            )
            return redirect("resource-search")
    return render_page(request, "sdoh/resource_import.html", {"form": form, "errors": errors}, status=status)


@staff_view
def resource_sample(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(SAMPLE.read_bytes(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="resources_sample.csv"'
    return response


@staff_view
def resource_edit(request: HttpRequest, service_id: uuid.UUID | None = None) -> HttpResponse:
    """Add a directory entry, or change one of the plan's (plan staff who keep the directory)."""
    actor = request.actor
    service = selectors.access_resource(actor, service_id) if service_id else None
    actor.require("organizations.manage_resources")
    initial = ResourceForm.initial_for(service) if service else {"last_verified": actor.organization.local_date()}
    form = ResourceForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.resource_save(actor=actor, service=service, values=form.values())
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, f"{saved.name} ({saved.organization_name}) saved.")
                return redirect("resource-search")
        status = 400
    return render_page(request, "sdoh/resource_form.html", {"form": form, "service": service}, status=status)


@require_POST
@staff_view
def resource_verify(request: HttpRequest, service_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    service = selectors.access_resource(actor, service_id)
    services.resource_verify(actor=actor, service=service)
    messages.success(request, f"{service.name}: verified today.")
    return redirect(request.POST.get("back") or "resource-search")


@staff_view
def social_referral_new(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    """Refer the member to a community organization for this need: services from the directory
    that meet the need in the member's ZIP code first."""
    actor = request.actor
    need = selectors.access_need(actor, need_id)
    actor.require("organizations.make_social_referrals")
    member = need.member
    ride = need.category == selectors.TRANSPORT_CATEGORY  # a ride, from a transport vendor
    initial = {"request_note": need.suggested_problem}
    if ride:
        initial["kind"] = SocialReferral.Kind.TRANSPORT
    form = SocialReferralForm(
        request.POST or None,
        organizations=selectors.transport_vendors(member.plan_id) if ride else selectors.referral_organizations(actor),
        services=selectors.resources(actor, need=need.category),
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                referral = services.social_referral_create(
                    actor=actor,
                    member=member,
                    organization=d["organization"],
                    request_note=d["request_note"],
                    need=need,
                    service=d.get("service"),
                    kind=d["kind"],
                    pickup=d.get("pickup", ""),
                    share_with_practice=d.get("share_with_practice", False),
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, f"Referral sent to {referral.organization.name}.")
                return redirect("social-referral-detail", social_referral_id=referral.public_id)
        status = 400
    zip_code = (member.postal_code or "")[:5]
    suggested = selectors.resources(actor, need=need.category, zip_code=zip_code)[:10] if zip_code else []
    context = {"need": need, "member": member, "form": form, "suggested": suggested}
    return render_page(request, "sdoh/social_referral_form.html", context, status=status)


@staff_view
def social_referrals(request: HttpRequest) -> HttpResponse:
    """A community organization's inbox (only what was sent to it), or the plan's referrals;
    newest first, filter by status in the URL."""
    actor = request.actor
    qs = selectors.social_referrals(actor)
    chosen = request.GET.get("status", "")
    if chosen == "open":
        qs = qs.filter(status__in=SocialReferral.OPEN)
    elif chosen in SocialReferral.Status.values:
        qs = qs.filter(status=chosen)
    cursor, size = page_args(request)
    try:
        page = paginate(qs, ordering=("-created_at", "-id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    audit_reads(actor, list({r.member_id: r.member for r in page.items}.values()), via="social referrals")
    context = {"page": page, "status": chosen, "statuses": SocialReferral.Status.choices}
    return render_page(request, "sdoh/social_referrals.html", context, partial="rows")


@staff_view
def social_referral_detail(request: HttpRequest, social_referral_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    referral = selectors.access_social_referral(actor, social_referral_id)
    is_recipient = actor.organization is not None and actor.organization.pk == referral.organization_id
    answers = is_recipient and services.social_referral_may_move(actor, referral)
    # The organization opening its referral has received it (Gravity's "received"), but not a
    # browser fetching the page ahead of a click: prefetches say so in Sec-Purpose / Purpose.
    prefetch = "prefetch" in (request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or "")
    if answers and not prefetch and referral.status == SocialReferral.Status.REQUESTED:
        referral = services.social_referral_move(actor=actor, referral=referral, to=SocialReferral.Status.RECEIVED)
    allowed = services.social_referral_allowed(actor, referral)
    context = {
        "referral": referral,
        "member": selectors.referral_member_view(actor, referral),
        "events": referral.events.all(),
        "org_moves": [m for m in allowed if m not in (SocialReferral.Status.RECEIVED, SocialReferral.Status.CANCELLED)],
        "can_cancel": SocialReferral.Status.CANCELLED in allowed,
        "labels": dict(SocialReferral.Status.choices),
    }
    return render_page(request, "sdoh/social_referral.html", context)


def _to_referral(request: HttpRequest, referral) -> HttpResponse:
    return redirect("social-referral-detail", social_referral_id=referral.public_id)


social_referral_answer = action_view(
    access=selectors.access_social_referral,
    form_class=SocialReferralAnswerForm,
    apply=lambda actor, referral, d: services.social_referral_move(
        actor=actor, referral=referral, to=d["status"], reason=d["reason"]
    ),
    done="Answer sent to the care manager.",
    back=_to_referral,
)
social_referral_cancel = action_view(
    access=selectors.access_social_referral,
    form_class=CancelForm,
    apply=lambda actor, referral, d: services.social_referral_cancel(
        actor=actor, referral=referral, reason=d["reason"]
    ),
    done="Referral cancelled.",
    back=_to_referral,
)
