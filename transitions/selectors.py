"""Reads for ADT in. Each starts from a `visible_to(actor)` scope; outsiders get 404."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from members.models import Member
from organizations.access import Actor
from transitions.models import AdtMessage

QUEUE_ORDER = ("received_at", "id")  # oldest first: the longest-waiting notice is worked first


def review_queue(actor: Actor) -> QuerySet:
    actor.require("organizations.review_adt_messages")
    return (
        AdtMessage.objects.visible_to(actor)
        .needs_review()
        .select_related("feed__facility")
        .only(
            "id",
            "public_id",
            "received_at",
            "transport",
            "message_type",
            "event",
            "control_id",
            "sending_facility",
            "patient_name",
            "patient_dob",
            "patient_sex",
            "error",
            "status",
            "feed__facility__name",
        )
    )


def access_adt_message(actor: Actor, message_id: uuid.UUID) -> AdtMessage:
    message = get_object_or_404(
        AdtMessage.objects.visible_to(actor).select_related("feed__facility", "member", "encounter", "reviewed_by"),
        public_id=message_id,
    )
    actor.require("organizations.review_adt_messages")
    return message


def review_candidates(actor: Actor, message: AdtMessage, *, limit: int = 25) -> list[Member]:
    """Members of the reviewer's own plan who could be the patient: same last name (first word)
    or same birth date, closest first. Never another plan's members."""
    family = message.patient_name.split(",")[0].strip()
    cond = Q()
    if family:
        cond |= Q(last_name__iexact=family)
    if message.patient_dob is not None:
        cond |= Q(date_of_birth=message.patient_dob)
    if not cond:
        return []
    rows = list(Member.objects.visible_to(actor).filter(cond).order_by("last_name", "first_name", "id")[:limit])
    rows.sort(key=lambda m: -((m.last_name.lower() == family.lower()) + (m.date_of_birth == message.patient_dob)))
    return rows
