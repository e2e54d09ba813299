"""Member pages: find, list, summary, and the plan's edits; roster imports."""

from functools import partial
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.http import apply_service_errors, bad_cursor_response, filter_controls, page_args, render_page, staff_view
from core.pagination import BadCursor, paginate
from members import selectors, services
from members.filters import MemberFilter
from members.forms import (
    CareTeamEndForm,
    CareTeamForm,
    MemberEditForm,
    ReleaseForm,
    RevokeForm,
    RosterUploadForm,
)
from members.models import Member
from organizations.models import Organization

SAMPLE_ROSTER = Path(__file__).resolve().parent / "sample_data" / "roster_sample.csv"


_TIER_LABELS = dict(Member.RiskTier.choices)


def _list_rows(members: list[dict]) -> list[dict]:
    """Preformatted rows for the list template (plain dicts: the template engine reads dict keys
    directly, while on a model it tries an item lookup first and fails)."""
    base = reverse("member-list")
    return [
        {
            "url": f"{base}{m['public_id']}/",
            "name": f"{m['last_name']}, {m['first_name']}" + (f" {m['middle_name'][0]}." if m["middle_name"] else ""),
            "member_number": m["member_number"],
            "dob": m["date_of_birth"].strftime("%m/%d/%Y"),
            "language": m["preferred_language"],
            "practice": m["practice_name"] or "—",
            "eligible": m["eligible"],
            "risk_visible": m["risk_visible"],
            "risk_tier": m["risk_tier"],
            "risk_label": _TIER_LABELS.get(m["risk_tier"], ""),
        }
        for m in members
    ]


@staff_view
def member_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("organizations.view_members")
    query = request.GET.get("q", "").strip()
    filterset = MemberFilter(request.GET or None, queryset=selectors.member_rows(actor), request=request)
    qs = filterset.qs if not filterset.is_bound or filterset.is_valid() else filterset.queryset.none()
    page = None
    results = None
    if query:
        results = selectors.member_search(actor, qs, query)
        shown = results
    else:
        cursor, size = page_args(request)
        try:
            page = selectors.member_page(qs, cursor=cursor, size=size)
        except BadCursor as exc:
            return bad_cursor_response(request, exc)
        shown = page.items
    selectors.audit_reads(actor, shown, via="member list", action="search" if query else "list")
    context = {
        "filterset": filterset,
        "filter_controls": partial(filter_controls, filterset.form),  # only the whole page shows them
        "query": query,
        "page": page,
        "results": results,
        "rows": _list_rows(shown),
    }
    return render_page(request, "members/list.html", context, partial="member-results")


@staff_view
def member_detail(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="member summary")
    summary = selectors.member_summary(actor, member)
    return render_page(request, "members/detail.html", {"summary": summary, "member": member})


@staff_view
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="member edit")
    actor.require("organizations.change_members")
    form = MemberEditForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(actor=actor, member=member, changes=form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Member details saved.")
            return redirect("member-detail", member_id=member.public_id)
    return render_page(
        request, "members/edit.html", {"member": member, "form": form}, status=400 if form.errors else 200
    )


def _partner_orgs(actor):
    return Organization.objects.visible_to(actor).exclude(kind=Organization.Kind.PLAN)


@staff_view
@require_http_methods(["GET", "POST"])
def care_team_add(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="care team add")
    actor.require("organizations.manage_care_team")
    form = CareTeamForm(request.POST or None, organizations=_partner_orgs(actor))
    if request.method == "POST" and form.is_valid():
        try:
            services.care_team_add(actor=actor, member=member, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Added to the care team.")
            return redirect("member-detail", member_id=member.public_id)
    return render_page(
        request, "members/care_team_form.html", {"member": member, "form": form}, status=400 if form.errors else 200
    )


@staff_view
@require_http_methods(["GET", "POST"])
def care_team_end(request: HttpRequest, member_id, entry_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="care team end")
    entry = selectors.access_care_team_entry(actor, member, entry_id)
    actor.require("organizations.manage_care_team")
    form = CareTeamEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.care_team_end(actor=actor, entry=entry, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"{entry.name} is no longer on the care team.")
            return redirect("member-detail", member_id=member.public_id)
    return render_page(
        request,
        "members/care_team_end.html",
        {"member": member, "entry": entry, "form": form},
        status=400 if form.errors else 200,
    )


@staff_view
@require_http_methods(["POST"])
def care_team_point_of_contact(request: HttpRequest, member_id, entry_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="care team point of contact")
    entry = selectors.access_care_team_entry(actor, member, entry_id)
    try:
        services.care_team_set_point_of_contact(actor=actor, entry=entry)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{entry.name} is now the designated point of contact.")
    return redirect("member-detail", member_id=member.public_id)


@staff_view
@require_http_methods(["GET", "POST"])
def release_add(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="release add")
    actor.require("organizations.manage_consents")
    form = ReleaseForm(request.POST or None, organizations=_partner_orgs(actor))
    if request.method == "POST" and form.is_valid():
        try:
            services.release_record(actor=actor, member=member, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Release of information recorded.")
            return redirect("member-detail", member_id=member.public_id)
    return render_page(
        request, "members/release_form.html", {"member": member, "form": form}, status=400 if form.errors else 200
    )


@staff_view
@require_http_methods(["GET", "POST"])
def release_revoke(request: HttpRequest, member_id, release_id) -> HttpResponse:
    actor = request.actor
    member = selectors.access_member(actor, member_id, via="release revoke")
    release = selectors.access_release(actor, member, release_id)
    actor.require("organizations.manage_consents")
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_revoke(actor=actor, release=release, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Release revoked. Sharing under it stops now.")
            return redirect("member-detail", member_id=member.public_id)
    return render_page(
        request,
        "members/release_revoke.html",
        {"member": member, "release": release, "form": form},
        status=400 if form.errors else 200,
    )


@staff_view
@require_http_methods(["GET", "POST"])
def roster_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("organizations.import_roster")
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            roster_import = services.roster_import_start(actor=actor, upload=form.cleaned_data["file"])
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return redirect("roster-detail", import_id=roster_import.public_id)
    cursor, size = page_args(request, default_size=20)
    try:
        page = paginate(selectors.roster_imports(actor), ordering=("-created_at", "-id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    return render_page(
        request, "members/roster_list.html", {"form": form, "page": page}, status=400 if form.errors else 200
    )


@staff_view
def roster_detail(request: HttpRequest, import_id) -> HttpResponse:
    roster_import = selectors.access_roster_import(request.actor, import_id)
    context = {"roster_import": roster_import, "progress": selectors.roster_import_progress(roster_import)}
    return render_page(request, "members/roster_detail.html", context, partial="progress")


@staff_view
def roster_sample(request: HttpRequest) -> HttpResponse:
    request.actor.require("organizations.import_roster")
    return FileResponse(
        SAMPLE_ROSTER.open("rb"), as_attachment=True, filename="roster_sample.csv", content_type="text/csv"
    )
