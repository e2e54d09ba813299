"""Scoping for care plans (DESIGN.md: tenancy, and "consent gates sharing").

Plan staff see their plan's care plans, whole. Practice staff see the care plan of a patient
attributed to their practice today (the member scope), and only while a release of information in
force names the practice for care coordination: a revoked or expired release shares nothing, at
once, because the test is part of every query. Of such a plan a practice sees only the problems,
goals and interventions marked shareable; barriers, strengths and the version history (whose
snapshots hold plan-internal items) stay with the plan. Everyone else sees nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q

if TYPE_CHECKING:
    from organizations.access import Actor


class CarePlanQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> CarePlanQuerySet:
        from members.models import Member, ReleaseOfInformation

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff and actor.partner_plan_ids:
            released = ReleaseOfInformation.objects.filter(member_id=OuterRef("member_id")).covering(
                organization_id=actor.organization.pk, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION
            )
            return self.filter(plan_id__in=actor.partner_plan_ids, member__in=Member.objects.visible_to(actor)).filter(
                Exists(released)
            )
        return self.none()


class SharedItemQuerySet(models.QuerySet):
    """Problems, goals, interventions: a practice sees the shareable ones of plans it may see;
    those holding substance-use disorder information (42 CFR Part 2) only under a release that
    covers such records (DESIGN.md: "shared only under its own consent")."""

    def visible_to(self, actor: Actor) -> models.QuerySet:
        from careplans.models import CarePlan
        from members.models import ReleaseOfInformation

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            part2 = ReleaseOfInformation.objects.filter(member_id=OuterRef("care_plan__member_id")).covering(
                organization_id=actor.organization.pk,
                purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION,
                substance_use=True,
            )
            return self.filter(shareable=True, care_plan__in=CarePlan.objects.visible_to(actor)).filter(
                Q(substance_use=False) | Exists(part2)
            )
        return self.none()


class CarePlanChildQuerySet(models.QuerySet):
    """Acknowledgements: a practice sees its own."""

    def visible_to(self, actor: Actor) -> models.QuerySet:
        from careplans.models import CarePlan

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(practice_id=actor.organization.pk, care_plan__in=CarePlan.objects.visible_to(actor))
        return self.none()


class PlanOnlyChildQuerySet(models.QuerySet):
    """Version history: snapshots hold plan-internal items, so the plan's own staff only."""

    def visible_to(self, actor: Actor) -> models.QuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        return self.none()


class AssessmentQuerySet(models.QuerySet):
    """Assessments are the plan's working record: its own staff only."""

    def visible_to(self, actor: Actor) -> AssessmentQuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        return self.none()


class RecordRequestQuerySet(models.QuerySet):
    """The plan's own requests; a practice sees the requests addressed to it by a partner plan
    (also for a patient attributed elsewhere now: it is asked about its own records)."""

    def visible_to(self, actor: Actor) -> RecordRequestQuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(practice_id=actor.organization.pk, plan_id__in=actor.partner_plan_ids)
        return self.none()


class RecordRequestChildQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        from careplans.models import RecordRequest

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(request__in=RecordRequest.objects.visible_to(actor))
        return self.none()


class PlanOnlyMemberQuerySet(models.QuerySet):
    """Plan-kept records about the member (coordination notices): the plan's own staff only."""

    def visible_to(self, actor: Actor) -> models.QuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        return self.none()
