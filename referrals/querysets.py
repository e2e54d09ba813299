"""Scoping for referrals.

Plan staff see their plan's referrals. Practice staff see the referrals their practice made,
whether or not the patient is still attributed to them (they made it; DESIGN.md "referrals they
made"), and nothing plan-internal (events' internal notes, outreach attempts). Community staff
and anyone without an organization see nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from organizations.access import Actor


class ReferralQuerySet(models.QuerySet):
    def open(self) -> ReferralQuerySet:
        from referrals.models import OPEN

        return self.filter(status__in=OPEN)

    def visible_to(self, actor: Actor) -> ReferralQuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(referring_practice_id=actor.organization.pk, plan_id__in=actor.partner_plan_ids)
        return self.none()


class _ReferralChildQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        from referrals.models import Referral

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(referral__in=Referral.objects.visible_to(actor))
        return self.none()


class EventQuerySet(_ReferralChildQuerySet):
    pass


class AttachmentQuerySet(_ReferralChildQuerySet):
    pass


class AttemptQuerySet(_ReferralChildQuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        """Outreach attempts are the plan's own working notes."""
        return super().visible_to(actor) if actor.is_plan_staff else self.none()
