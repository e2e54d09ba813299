"""Scoping for the shared kernel's tables. Each scope fails closed (no organization, no rows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from organizations.access import Actor


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> AuditEventQuerySet:
        """A plan's trail: every event touching the plan's data, whoever the actor was."""
        if not actor.is_plan_staff:
            return self.none()
        return self.filter(plan_id=actor.organization.pk)


class DeadlineQuerySet(models.QuerySet):
    def open(self) -> DeadlineQuerySet:
        return self.filter(state__in=["pending", "queued", "running"])

    def visible_to(self, actor: Actor) -> DeadlineQuerySet:
        if not actor.is_plan_staff:
            return self.none()
        return self.filter(plan_id=actor.organization.pk)


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> NotificationQuerySet:
        if actor.user is None or actor.organization is None:
            return self.none()
        return self.filter(recipient_id=actor.user.pk)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def mark_read(self) -> int:
        return self.filter(read_at__isnull=True).update(read_at=timezone.now())
