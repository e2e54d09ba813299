"""Scoping for organization data. Every read of tenant data starts from a `visible_to(actor)`.

All scopes fail closed: an actor without an organization (anonymous users, platform operators)
sees no rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import UserManager
from django.db import models

if TYPE_CHECKING:
    from organizations.access import Actor


class OrganizationQuerySet(models.QuerySet):
    def of_kind(self, kind: str) -> OrganizationQuerySet:
        return self.filter(kind=kind)

    def visible_to(self, actor: Actor) -> OrganizationQuerySet:
        """Own organization; partners (plans ↔ practices); the shared community and facility directory."""
        if actor.organization is None:
            return self.none()
        own = models.Q(pk=actor.organization.pk)
        directory = models.Q(kind__in=["community", "facility"])
        if actor.is_plan_staff:
            return self.filter(own | directory | models.Q(pk__in=actor.partner_practice_ids))
        if actor.is_practice_staff:
            return self.filter(own | directory | models.Q(pk__in=actor.partner_plan_ids))
        return self.filter(own)


class PartnershipQuerySet(models.QuerySet):
    def active(self) -> PartnershipQuerySet:
        return self.filter(status="active")

    def visible_to(self, actor: Actor) -> PartnershipQuerySet:
        if actor.organization is None:
            return self.none()
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(practice_id=actor.organization.pk)
        return self.none()


class UserQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> UserQuerySet:
        """The staff directory: people of the actor's own organization."""
        if actor.organization is None:
            return self.none()
        return self.filter(organization_id=actor.organization.pk)


class StaffManager(UserManager.from_queryset(UserQuerySet)):
    """Django's user manager (create_user, natural keys) with the staff scoping methods."""
