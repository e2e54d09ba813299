"""Reads of referrals, each starting from `Referral.objects.visible_to(actor)`; outsiders get 404."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Case, Count, FloatField, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from caseloads.models import ACUITY_WEIGHT, Enrollment
from caseloads.services import CARE_ROLES
from core.pagination import Page, paginate
from organizations.access import Actor
from organizations.models import Credential, Role, User
from referrals.models import OPEN, OutreachAttempt, Referral, ReferralAttachment, ReferralEvent

QUEUE_ORDER = ("queue_rank", "submitted_at", "id")
CLOSED_ORDER = ("-status_changed_at", "-id")
ROW_FIELDS = (  # what a queue row shows (views._queue_rows), and both orderings' keys
    "id",
    "public_id",
    "status",
    "priority",
    "queue_rank",
    "program",
    "source",
    "submitted_at",
    "status_changed_at",
    "due_at",
    "missed_deadlines",
    "member__first_name",
    "member__last_name",
    "member__member_number",
    "referring_practice__name",
    "assigned_to_id",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


def referrals(actor: Actor) -> QuerySet[Referral]:
    """The list of referrals (insiders without the right get 403)."""
    actor.require("organizations.view_referrals")
    return Referral.objects.visible_to(actor)


def queue_page(qs: QuerySet, *, closed: bool, cursor: str | None, size: int) -> Page:
    """One page of the queue as row dicts (one query): open referrals by priority then age, or
    closed ones most recent first."""
    return paginate(qs.values(*ROW_FIELDS), ordering=CLOSED_ORDER if closed else QUEUE_ORDER, cursor=cursor, size=size)


def status_counts(qs: QuerySet) -> dict[str, int]:
    """Open referrals per status under the other filters (one query; closed ones are not
    counted: there are far more of them and nobody works them)."""
    rows = qs.filter(status__in=OPEN).order_by().values("status").annotate(n=Count("*"))  # index-only
    counts = {status: 0 for status in OPEN}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def access_referral(actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """One referral: 404 for anyone it is not visible to (scope first), then 403 for an insider
    without the right to see referrals."""
    referral = get_object_or_404(
        Referral.objects.visible_to(actor).select_related(
            "member__plan", "plan", "referring_practice", "assigned_to", "referred_by"
        ),
        public_id=referral_id,
    )
    actor.require("organizations.view_referrals")
    return referral


def access_attachment(actor: Actor, referral: Referral, attachment_id: uuid.UUID) -> ReferralAttachment:
    return get_object_or_404(
        ReferralAttachment.objects.visible_to(actor).filter(referral=referral), public_id=attachment_id
    )


@dataclass(frozen=True)
class ReferralView:
    referral: Referral
    events: list[ReferralEvent]
    attempts: list[OutreachAttempt]
    attachments: list[ReferralAttachment]
    linked: list[Referral]
    is_plan: bool


def referral_view(actor: Actor, referral: Referral) -> ReferralView:
    """The timeline and what hangs off a referral, as this viewer may see it (fixed queries)."""
    events = list(ReferralEvent.objects.visible_to(actor).filter(referral=referral).select_related("actor"))
    return ReferralView(
        referral=referral,
        events=events,
        attempts=list(OutreachAttempt.objects.visible_to(actor).filter(referral=referral).select_related("made_by")),
        attachments=list(ReferralAttachment.objects.visible_to(actor).filter(referral=referral)),
        linked=list(Referral.objects.visible_to(actor).filter(linked_to=referral).select_related("referring_practice")),
        is_plan=actor.is_plan_staff,
    )


# Assignment suggestions -------------------------------------------------------------------------

SKILL_CREDENTIALS = {
    Credential.RN: {Credential.RN},
    Credential.LCSW: {Credential.LCSW},
    Credential.CHW: {Credential.CHW},
}


@dataclass(frozen=True)
class Suggestion:
    person: User
    credential_match: bool
    speaks_language: bool
    load: float
    capacity: int

    @property
    def utilization(self) -> float:
        return self.load / self.capacity if self.capacity else float("inf")

    @property
    def reasons(self) -> list[str]:
        parts = []
        parts.append(f"{self.person.credential or 'no credential'}" + (" (matches)" if self.credential_match else ""))
        if self.speaks_language:
            parts.append("speaks the member's language")
        parts.append(f"caseload {self.load:g} of {self.capacity}")
        return parts


def care_staff(actor: Actor) -> QuerySet[User]:
    """The plan's people who carry caseloads, with their acuity-weighted load: the weights of
    their active enrollments plus one for each open referral assigned to them (two subqueries,
    whatever the team's size)."""
    weight = Case(
        *(When(acuity=acuity, then=Value(w)) for acuity, w in ACUITY_WEIGHT.items()), output_field=FloatField()
    )
    enrolled = (
        Enrollment.objects.active()
        .filter(care_manager=OuterRef("pk"))
        .order_by()
        .values("care_manager")
        .annotate(total=Sum(weight))
        .values("total")
    )
    assigned = (
        Referral.objects.open()
        .filter(assigned_to=OuterRef("pk"))
        .order_by()
        .values("assigned_to")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        User.objects.visible_to(actor)
        .filter(role__in=CARE_ROLES, is_active=True)
        .annotate(
            load=Coalesce(Subquery(enrolled, output_field=FloatField()), 0.0)
            + Coalesce(Subquery(assigned, output_field=FloatField()), 0.0)
        )
        .order_by("last_name", "first_name", "id")
    )


def suggestions(actor: Actor, referral: Referral, *, limit: int = 6) -> list[Suggestion]:
    """Care staff ranked for a referral: credential match for the skill triage asked for, then the
    member's language, then the lightest load against capacity."""
    language = referral.member.preferred_language.strip().lower()
    wanted = SKILL_CREDENTIALS.get(referral.skill_needed, set())
    ranked = []
    for person in care_staff(actor):
        match = person.credential in wanted or (
            referral.skill_needed == Credential.CHW and person.role == Role.MEMBER_ADVOCATE
        )
        ranked.append(
            Suggestion(
                person=person,
                credential_match=match,
                speaks_language=language in {lang.strip().lower() for lang in person.languages},
                load=person.load,
                capacity=person.caseload_capacity,
            )
        )
    ranked.sort(key=lambda s: (not s.credential_match, not s.speaks_language, s.utilization, s.person.last_name))
    return ranked[:limit]


def due_bounds(actor: Actor) -> tuple[dt.datetime, dt.datetime]:
    """(now, end of today in the plan's time zone) for the "overdue" and "due today" filters."""
    now = timezone.now()
    tz = actor.organization.tz
    end = dt.datetime.combine(timezone.localtime(now, tz).date() + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return now, end


def ages(rows: list[dict]) -> None:
    """Whole days since submission, on each row (for the queue's age column)."""
    now = timezone.now()
    for row in rows:
        row["age_days"] = (now - row["submitted_at"]).days
