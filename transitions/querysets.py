"""Scoping for ADT messages and encounters.

A plan sees the messages matched to its members, and the unmatched ones it is a candidate for
(its members share the patient's last name and birth date, or — with no such member anywhere —
every plan that receives the facility's feed). An unmatched message shows only what the facility
sent; candidate *members* are always looked up in the viewing plan's own roster. Practices and
everyone else see no messages (transition notices for practices come with the episode work).
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
