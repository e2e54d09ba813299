"""Scoping for member data: every read starts from `visible_to(actor)` (DESIGN.md).

Plan staff see their plan's rows. Practice staff see members of partner plans who are attributed
to their practice today, found by an SQL join (EXISTS) on attributions, never by per-row
permission checks; of those members' rows, only what the plan shares (see below). Everyone else,
and anyone without an organization, sees nothing.

"Today" is the date in the row's plan's time zone, computed by the database (PlanLocalDate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import Expression

from organizations.models import PlanLocalDate

if TYPE_CHECKING:
    from organizations.access import Actor

# What a practice sees of a care team without a release naming it: who coordinates.
PRACTICE_BASELINE_ROLES = ("pcp", "care_manager")


def current_on(day: dt.date | None = None, prefix: str = "") -> Q:
    """Rows (spans) in force on `day`; by default on today's date in each row's plan."""
    today: dt.date | Expression = day if day is not None else PlanLocalDate(f"{prefix}plan__timezone")
    return Q(**{f"{prefix}start_date__lte": today}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": today})
    )


def practice_sees(actor: Actor, *, member_ref: str) -> Q:
    """The practice scope of DESIGN.md as a condition on rows that name a member (`member_ref`:
    "pk" on members, "member_id" on rows hanging off one): a member of a partner plan attributed
    to the practice today. As an EXISTS on the row itself, a child table (care gaps) is filtered
    without going through the member table."""
    from members.models import Attribution

    attributed = Attribution.objects.filter(member_id=OuterRef(member_ref), practice_id=actor.organization.pk)
    return Q(plan_id__in=actor.partner_plan_ids) & on_each_plans_date(
        actor, lambda day: Q(Exists(attributed.filter(current_on(day))))
    )


def on_each_plans_date(actor: Actor, condition: Callable[[dt.date | None], Q]) -> Q:
    """`condition(today)` for rows of the actor's plans (rows with a `plan_id`): with the one date
    they all agree on, nearly always; in the hour a day they straddle midnight, each plan's rows
    with that plan's date, still constants in the query. None (each row's plan's date, looked up
    per row) only for an actor that knows no plan time zones."""
    today = actor.local_today()
    if today is not None or not actor.plan_zones:
        return condition(today)
    either = Q()
    for plan_id, day in actor.plan_dates().items():
        either |= Q(plan_id=plan_id) & condition(day)
    return either


class MemberQuerySet(models.QuerySet):
    def for_plan(self, plan_id: int) -> MemberQuerySet:
        return self.filter(plan_id=plan_id)

    def attributed_to(self, practice_id: int, *, on: dt.date | None = None) -> MemberQuerySet:
        from members.models import Attribution

        return self.filter(
            Exists(Attribution.objects.filter(current_on(on), member_id=OuterRef("pk"), practice_id=practice_id))
        )

    def visible_to(self, actor: Actor) -> MemberQuerySet:
        if actor.is_plan_staff:
            return self.for_plan(actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            return self.filter(practice_sees(actor, member_ref="pk"))
        return self.none()


class _MemberChildQuerySet(models.QuerySet):
    """Rows that hang off a member: visible only when their member is."""

    def visible_to(self, actor: Actor) -> models.QuerySet:
        from members.models import Member

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(member__in=Member.objects.visible_to(actor))
        return self.none()


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
    def visible_to(self, actor: Actor) -> models.QuerySet:
        """A practice sees the coordinating contacts of its patients; the rest of the care team
        only under a release in force that names it for care coordination."""
        from members.models import ReleaseOfInformation

        qs = super().visible_to(actor)
        if actor.is_practice_staff:
            covered = ReleaseOfInformation.objects.filter(member_id=OuterRef("member_id")).covering(
                organization_id=actor.organization.pk, purpose="care_coordination"
            )
            qs = qs.filter(Q(role__in=PRACTICE_BASELINE_ROLES) | Exists(covered))
        return qs


class ReleaseQuerySet(_MemberChildQuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        """A practice sees the releases that name it, never those naming other parties (a release
        to a substance-use program is itself sensitive)."""
        qs = super().visible_to(actor)
        if actor.is_practice_staff:
            qs = qs.filter(recipient_organization_id=actor.organization.pk)
        return qs

    @staticmethod
    def in_force_condition(on: dt.date | None = None) -> Q:
        today: dt.date | Expression = on if on is not None else PlanLocalDate("plan__timezone")
        return (
            Q(effective_from__lte=today)
            & (Q(expires_on__isnull=True) | Q(expires_on__gte=today))
            & Q(revoked_at__isnull=True)
        )

    def in_force(self, *, on: dt.date | None = None) -> ReleaseQuerySet:
        return self.filter(self.in_force_condition(on))

    def covering(self, *, organization_id: int, purpose: str, substance_use: bool = False) -> ReleaseQuerySet:
        qs = self.in_force().filter(recipient_organization_id=organization_id, purposes__contains=[purpose])
        return qs.filter(includes_substance_use=True) if substance_use else qs


class RosterImportQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> RosterImportQuerySet:
        if not actor.is_plan_staff:
            return self.none()
        return self.filter(plan_id=actor.organization.pk)
