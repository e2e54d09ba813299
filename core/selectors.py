"""Reads of the shared kernel's tables, scoped to the actor."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from core.models import AuditEvent, Deadline, Notification
from organizations.access import Actor


def inbox(actor: Actor) -> QuerySet[Notification]:
    return Notification.objects.visible_to(actor)


def unread_count(actor: Actor) -> int:
    return Notification.objects.visible_to(actor).unread().count()


def access_notification(actor: Actor, notification_id: uuid.UUID) -> Notification:
    return get_object_or_404(Notification.objects.visible_to(actor), public_id=notification_id)


@dataclass(frozen=True)
class AuditFilters:
    username: str = ""
    action: str = ""
    object_type: str = ""
    member_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def audit_events(actor: Actor, filters: AuditFilters) -> QuerySet[AuditEvent]:
    actor.require("organizations.view_audit")
    qs = AuditEvent.objects.visible_to(actor)
    if filters.username:
        qs = qs.filter(actor_label__iexact=filters.username)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.member_id is not None:
        qs = qs.filter(member_id=filters.member_id)
    # Whole days in the plan's time zone, as bounds on the indexed column (not a function of it).
    tz = actor.organization.tz
    if filters.since:
        qs = qs.filter(occurred_at__gte=dt.datetime.combine(filters.since, dt.time.min, tzinfo=tz))
    if filters.until:
        qs = qs.filter(
            occurred_at__lt=dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    return qs


def upcoming_deadlines(actor: Actor, *, within_days: int = 7, limit: int = 20) -> list[Deadline]:
    from django.utils import timezone

    horizon = timezone.now() + dt.timedelta(days=within_days)
    return list(Deadline.objects.visible_to(actor).open().filter(due_at__lte=horizon).order_by("due_at")[:limit])
