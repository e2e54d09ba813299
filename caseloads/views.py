"""Caseload pages: an enrollment and its history, worklists, the contact log, the supervisor's
dashboard, reassignment and coverage, co-management rounds."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from caseloads import selectors, services
from caseloads.forms import (
    AcuityForm,
    CoManagementForm,
    ContactForm,
    CoverageForm,
    DashboardFilter,
    DeliveryForm,
    EndForm,
    ReassignForm,
    TaskForm,
)
from caseloads.models import Acuity, Enrollment, Program, Task
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
from members.selectors import access_member
from organizations.models import Organization


def _partners(actor):
    """Who can co-manage: the plan's partner practices and the community directory."""
    return (
        Organization.objects.visible_to(actor)
        .filter(Q(kind=Organization.Kind.PRACTICE) | Q(kind=Organization.Kind.COMMUNITY))
        .order_by("name")
    )


# Enrollment ------------------------------------------------------------------------------------


@staff_view
def enrollment_detail(request: HttpRequest, enrollment_id) -> HttpResponse:
    actor = request.actor
    enrollment = selectors.access_enrollment(actor, enrollment_id)
    access_member(actor, enrollment.member.public_id, via="enrollment page")
    can_work = actor.can("organizations.work_caseloads") and enrollment.status == Enrollment.Status.ACTIVE
    context = {
        "enrollment": enrollment,
        "history": selectors.enrollment_history(enrollment),
        "tasks": selectors.member_tasks(actor, enrollment.member),
        "can_work": can_work,
        "acuity_form": AcuityForm(initial={"acuity": enrollment.acuity}),
        "end_form": EndForm(),
        "co_form": CoManagementForm(
            partners=_partners(actor),
            auto_id="id_co_%s",  # its reason field beside the acuity form's: ids unique on the page
            initial={
                "partner": enrollment.co_manager.public_id if enrollment.co_manager else None,
                "contact": enrollment.co_manager_contact,
            },
        ),
        "delivery_form": DeliveryForm(initial={"delivery_date": enrollment.delivery_date}),
        "is_perinatal": enrollment.program == Program.PERINATAL,
        "followed_until": enrollment.delivery_date + dt.timedelta(days=services.POSTPARTUM_DAYS)
        if enrollment.delivery_date
        else None,
    }
    return render_page(request, "caseloads/enrollment.html", context)


def _enrollment_action(request: HttpRequest, enrollment_id, form, apply, done: str) -> HttpResponse:
    """Check the form, call the service, and go back to the enrollment with what happened."""
    enrollment = selectors.access_enrollment(request.actor, enrollment_id)
    submit_form(request, form, lambda data: apply(enrollment, data), done=done)
    return redirect("enrollment-detail", enrollment_id=enrollment.public_id)


@staff_view
@require_POST
def enrollment_acuity(request: HttpRequest, enrollment_id) -> HttpResponse:
    return _enrollment_action(
        request,
        enrollment_id,
        AcuityForm(request.POST),
        lambda e, data: services.enrollment_change_acuity(actor=request.actor, enrollment=e, **data),
        "Acuity changed.",
    )


@staff_view
@require_POST
def enrollment_end(request: HttpRequest, enrollment_id) -> HttpResponse:
    return _enrollment_action(
        request,
        enrollment_id,
        EndForm(request.POST),
        lambda e, data: services.enrollment_end(actor=request.actor, enrollment=e, **data),
        "Enrollment ended.",
    )


@staff_view
@require_POST
def enrollment_co_management(request: HttpRequest, enrollment_id) -> HttpResponse:
    return _enrollment_action(
        request,
        enrollment_id,
        CoManagementForm(request.POST, partners=_partners(request.actor), auto_id="id_co_%s"),
        lambda e, data: services.enrollment_set_co_management(actor=request.actor, enrollment=e, **data),
        "Co-management saved.",
    )


@staff_view
@require_POST
def enrollment_delivery(request: HttpRequest, enrollment_id) -> HttpResponse:
    return _enrollment_action(
        request,
        enrollment_id,
        DeliveryForm(request.POST),
        lambda e, data: services.enrollment_record_delivery(actor=request.actor, enrollment=e, **data),
        "Delivery recorded; the closure review is due 90 days after it.",
    )


# Worklist --------------------------------------------------------------------------------------


@staff_view
def worklist(request: HttpRequest) -> HttpResponse:
    """My open tasks, overdue first; a supervisor may look at anyone's, or the whole plan's."""
    actor = request.actor
    if not actor.is_plan_staff:
        raise PermissionDenied("Worklists are the plan's.")
    actor.require("organizations.view_caseloads")
    supervisor = actor.can("organizations.supervise_caseloads")
    owner, whose = actor.user, request.GET.get("owner", "")
    if supervisor and whose == "all":
        owner = None
    elif supervisor and whose:
        owner = get_object_or_404(selectors.care_staff(actor), public_id=whose)
    cursor, size = page_args(request)
    try:
        page = paginate(
            selectors.worklist(actor, owner=owner).values(*selectors.TASK_FIELDS),
            ordering=selectors.TASK_ORDER,
            cursor=cursor,
            size=size,
        )
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    today = actor.local_today()
    context = {
        "page": page,
        "today": today,
        "owner": owner,
        "whose": whose,
        "staff": selectors.care_staff(actor).order_by("last_name", "first_name") if supervisor else [],
    }
    return render_page(request, "caseloads/worklist.html", context, partial="task-rows")


@staff_view
@require_POST
def task_close(request: HttpRequest, task_id) -> HttpResponse:
    actor = request.actor
    task = selectors.access_task(actor, task_id)
    status = request.POST.get("status", Task.Status.DONE)
    try:
        services.task_close(actor=actor, task=task, status=status)
    except ValidationError as error:
        message_errors(request, error)
    else:
        messages.success(request, f"Task {'done' if status == Task.Status.DONE else 'cancelled'}: {task.title}")
    if getattr(request, "htmx", False):
        return HttpResponse("")  # the row disappears from the worklist
    next_url = request.POST.get("next", "")
    return redirect(next_url if next_url.startswith("/") and not next_url.startswith("//") else reverse("worklist"))


@staff_view
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = access_member(actor, member_id, via="new task")
    actor.require("organizations.work_caseloads")
    staff = selectors.care_staff(actor).order_by("last_name", "first_name")
    form = TaskForm(request.POST or None, staff=staff, initial={"owner": actor.user.public_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.task_create(actor=actor, member=member, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Task added.")
            return redirect("member-detail", member_id=member.public_id)
    return render_page(
        request, "caseloads/task_form.html", {"form": form, "member": member}, status=400 if form.errors else 200
    )


# Contact log -----------------------------------------------------------------------------------


@staff_view
@require_http_methods(["GET", "POST"])
def member_contacts(request: HttpRequest, member_id) -> HttpResponse:
    actor = request.actor
    member = access_member(actor, member_id, via="contact log")
    can_log = actor.can("organizations.work_caseloads")
    form = ContactForm(request.POST or None) if can_log else None
    if request.method == "POST":
        actor.require("organizations.work_caseloads")
        if form.is_valid():
            try:
                services.contact_log(actor=actor, member=member, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Contact logged.")
                return redirect("member-contacts", member_id=member.public_id)
    context = {"member": member, "entries": selectors.contact_entries(actor, member), "form": form}
    return render_page(request, "caseloads/contacts.html", context, status=400 if form and form.errors else 200)


# Supervisors -----------------------------------------------------------------------------------


@staff_view
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("organizations.supervise_caseloads")
    filters = DashboardFilter(request.GET or None, teams=selectors.teams(actor))
    data = filters.cleaned_data if filters.is_valid() else {}
    board = selectors.dashboard(
        actor, team=data.get("team", ""), program=data.get("program", ""), credential=data.get("credential", "")
    )
    rows = board.display_rows(caseloads_url=reverse("caseload-dashboard"), worklist_url=reverse("worklist"))
    return render_page(request, "caseloads/dashboard.html", {"board": board, "rows": rows, "filters": filters})


@staff_view
def caseload(request: HttpRequest, user_id) -> HttpResponse:
    actor = request.actor
    person = selectors.access_care_staff(actor, user_id)
    staff = selectors.care_staff(actor).exclude(pk=person.pk).order_by("last_name", "first_name")
    programs, acuities = dict(Program.choices), dict(Acuity.choices)
    rows = [
        {**r, "program": programs[r["program"]], "acuity": acuities[r["acuity"]]}
        for r in selectors.caseload(actor, person)
    ]
    context = {
        "person": person,
        "rows": rows,
        "reassign_form": ReassignForm(staff=staff),
        "coverage_form": CoverageForm(staff=staff),
    }
    return render_page(request, "caseloads/caseload.html", context)


@staff_view
@require_POST
def caseload_reassign(request: HttpRequest, user_id) -> HttpResponse:
    actor = request.actor
    person = selectors.access_care_staff(actor, user_id)
    chosen = selectors.caseload(actor, person).filter(public_id__in=_uuids(request.POST.getlist("enrollments")))
    form = ReassignForm(request.POST, staff=selectors.care_staff(actor).exclude(pk=person.pk))
    submit_form(
        request,
        form,
        lambda data: services.caseload_reassign(
            actor=actor, enrollment_ids=list(chosen.values_list("id", flat=True)), to=data["to"], reason=data["reason"]
        ),
        done=lambda moved: f"{moved} member{'s' if moved != 1 else ''} moved to {form.cleaned_data['to']}.",
    )
    return redirect("caseload", user_id=person.public_id)


def _uuids(raw: list[str]) -> list[str]:
    out = []
    for value in raw:
        try:
            out.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return out


@staff_view
@require_POST
def caseload_coverage(request: HttpRequest, user_id) -> HttpResponse:
    actor = request.actor
    person = selectors.access_care_staff(actor, user_id)
    submit_form(
        request,
        CoverageForm(request.POST, staff=selectors.care_staff(actor).exclude(pk=person.pk)),
        lambda data: services.coverage_start(actor=actor, absent=person, **data),
        done=lambda coverage: (
            f"{coverage.enrollments.count()} members covered by {coverage.covering} until "
            f"{coverage.ends_on:%b %-d}; they return to {person} the next morning."
        ),
    )
    return redirect("caseload", user_id=person.public_id)


@staff_view
def rounds(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not actor.is_plan_staff:
        raise PermissionDenied("Co-management rounds are the plan's.")
    return render_page(
        request, "caseloads/rounds.html", {"groups": selectors.rounds(actor), "today": actor.local_today()}
    )
