"""Scoping for social-needs screenings and needs (DESIGN.md): the plan sees its members'; a
practice sees those of the patients attributed to it today (the member scope, an SQL EXISTS on the
row's member); community organizations see none of this (only the referrals sent to them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from organizations.access import Actor


class MemberScopedQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        from members.querysets import practice_sees

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(practice_sees(actor, member_ref="member_id"))
        return self.none()

    def for_plan(self, plan_id: int) -> models.QuerySet:
        return self.filter(plan_id=plan_id)


class SocialReferralQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        """The plan: its referrals. A community organization: only those sent to it. A practice:
        those the care manager shared, for its attributed patients."""
        from members.querysets import practice_sees

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.organization is not None and actor.organization.kind == "community":
            return self.filter(organization_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(practice_sees(actor, member_ref="member_id"), share_with_practice=True)
        return self.none()


class ResourceQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        """The plan's own directory; a practice reads its partner plans' (to point patients to help)."""
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(plan_id__in=actor.partner_plan_ids)
        return self.none()
