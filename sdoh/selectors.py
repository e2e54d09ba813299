"""Every read of screenings and needs starts here, from the actor's scope (sdoh.querysets)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404

from members.selectors import audit_reads
from organizations.access import Actor
from organizations.models import Organization
from sdoh.models import CommunityService, Need, Screening, SocialReferral


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


STALE_AFTER = dt.timedelta(days=365)


def resources(actor: Actor, *, need: str = "", zip_code: str = "", language: str = "", stale: bool = False):
    """Directory search: services meeting the need, serving the ZIP code, in the language (each
    optional; array containment on GIN indexes), active ones, by organization and service. `stale`
    keeps only entries not verified for a year."""
    actor.require("organizations.view_social_needs")
    qs = CommunityService.objects.visible_to(actor).filter(is_active=True)
    if need:
        qs = qs.filter(categories__contains=[need])
    if zip_code:
        qs = qs.filter(zip_codes__contains=[zip_code])
    if language:
        qs = qs.filter(languages__contains=[language.lower()])
    if stale:
        qs = qs.filter(last_verified__lt=actor.organization.local_date() - STALE_AFTER)
    return qs


def access_resource(actor: Actor, service_id: uuid.UUID | str) -> CommunityService:
    """An entry to keep (verify): only the plan's own directory; 404 for everyone else, partner
    practices included (they read the directory, they do not keep it)."""
    qs = (
        CommunityService.objects.filter(plan_id=actor.organization.pk)
        if actor.is_plan_staff
        else CommunityService.objects.none()
    )
    found = get_object_or_404(qs, public_id=service_id)
    actor.require("organizations.manage_resources")
    return found


def social_referrals(actor: Actor) -> QuerySet[SocialReferral]:
    actor.require("organizations.view_social_referrals")
    return SocialReferral.objects.visible_to(actor).select_related("member", "organization", "service")


def access_social_referral(actor: Actor, referral_id: uuid.UUID | str) -> SocialReferral:
    """One referral: 404 outside the actor's scope (a community organization: anything not sent
    to it), 403 for an insider without the permission; the read is audited."""
    found = get_object_or_404(
        SocialReferral.objects.visible_to(actor).select_related("member", "organization", "service", "requested_by"),
        public_id=referral_id,
    )
    actor.require("organizations.view_social_referrals")
    audit_reads(actor, [found.member], via="social referral")
    return found


@dataclass(frozen=True)
class ReferralMember:
    """What the receiving organization needs to serve the member, and no more (DESIGN.md:
    minimum necessary): name, phone, language, ZIP code. Plan and practice see the member page."""

    name: str
    phone: str
    language: str
    zip_code: str
    member_public_id: object = None


def referral_member_view(actor: Actor, referral: SocialReferral) -> ReferralMember:
    m = referral.member
    full = not (actor.organization is not None and actor.organization.kind == "community")
    return ReferralMember(
        name=m.full_name,
        phone=m.phone,
        language=m.preferred_language,
        zip_code=(m.postal_code or "")[:5],
        member_public_id=m.public_id if full else None,
    )


def referral_organizations(actor: Actor) -> QuerySet[Organization]:
    """Community organizations the plan can refer to (those with staff in CareCoord)."""
    return Organization.objects.filter(kind=Organization.Kind.COMMUNITY).order_by("name")


TRANSPORT_CATEGORY = "transportation_insecurity"


def transport_vendors(plan_id: int) -> QuerySet[Organization]:
    """The organizations a ride can be requested from: those with an active transportation service
    in the plan's directory."""
    rides = CommunityService.objects.filter(
        plan_id=plan_id, is_active=True, categories__contains=[TRANSPORT_CATEGORY], organization_id=OuterRef("pk")
    )
    return Organization.objects.filter(Exists(rides), kind=Organization.Kind.COMMUNITY).order_by("name")
