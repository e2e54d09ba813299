"""Partnership and staff pages."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from core.http import apply_service_errors, bad_cursor_response, page_args, render_page, staff_view
from core.pagination import BadCursor, paginate
from organizations import selectors, services
from organizations.forms import ContactForm, ReviewForm, StaffForm
from organizations.models import PartnershipContact, User


@staff_view
def partnership_list(request: HttpRequest) -> HttpResponse:
    return render_page(
        request, "organizations/partnership_list.html", {"partnerships": selectors.partnerships(request.actor)}
    )


@staff_view
def partnership_detail(request: HttpRequest, partnership_id) -> HttpResponse:
    actor = request.actor
    partnership = selectors.access_partnership(actor, partnership_id)
    own_side = PartnershipContact.Side.PLAN if actor.is_plan_staff else PartnershipContact.Side.PRACTICE
    context = {
        "partnership": partnership,
        "own_side": own_side,
        "can_manage": actor.can("organizations.manage_partnerships"),
        "can_review": actor.is_plan_staff and actor.can("organizations.review_partnerships"),
        "plan_contacts": [c for c in partnership.contacts.all() if c.side == PartnershipContact.Side.PLAN],
        "practice_contacts": [c for c in partnership.contacts.all() if c.side == PartnershipContact.Side.PRACTICE],
    }
    return render_page(request, "organizations/partnership_detail.html", context)


def _contact_form_page(request, partnership, contact=None):
    actor = request.actor
    actor.require("organizations.manage_partnerships")
    side = PartnershipContact.Side.PLAN if actor.is_plan_staff else PartnershipContact.Side.PRACTICE
    if contact is not None and contact.side != side:
        raise PermissionDenied("You can change only your own organization's points of contact.")
    initial = None
    if contact is not None:
        initial = {
            "name": contact.name,
            "user": contact.user.public_id if contact.user else None,
            "title": contact.title,
            "phone": contact.phone,
            "email": contact.email,
            "is_primary": contact.is_primary,
        }
    form = ContactForm(
        request.POST or None, initial=initial, staff=User.objects.visible_to(actor).filter(is_active=True)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.partnership_contact_save(
                actor=actor, partnership=partnership, side=side, contact=contact, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Point of contact saved.")
            return redirect("partnership-detail", partnership_id=partnership.public_id)
    return render_page(
        request,
        "organizations/contact_form.html",
        {"partnership": partnership, "form": form, "contact": contact, "side": side},
        status=400 if form.errors else 200,
    )


@staff_view
@require_http_methods(["GET", "POST"])
def contact_add(request: HttpRequest, partnership_id) -> HttpResponse:
    partnership = selectors.access_partnership(request.actor, partnership_id)
    return _contact_form_page(request, partnership)


@staff_view
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, partnership_id, contact_id) -> HttpResponse:
    partnership = selectors.access_partnership(request.actor, partnership_id)
    contact = selectors.access_contact(request.actor, partnership, contact_id)
    return _contact_form_page(request, partnership, contact)


@staff_view
@require_http_methods(["POST"])
def contact_remove(request: HttpRequest, partnership_id, contact_id) -> HttpResponse:
    partnership = selectors.access_partnership(request.actor, partnership_id)
    contact = selectors.access_contact(request.actor, partnership, contact_id)
    services.partnership_contact_remove(actor=request.actor, contact=contact)
    messages.success(request, f"{contact.name} removed.")
    return redirect("partnership-detail", partnership_id=partnership.public_id)


@staff_view
@require_http_methods(["GET", "POST"])
def partnership_review(request: HttpRequest, partnership_id) -> HttpResponse:
    actor = request.actor
    partnership = selectors.access_partnership(actor, partnership_id)
    actor.require("organizations.review_partnerships")
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.partnership_review_record(actor=actor, partnership=partnership, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Review recorded.")
            return redirect("partnership-detail", partnership_id=partnership.public_id)
    return render_page(
        request,
        "organizations/review_form.html",
        {"partnership": partnership, "form": form},
        status=400 if form.errors else 200,
    )


@staff_view
def staff_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    cursor, size = page_args(request)
    try:
        page = paginate(selectors.staff(actor), ordering=("last_name", "first_name", "id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    return render_page(
        request, "organizations/staff_list.html", {"page": page, "can_manage": actor.can("organizations.manage_staff")}
    )


@staff_view
@require_http_methods(["GET", "POST"])
def staff_add(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("organizations.manage_staff")
    form = StaffForm(request.POST or None, organization=actor.organization)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.staff_create(actor=actor, organization=actor.organization, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"{user} added. Send them a password-reset link to sign in.")
            return redirect("staff-list")
    return render_page(request, "organizations/staff_form.html", {"form": form}, status=400 if form.errors else 200)


@staff_view
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, user_id) -> HttpResponse:
    actor = request.actor
    person = selectors.access_staff(actor, user_id)
    actor.require("organizations.manage_staff")
    initial = {
        f: getattr(person, f)
        for f in (
            "first_name",
            "last_name",
            "email",
            "role",
            "credential",
            "title",
            "phone",
            "caseload_capacity",
            "is_active",
        )
    }
    initial["languages"] = ", ".join(person.languages)
    form = StaffForm(request.POST or None, initial=initial, organization=actor.organization, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_update(actor=actor, user=person, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"{person} saved.")
            return redirect("staff-list")
    return render_page(
        request, "organizations/staff_form.html", {"form": form, "person": person}, status=400 if form.errors else 200
    )
