"""Scoping for care gaps (DESIGN.md: care gaps are shared with the practice).

A plan sees its own gaps; a practice sees the gaps of the patients attributed to it today, of the
plans it partners with (the member scope, an SQL EXISTS on attributions); nobody else sees any.

Each gap also carries the practice its member was attributed to at the last refresh
(`CareGap.practice`, caregaps.services.attributed_practices_refresh): an indexed column that
narrows a practice's twenty thousand gaps out of a plan's millions before the attribution check
runs on each. The check still decides: a stale column can hide a gap until the next refresh,
never show one to a practice the member has left.
The measure catalog is the plan's: a practice reads the measures of its partner plans.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q

from organizations.models import PlanLocalDate

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
            # The member scope, on the gap, narrowed first by the gap's attributed practice.
            return self.filter(practice_id=actor.organization.pk).filter(practice_sees(actor, member_ref="member_id"))
        return self.none()

    def counted_for(self, actor: Actor) -> CareGapQuerySet:
        """The gaps an actor's counts count (per measure, by practice, over time): a plan's own;
        for a practice, those whose attributed practice it is, by the gap's own columns (an
        index-only count of tens of thousands of gaps, with no attribution check on each). Never
        more than visible_to: an attribution that ends stops counting that day, from the gap's
        copy of its end; only one that has just begun waits for the nightly refresh."""
        from members.querysets import on_each_plans_date

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            practice_id = actor.organization.pk
            return self.filter(plan_id__in=actor.partner_plan_ids).filter(
                on_each_plans_date(actor, lambda day: _attributed_column(practice_id, day))
            )
        return self.none()

    def attributed_to(self, practice_id: int, *, on: dt.date, counting: bool = False) -> CareGapQuerySet:
        """Gaps of members attributed to the practice on `on` (a plan's date): the column, then
        the attribution itself; for counts (see counted_for), the column alone."""
        from members.models import Attribution
        from members.querysets import current_on

        if counting:
            return self.filter(_attributed_column(practice_id, on))
        attributed = Attribution.objects.filter(
            current_on(on), member_id=OuterRef("member_id"), practice_id=practice_id
        )
        return self.filter(practice_id=practice_id).filter(Exists(attributed))

    def for_plan(self, plan_id: int) -> CareGapQuerySet:
        return self.filter(plan_id=plan_id)

    def still_open(self) -> CareGapQuerySet:
        from caregaps.models import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)


def _attributed_column(practice_id: int, day: dt.date | None) -> Q:
    """The gap's copy of its attribution names the practice on `day` (None: the gap's plan's date)."""
    today = day if day is not None else PlanLocalDate("plan__timezone")
    return Q(practice_id=practice_id) & (Q(practice_until__isnull=True) | Q(practice_until__gte=today))
