"""Reads for ADT in and transition episodes. Each starts from a `visible_to(actor)` scope; outsiders get 404."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from members.models import Member, ReleaseOfInformation
from members.selectors import audit_reads
from organizations.access import Actor
from transitions.models import AdtMessage, Appointment, Episode, EpisodeStep

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


# ---- Transition episodes --------------------------------------------------------------------------

EPISODE_ORDER = ("next_due_at", "id")  # earliest due first: overdue episodes lead


def episodes(actor: Actor) -> QuerySet[Episode]:
    actor.require("organizations.view_transitions")
    return Episode.objects.visible_to(actor)


def episode_worklist(actor: Actor, *, mine: bool = False, practice: str = "", overdue: bool = False) -> QuerySet:
    """Open episodes by their next due time, one row each with the step that comes due next."""
    qs = episodes(actor).open()
    if mine and actor.user is not None:
        qs = qs.filter(care_manager=actor.user) if actor.is_plan_staff else qs
    if practice and actor.is_plan_staff:
        qs = qs.filter(practice__public_id=practice)
    if overdue:
        qs = qs.filter(next_due_at__lt=timezone.now())
    next_step = EpisodeStep.objects.filter(episode_id=OuterRef("pk"), status__in=["open", "missed"]).order_by(
        "due_at", "id"
    )
    return qs.annotate(
        next_kind=Subquery(next_step.values("kind")[:1]),
        next_side=Subquery(next_step.values("side")[:1]),
        next_status=Subquery(next_step.values("status")[:1]),
    ).values(
        "id",
        "public_id",
        "next_due_at",
        "discharged_at",
        "is_mental_health",
        "readmitted_at",
        "readmission_of_id",
        "lace_score",
        "member__public_id",
        "member__first_name",
        "member__last_name",
        "member__member_number",
        "practice__name",
        "care_manager__first_name",
        "care_manager__last_name",
        "encounter__facility__name",
        "next_kind",
        "next_side",
        "next_status",
    )


def access_episode(actor: Actor, episode_id: uuid.UUID | str) -> Episode:
    episode = get_object_or_404(
        Episode.objects.visible_to(actor).select_related(
            "member",
            "plan",
            "practice",
            "care_manager",
            "encounter__facility",
            "readmission_of",
            "readmission_encounter",
        ),
        public_id=episode_id,
    )
    actor.require("organizations.view_transitions")  # an outsider got 404 above; an insider without it, 403
    audit_reads(actor, [episode.member], via="transition episode")
    return episode


def episode_steps(actor: Actor, episode: Episode) -> list[EpisodeStep]:
    return list(EpisodeStep.objects.visible_to(actor).filter(episode=episode).select_related("owner", "met_by"))


def episode_appointments(actor: Actor, episode: Episode) -> list[Appointment]:
    return list(
        Appointment.objects.visible_to(actor)
        .filter(episode=episode)
        .select_related("scheduled_by", "outcome_recorded_by", "rescheduled_from")
    )


def access_appointment(actor: Actor, appointment_id: uuid.UUID | str) -> Appointment:
    appointment = get_object_or_404(
        Appointment.objects.visible_to(actor).select_related("episode", "member"), public_id=appointment_id
    )
    actor.require("organizations.view_transitions")
    return appointment


def discharge_info_visible(actor: Actor, episode: Episode) -> bool:
    """The plan always; the practice while a release in force names it for care coordination."""
    if actor.is_plan_staff:
        return True
    return (
        ReleaseOfInformation.objects.filter(member_id=episode.member_id)
        .covering(organization_id=actor.organization.pk, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION)
        .exists()
    )


def member_episodes(actor: Actor, member: Member) -> list[Episode]:
    if not actor.can("organizations.view_transitions"):
        return []
    return list(Episode.objects.visible_to(actor).filter(member=member).select_related("encounter__facility")[:10])


# ---- Rates ----------------------------------------------------------------------------------------

RATE_STEPS = (
    (EpisodeStep.Kind.FOLLOW_UP, "7-day follow-up"),
    (EpisodeStep.Kind.MED_REC, "Medication reconciliation ≤ 30 days"),
    (EpisodeStep.Kind.OUTREACH, "Outreach ≤ 2 business days"),
)


@dataclass
class Rate:
    met: int = 0
    eligible: int = 0
    pending: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.eligible) if self.eligible else None


@dataclass
class RateRow:
    practice_id: int | None
    name: str
    episodes: int = 0
    rates: dict = field(default_factory=dict)  # measure key -> Rate
    missed: int = 0
    escalated: int = 0
    is_total: bool = False

    def rate(self, key: str) -> Rate:
        return self.rates.setdefault(key, Rate())


def rates(actor: Actor, *, start: dt.date, end: dt.date, practice_id: int | None = None) -> list[RateRow]:
    """Per practice, then the plan's total, for episodes discharged from `start` to `end` (the
    plan's local dates). A step counts once its window has closed or it was met: met on time /
    (met + missed + open past due); readmissions: readmitted within 30 days / discharges whose 30
    days are over or that were readmitted. Two queries, whatever the number of practices."""
    actor.require("organizations.view_transitions")
    base = Episode.objects.exclude(status=Episode.Status.CANCELLED)
    if actor.is_plan_staff:
        base = base.filter(plan_id=actor.organization.pk)
        if practice_id is not None:
            base = base.filter(practice_id=practice_id)
    elif actor.is_practice_staff:
        # A practice sees its own figures: the discharges of patients attributed to it then.
        base = base.filter(practice_id=actor.organization.pk, plan_id__in=actor.partner_plan_ids)
    else:
        return []
    tz = actor.organization.tz
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    base = base.filter(discharged_at__gte=lo, discharged_at__lt=hi)
    now = timezone.now()
    rows: dict[int | None, RateRow] = {}

    def row(pk, name) -> RateRow:
        return rows.setdefault(pk, RateRow(pk, name or "No attributed practice"))

    closed = Q(status="missed") | Q(status="met") | Q(status="open", due_at__lt=now)
    steps = (
        EpisodeStep.objects.filter(episode__in=base, kind__in=[k for k, _ in RATE_STEPS])
        .values("episode__practice_id", "episode__practice__name", "kind")
        .annotate(
            met=Count("id", filter=Q(status="met", met_at__lte=F("due_at"))),
            eligible=Count("id", filter=closed),
            pending=Count("id", filter=Q(status="open", due_at__gte=now)),
            missed=Count("id", filter=Q(missed_at__isnull=False)),
            escalated=Count("id", filter=Q(escalation__gte=EpisodeStep.Escalation.SUPERVISOR)),
        )
    )
    for s in steps:
        r = row(s["episode__practice_id"], s["episode__practice__name"])
        rate = r.rate(s["kind"])
        rate.met, rate.eligible, rate.pending = s["met"], s["eligible"], s["pending"]
        r.missed += s["missed"]
        r.escalated += s["escalated"]
    window_over = Q(discharged_at__lt=now - dt.timedelta(days=30)) | Q(readmitted_at__isnull=False)
    for e in base.values("practice_id", "practice__name").annotate(
        n=Count("id"),
        readmitted=Count("id", filter=Q(readmitted_at__isnull=False)),
        eligible=Count("id", filter=window_over),
    ):
        r = row(e["practice_id"], e["practice__name"])
        r.episodes = e["n"]
        rate = r.rate("readmission")
        rate.met, rate.eligible, rate.pending = e["readmitted"], e["eligible"], e["n"] - e["eligible"]
    ordered = sorted(rows.values(), key=lambda r: (r.practice_id is None, r.name))
    if actor.is_plan_staff and len(ordered) != 1:
        total = RateRow(None, "All practices (plan)", is_total=True)
        for r in ordered:
            total.episodes += r.episodes
            total.missed += r.missed
            total.escalated += r.escalated
            for key, rate in r.rates.items():
                t = total.rate(key)
                t.met += rate.met
                t.eligible += rate.eligible
                t.pending += rate.pending
        ordered.append(total)
    return ordered
