"""Reads of organizations, partnerships and staff, scoped to the actor; outsiders get 404."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from organizations.access import Actor
from organizations.models import Organization, Partnership, PartnershipContact, User


def organizations(actor: Actor) -> QuerySet[Organization]:
    return Organization.objects.visible_to(actor)


def access_organization(actor: Actor, organization_id: uuid.UUID | str) -> Organization:
    return get_object_or_404(organizations(actor), public_id=organization_id)


def partnerships(actor: Actor) -> QuerySet[Partnership]:
    return (
        Partnership.objects.visible_to(actor)
        .select_related("plan", "practice")
        .prefetch_related(Prefetch("contacts", queryset=PartnershipContact.objects.select_related("user")))
    )


def access_partnership(actor: Actor, partnership_id: uuid.UUID | str) -> Partnership:
    return get_object_or_404(partnerships(actor).prefetch_related("reviews__reviewed_by"), public_id=partnership_id)


def access_contact(actor: Actor, partnership: Partnership, contact_id: uuid.UUID) -> PartnershipContact:
    return get_object_or_404(PartnershipContact.objects.filter(partnership=partnership), public_id=contact_id)


def staff(actor: Actor) -> QuerySet[User]:
    actor.require("organizations.view_staff")
    return User.objects.visible_to(actor).select_related("organization")


def access_staff(actor: Actor, user_id: uuid.UUID | str) -> User:
    return get_object_or_404(User.objects.visible_to(actor).select_related("organization"), public_id=user_id)


def practice_contacts_of(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[PartnershipContact]]:
    """The practice-side contacts (people and addresses) of each active (plan id, practice id)
    partnership, in one query: whom a plan's workflows tell about a practice's patients. Not a
    read for a person (no actor): callers are services acting for the plan."""
    found: dict[tuple[int, int], list[PartnershipContact]] = {pair: [] for pair in pairs}
    if not pairs:
        return found
    contacts = PartnershipContact.objects.filter(
        partnership__plan_id__in={plan for plan, _ in pairs},
        partnership__practice_id__in={practice for _, practice in pairs},
        partnership__status="active",
        side=PartnershipContact.Side.PRACTICE,
    ).select_related("user", "partnership")
    for contact in contacts:
        pair = (contact.partnership.plan_id, contact.partnership.practice_id)
        if pair in found:
            found[pair].append(contact)
    return found
