"""ADT review queue: unmatched or ambiguous admission/discharge messages, worked by plan staff."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.http import bad_cursor_response, message_errors, page_args, render_page, staff_view
from core.pagination import BadCursor, paginate
from members.models import Member
from members.selectors import audit_reads
from transitions import selectors, services


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
