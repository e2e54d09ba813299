"""Scoping for member data: every read starts from `visible_to(actor)` (DESIGN.md).

Plan staff see their plan's rows. Practice staff see members of partner plans who are attributed
to their practice today, found by an SQL join (EXISTS) on attributions, never by per-row
permission checks. Everyone else, and anyone without an organization, sees nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

if TYPE_CHECKING:
    from organizations.access import Actor


def _today() -> dt.date:
    return timezone.localdate()


def current_on(day: dt.date, prefix: str = "") -> Q:
    """Rows (spans) in force on `day`: started, and not yet ended."""
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": day})
    )


class MemberQuerySet(models.QuerySet):
    def for_plan(self, plan_id: int) -> MemberQuerySet:
        return self.filter(plan_id=plan_id)

    def attributed_to(self, practice_id: int, *, on: dt.date | None = None) -> MemberQuerySet:
        from members.models import Attribution

        day = on or _today()
        return self.filter(
            Exists(Attribution.objects.filter(current_on(day), member_id=OuterRef("pk"), practice_id=practice_id))
        )

    def visible_to(self, actor: Actor) -> MemberQuerySet:
        if actor.is_plan_staff:
            return self.for_plan(actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(plan_id__in=actor.partner_plan_ids).attributed_to(actor.organization.pk)
        return self.none()


class _MemberChildQuerySet(models.QuerySet):
    """Rows that hang off a member: visible exactly when their member is."""

    def visible_to(self, actor: Actor) -> models.QuerySet:
        from members.models import Member

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(member__in=Member.objects.visible_to(actor))
        return self.none()

    def current(self, *, on: dt.date | None = None) -> models.QuerySet:
        return self.filter(current_on(on or _today()))


class EligibilityQuerySet(_MemberChildQuerySet):
    pass


class AttributionQuerySet(_MemberChildQuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        """A practice sees only its own attributions, not where the member was before or after."""
        qs = super().visible_to(actor)
        if actor.is_practice_staff:
            qs = qs.filter(practice_id=actor.organization.pk)
        return qs


class CareTeamQuerySet(_MemberChildQuerySet):
    pass


class ReleaseQuerySet(_MemberChildQuerySet):
    def in_force(self, *, on: dt.date | None = None) -> ReleaseQuerySet:
        day = on or _today()
        return self.filter(
            Q(effective_from__lte=day),
            Q(expires_on__isnull=True) | Q(expires_on__gte=day),
            revoked_at__isnull=True,
        )

    def covering(self, *, organization_id: int, purpose: str, substance_use: bool = False) -> ReleaseQuerySet:
        qs = self.in_force().filter(recipient_organization_id=organization_id, purposes__contains=[purpose])
        return qs.filter(includes_substance_use=True) if substance_use else qs


class RosterImportQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> RosterImportQuerySet:
        if not actor.is_plan_staff:
            return self.none()
        return self.filter(plan_id=actor.organization.pk)
