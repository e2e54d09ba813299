"""Reads of member data. Each starts from a `visible_to(actor)` scope; outsiders get 404."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from caseloads.models import Enrollment
from core import audit
from core.pagination import Page, paginate
from members import search
from members.models import (
    Attribution,
    CareTeamMember,
    EligibilitySpan,
    Member,
    ReleaseOfInformation,
    RosterImport,
)
from members.querysets import current_on
from members.services import progress_key
from organizations.access import Actor
from referrals.models import Referral

LIST_ORDER = ("sort_last", "sort_first", "id")  # case-insensitive name order (the member_*name indexes)


LIST_FIELDS = (
    "sort_last",
    "sort_first",
    "id",
    "public_id",
    "plan_id",
    "member_number",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "sex",
    "preferred_language",
    "risk_tier",
    "practice_name",
    "eligible",
    "risk_visible",
)


def member_rows(actor: Actor) -> QuerySet:
    """Members the actor may see, as the dicts a list row shows (one query per page; plain dicts
    because building model instances cost more than the query at fifty rows)."""
    today = actor.local_today()  # one date for all the actor's plans, else each row's plan's own
    current_practice = Attribution.objects.filter(current_on(today), member_id=OuterRef("pk"))
    if actor.is_practice_staff:
        risk_visible = Exists(
            ReleaseOfInformation.objects.filter(member_id=OuterRef("pk")).covering(
                organization_id=actor.organization.pk, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION
            )
        )
    else:
        risk_visible = Value(actor.is_plan_staff)
    return (
        Member.objects.visible_to(actor)
        .annotate(
            sort_last=Lower("last_name"),
            sort_first=Lower("first_name"),
            practice_name=Subquery(current_practice.values("practice__name")[:1]),
            eligible=Exists(EligibilitySpan.objects.filter(current_on(today), member_id=OuterRef("pk"))),
            risk_visible=risk_visible,
        )
        .values(*LIST_FIELDS)
    )


def member_page(qs: QuerySet, *, cursor: str | None, size: int) -> Page:
    return paginate(qs, ordering=LIST_ORDER, cursor=cursor, size=size)


def member_search(actor: Actor, qs: QuerySet, query: str) -> list:
    terms = search.parse(query)
    if not terms:
        return []
    return search.search(qs, terms)


def access_member(actor: Actor, member_id: uuid.UUID | str, *, via: str) -> Member:
    """The member if the actor may see them (404 otherwise, as for an id that does not exist).
    Every page that opens a member record comes through here, so each of them is audited."""
    member = get_object_or_404(Member.objects.visible_to(actor).select_related("plan"), public_id=member_id)
    actor.require("organizations.view_members")
    audit_reads(actor, [member], via=via)
    return member


def audit_reads(actor: Actor, members: list, *, via: str, action: str = audit.Action.READ) -> None:
    """One audit event per member record shown (pages, API, exports); list rows are dicts."""
    audit.record_many(
        actor=actor,
        action=action,
        object_type="member",
        detail={"via": via},
        objects=[
            (m["public_id"], m["plan_id"], m["id"]) if isinstance(m, dict) else (m.public_id, m.plan_id, m.pk)
            for m in members
        ],
    )


@dataclass(frozen=True)
class RiskVisibility:
    tier: bool
    inputs: bool


def practice_covered(actor: Actor, member: Member) -> bool:
    """A practice sees plan-generated detail (full care team, risk tier) only under a release in
    force that names it for care coordination. Plan staff are the plan: always covered."""
    if not actor.is_practice_staff:
        return actor.is_plan_staff
    return (
        ReleaseOfInformation.objects.filter(member=member)
        .covering(organization_id=actor.organization.pk, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION)
        .exists()
    )


def risk_visibility(actor: Actor, member: Member, *, covered: bool | None = None) -> RiskVisibility:
    internal = actor.can("organizations.view_member_internal")
    if covered is None:
        covered = practice_covered(actor, member)
    return RiskVisibility(tier=internal or covered, inputs=internal)


@dataclass(frozen=True)
class MemberSummary:
    member: Member
    today: dt.date  # in the member's plan's time zone
    eligibility: list[EligibilitySpan]
    attributions: list[Attribution]
    care_team: list[CareTeamMember]
    past_care_team: list[CareTeamMember]
    releases: list[ReleaseOfInformation]
    practice_covered: bool
    risk: RiskVisibility
    can_edit: bool
    can_manage_care_team: bool
    can_manage_consents: bool
    enrollment: object | None = None
    referrals: list = ()
    can_refer: bool = False
    can_view_careplan: bool = False
    episodes: list = ()
    screenings: list = ()
    social_needs: list = ()
    can_screen: bool = False

    @property
    def current_eligibility(self) -> EligibilitySpan | None:
        return next((span for span in self.eligibility if span.in_force_on(self.today)), None)

    @property
    def current_attribution(self) -> Attribution | None:
        return next((a for a in self.attributions if a.in_force_on(self.today)), None)

    @property
    def point_of_contact(self) -> CareTeamMember | None:
        return next((c for c in self.care_team if c.is_point_of_contact), None)


def member_summary(actor: Actor, member: Member) -> MemberSummary:
    """Everything the summary page shows, as the scopes trim it for this actor (fixed query count)."""
    today = member.plan.local_date()
    eligibility = list(EligibilitySpan.objects.visible_to(actor).filter(member=member))
    attributions = list(Attribution.objects.visible_to(actor).filter(member=member).select_related("practice"))
    releases = list(
        ReleaseOfInformation.objects.visible_to(actor).filter(member=member).select_related("recipient_organization")
    )
    for release in releases:
        release.in_force = release.in_force_on(today)
    care_team = list(
        CareTeamMember.objects.visible_to(actor).filter(member=member).select_related("organization", "user")
    )
    if actor.is_practice_staff:  # the scope shows a practice only the releases naming it
        covered = any(r.in_force and ReleaseOfInformation.Purpose.CARE_COORDINATION in r.purposes for r in releases)
    else:
        covered = actor.is_plan_staff
    risk = risk_visibility(actor, member, covered=covered)
    current = [c for c in care_team if c.in_force_on(today)]
    return MemberSummary(
        member=member,
        today=today,
        eligibility=eligibility,
        attributions=attributions,
        care_team=current,
        past_care_team=[c for c in care_team if c not in current] if risk.inputs else [],
        releases=releases,
        practice_covered=covered,
        risk=risk,
        can_edit=actor.can("organizations.change_members"),
        can_manage_care_team=actor.can("organizations.manage_care_team"),
        can_manage_consents=actor.can("organizations.manage_consents"),
        # Care management (caseloads, referrals): what later workflows add to the summary.
        enrollment=Enrollment.objects.visible_to(actor)
        .active()
        .filter(member=member)
        .select_related("care_manager")
        .first(),
        referrals=list(
            Referral.objects.visible_to(actor)
            .filter(member=member)
            .select_related("assigned_to")
            .order_by("-submitted_at")[:5]
        ),
        can_refer=actor.can(
            "organizations.refer_members" if actor.is_practice_staff else "organizations.record_referrals"
        ),
        can_view_careplan=actor.can("organizations.view_careplans"),
        episodes=_episodes(actor, member),
        **_social_needs(actor, member),
    )


def _social_needs(actor: Actor, member: Member) -> dict:
    """The member's last screenings and open social needs (two queries; none without the right)."""
    from sdoh.models import Need, Screening

    if not actor.can("organizations.view_social_needs"):
        return {}
    return {
        "screenings": list(
            Screening.objects.visible_to(actor).filter(member=member).order_by("-screened_on", "-id")[:3]
        ),
        "social_needs": list(
            Need.objects.visible_to(actor).filter(member=member, status__in=Need.STILL_OPEN).order_by("created_at")
        ),
        "can_screen": actor.can("organizations.screen_members"),
    }


def _episodes(actor: Actor, member: Member) -> list:
    from transitions.selectors import member_episodes  # transitions builds on members

    return member_episodes(actor, member)


def access_care_team_entry(actor: Actor, member: Member, entry_id: uuid.UUID) -> CareTeamMember:
    return get_object_or_404(CareTeamMember.objects.visible_to(actor).filter(member=member), public_id=entry_id)


def access_release(actor: Actor, member: Member, release_id: uuid.UUID) -> ReleaseOfInformation:
    return get_object_or_404(ReleaseOfInformation.objects.visible_to(actor).filter(member=member), public_id=release_id)


def member_detail_for_api(actor: Actor, member_id: uuid.UUID | str) -> Member:
    """The member with the related rows the API's detail view serializes (fixed query count)."""
    qs = (
        Member.objects.visible_to(actor)
        .select_related("plan")
        .prefetch_related(
            Prefetch("eligibility_spans", queryset=EligibilitySpan.objects.visible_to(actor)),
            Prefetch("attributions", queryset=Attribution.objects.visible_to(actor).select_related("practice")),
        )
    )
    member = get_object_or_404(qs, public_id=member_id)
    actor.require("organizations.view_members")
    audit_reads(actor, [member], via="api member detail")
    return member


# Roster imports --------------------------------------------------------------------------------


def roster_imports(actor: Actor) -> QuerySet[RosterImport]:
    return RosterImport.objects.visible_to(actor).select_related("uploaded_by")


def access_roster_import(actor: Actor, import_id: uuid.UUID | str) -> RosterImport:
    roster_import = get_object_or_404(roster_imports(actor), public_id=import_id)
    actor.require("organizations.import_roster")
    return roster_import


@dataclass(frozen=True)
class ImportProgress:
    rows: int
    percent: int
    phase: str


def roster_import_progress(roster_import: RosterImport) -> ImportProgress:
    """Live from the cache while the worker runs; final from the row once done."""
    if roster_import.is_finished:
        return ImportProgress(roster_import.processed_rows, 100, roster_import.get_status_display())
    live = cache.get(progress_key(roster_import)) or {}
    rows, phase = live.get("rows", 0), live.get("phase", "")
    if phase == "applying":
        return ImportProgress(rows, 99, "Applying changes")
    if roster_import.status == RosterImport.Status.PENDING:
        return ImportProgress(0, 0, "Waiting for a worker")
    total = roster_import.total_rows or 0
    return ImportProgress(rows, min(99, int(100 * rows / total)) if total else 0, "Checking rows")
