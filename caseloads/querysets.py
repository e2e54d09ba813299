"""Scoping for enrollments: a plan's own; a practice sees the enrollment status of its attributed
patients (seed 000: communicate enrollment status to the provider partner)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef

if TYPE_CHECKING:
    from organizations.access import Actor


class EnrollmentQuerySet(models.QuerySet):
    def active(self) -> EnrollmentQuerySet:
        return self.filter(status="active")

    def visible_to(self, actor: Actor) -> EnrollmentQuerySet:
        from members.models import Member

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(member__in=Member.objects.visible_to(actor))
        return self.none()


class TaskQuerySet(models.QuerySet):
    def open(self) -> TaskQuerySet:
        return self.filter(status="open")

    def visible_to(self, actor: Actor) -> TaskQuerySet:
        """Worklist tasks are the plan's own work: plan staff only."""
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        return self.none()


class ContactLogQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> ContactLogQuerySet:
        """The plan's whole log; a practice sees the shareable entries about its attributed
        patients, and only while a release in force names it for care coordination (part of the
        query, as for care plans: a revocation takes effect at once)."""
        from members.models import Member, ReleaseOfInformation

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            released = ReleaseOfInformation.objects.filter(member_id=OuterRef("member_id")).covering(
                organization_id=actor.organization.pk, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION
            )
            return self.filter(shareable=True, member__in=Member.objects.visible_to(actor)).filter(Exists(released))
        return self.none()
