"""Scoping for care gaps (DESIGN.md: care gaps are shared with the practice).

A plan sees its own gaps; a practice sees the gaps of the patients attributed to it today, of the
plans it partners with (the member scope, an SQL EXISTS on attributions); nobody else sees any.
The measure catalog is the plan's: a practice reads the measures of its partner plans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from organizations.access import Actor


class MeasureQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> MeasureQuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(plan_id__in=actor.partner_plan_ids)
        return self.none()

    def for_plan(self, plan_id: int) -> MeasureQuerySet:
        return self.filter(plan_id=plan_id)


class CareGapQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> CareGapQuerySet:
        from members.querysets import practice_sees

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(practice_sees(actor, member_ref="member_id"))  # the member scope, on the gap
        return self.none()

    def for_plan(self, plan_id: int) -> CareGapQuerySet:
        return self.filter(plan_id=plan_id)

    def still_open(self) -> CareGapQuerySet:
        from caregaps.models import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)
