"""Scoping for ADT messages and encounters.

A plan sees the messages matched to its members, and the unmatched ones it is a candidate for
(its members share the patient's last name and birth date, or — with no such member anywhere —
every plan that receives the facility's feed). An unmatched message shows only what the facility
sent; candidate *members* are always looked up in the viewing plan's own roster. Practices and
everyone else see no messages and no encounters.

Transition episodes (and their steps and appointments) are the plan's; a practice sees those of
the patients attributed to it now (DESIGN.md: transition notices are shared with the practice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q

if TYPE_CHECKING:
    from organizations.access import Actor


class AdtMessageQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> AdtMessageQuerySet:
        from transitions.models import AdtMessage

        if not actor.is_plan_staff:
            return self.none()
        plan_id = actor.organization.pk
        candidate = AdtMessage.candidate_plans.through.objects.filter(
            adtmessage_id=OuterRef("pk"), organization_id=plan_id
        )
        return self.filter(Q(plan_id=plan_id) | Q(status="needs_review", plan__isnull=True) & Exists(candidate))

    def needs_review(self) -> AdtMessageQuerySet:
        return self.filter(status="needs_review")


class EncounterQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> EncounterQuerySet:
        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        return self.none()


class EpisodeQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> EpisodeQuerySet:
        from members.models import Member

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(member__in=Member.objects.visible_to(actor))
        return self.none()

    def open(self) -> EpisodeQuerySet:
        return self.filter(status="open")


class _EpisodeChildQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> models.QuerySet:
        from transitions.models import Episode

        if actor.is_plan_staff:
            return self.filter(plan_id=actor.organization.pk)
        if actor.is_practice_staff:
            return self.filter(episode__in=Episode.objects.visible_to(actor))
        return self.none()


class EpisodeStepQuerySet(_EpisodeChildQuerySet):
    def still_open(self) -> EpisodeStepQuerySet:
        """Not yet met: open, or missed and still to be done late."""
        return self.filter(status__in=["open", "missed"])


class AppointmentQuerySet(_EpisodeChildQuerySet):
    pass
