"""Every read of care gaps starts here, from the actor's scope (caregaps.querysets)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from caregaps.models import CareGap, GapEvent, Measure
from members.selectors import audit_reads
from organizations.access import Actor


def gaps(actor: Actor) -> QuerySet[CareGap]:
    actor.require("organizations.view_care_gaps")
    return CareGap.objects.visible_to(actor)


def measures(actor: Actor) -> QuerySet[Measure]:
    actor.require("organizations.view_care_gaps")
    return Measure.objects.visible_to(actor)


def access_gap(actor: Actor, gap_id: uuid.UUID | str) -> CareGap:
    """One gap: 404 outside the actor's scope (the same as a missing id), 403 for an insider
    without the permission; the read is audited against the member."""
    gap = get_object_or_404(CareGap.objects.visible_to(actor).select_related("member", "measure"), public_id=gap_id)
    actor.require("organizations.view_care_gaps")
    audit_reads(actor, [gap.member], via="care gap")
    return gap


def gap_history(gap: CareGap) -> QuerySet[GapEvent]:
    return gap.events.order_by("at", "id")
