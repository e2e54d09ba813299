"""Inbox and audit trail pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core import selectors
from core.forms import AuditFilterForm
from core.http import bad_cursor_response, page_args, render_page, staff_view
from core.pagination import BadCursor, paginate


@staff_view
def inbox(request: HttpRequest) -> HttpResponse:
    cursor, size = page_args(request, default_size=25)
    qs = selectors.inbox(request.actor)
    if request.GET.get("unread") == "1":
        qs = qs.unread()
    try:
        page = paginate(qs, ordering=("-created_at", "-id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    return render_page(
        request,
        "core/inbox.html",
        {"page": page, "unread_only": request.GET.get("unread") == "1"},
        partial="inbox-items",
    )


@staff_view
def inbox_badge(request: HttpRequest) -> HttpResponse:
    return render_page(request, "core/inbox_badge.html", {"unread": selectors.unread_count(request.actor)})


@staff_view
@require_POST
def inbox_open(request: HttpRequest, notification_id) -> HttpResponse:
    notification = selectors.access_notification(request.actor, notification_id)
    selectors.inbox(request.actor).filter(pk=notification.pk).mark_read()
    target = notification.url if url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None) else ""
    return redirect(target or reverse("inbox"))


@staff_view
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    selectors.inbox(request.actor).mark_read()
    return redirect("inbox")


@staff_view
def audit_log(request: HttpRequest) -> HttpResponse:
    from members.models import Member

    form = AuditFilterForm(request.GET or None)
    filters = selectors.AuditFilters()
    no_match = False
    if form.is_valid():
        data = form.cleaned_data
        member_id = None
        if data["member"]:
            member_id = (
                Member.objects.visible_to(request.actor)
                .filter(member_number=data["member"].strip().upper())
                .values_list("pk", flat=True)
                .first()
            )
            no_match = member_id is None
        filters = selectors.AuditFilters(
            username=data["username"].strip(),
            action=data["action"],
            object_type=data["object_type"],
            member_id=member_id,
            since=data["since"],
            until=data["until"],
        )
    events = selectors.audit_events(request.actor, filters)
    if no_match or (form.is_bound and not form.is_valid()):
        events = events.none()
    cursor, size = page_args(request)
    try:
        page = paginate(events, ordering=("-occurred_at", "-id"), cursor=cursor, size=size)
    except BadCursor as exc:
        return bad_cursor_response(request, exc)
    return render_page(
        request, "core/audit.html", {"form": form, "page": page, "no_match": no_match}, partial="audit-rows"
    )
