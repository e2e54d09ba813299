"""Every read of screenings and needs starts here, from the actor's scope (sdoh.querysets)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from members.selectors import audit_reads
from organizations.access import Actor
from sdoh.models import Need, Screening


def screenings(actor: Actor) -> QuerySet[Screening]:
    actor.require("organizations.view_social_needs")
    return Screening.objects.visible_to(actor)


def access_screening(actor: Actor, screening_id: uuid.UUID | str) -> Screening:
    """One screening: 404 outside the actor's scope, 403 for an insider without the permission."""
    found = get_object_or_404(
        Screening.objects.visible_to(actor).select_related("member", "entered_by", "entered_by_organization"),
        public_id=screening_id,
    )
    actor.require("organizations.view_social_needs")
    audit_reads(actor, [found.member], via="screening")
    return found


def access_need(actor: Actor, need_id: uuid.UUID | str) -> Need:
    found = get_object_or_404(Need.objects.visible_to(actor).select_related("member", "screening"), public_id=need_id)
    actor.require("organizations.view_social_needs")
    return found


def open_needs(actor: Actor) -> QuerySet[Need]:
    """The member advocates' worklist: open needs, oldest first, with the member."""
    actor.require("organizations.view_social_needs")
    return (
        Need.objects.visible_to(actor)
        .filter(status__in=Need.STILL_OPEN)
        .select_related("member", "screening")
        .order_by("created_at", "id")
    )
