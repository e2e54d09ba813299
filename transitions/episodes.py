"""Every write for transition episodes (the episode half of the transitions services).

What an applied ADT event does (`on_encounter`, called inside the message's transaction):
  * A01 admit / A04 ED registration: the member's care manager and the attributed practice's
    contacts are told at once (inbox; the practice's designated point of contact by email too).
    An inpatient admission within 30 days of an earlier discharge flags that episode readmitted.
  * A03 discharge from an inpatient stay: opens the episode with its steps (STEPS below), each a
    durable deadline; computes LACE; asks for a care-plan review.
  * A11 cancels an admission (its readmission flag goes), A13 cancels the discharge (the episode
    is cancelled with its deadlines and tasks; a later A03 opens it again with new due times).

A step that comes due unmet is missed: the care manager is told and gets a worklist task; one
business day later, still unmet, the plan's supervisors are told (by email too). A missed step can
still be met late; the rates count only steps met on time. An episode closes when every step is
met, or EPISODE_WINDOW_DAYS after discharge.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min, Q
from django.urls import reverse
from django.utils import timezone

from caseloads import services as caseloads
from caseloads.models import ContactLog, Task
from caseloads.selectors import care_manager_of, care_managers_of
from core import audit, deadlines
from core.audit import Action
from core.calendar import BusinessCalendar
from core.notifications import Notice, email_address_deadline, notify, notify_many
from members.models import Attribution, Member, ReleaseOfInformation
from organizations.access import Actor
from organizations.models import Organization, PartnershipContact, Role, User
from organizations.selectors import practice_contacts_of
from organizations.services import business_calendar
from transitions import lace
from transitions.models import Appointment, Encounter, Episode, EpisodeStep, Side

log = logging.getLogger(__name__)

READMISSION_DAYS = 30
EPISODE_WINDOW_DAYS = 45
NO_EPISODE_CLASSES = frozenset({"E", "O", "R"})  # ED, outpatient, recurring: no inpatient discharge
Kind = EpisodeStep.Kind
Status = EpisodeStep.Status


@dataclass(frozen=True)
class StepRule:
    side: str
    business_days: int = 0  # due N business days after discharge (plan calendar) …
    days: int = 0  # … or by the end of the Nth calendar day after the discharge date
    label: str = ""


# Seed 002 / HEDIS TRC and FUH: who does what, by when.
STEPS: dict[str, StepRule] = {
    Kind.OUTREACH: StepRule(Side.PLAN, business_days=2, label="Plan outreach to the member"),
    Kind.DISCHARGE_INFO: StepRule(Side.PLAN, business_days=2, label="Discharge information shared with the practice"),
    Kind.FOLLOW_UP: StepRule(Side.PRACTICE, days=7, label="Follow-up visit"),
    Kind.MED_REC: StepRule(Side.PRACTICE, days=30, label="Medication reconciliation"),
    Kind.ENGAGEMENT: StepRule(Side.PLAN, days=30, label="Patient engagement"),
}

MENTAL_HEALTH_SERVICES = frozenset({"PSY", "PSYCH", "BH", "MH"})


def is_mental_health_stay(encounter: Encounter) -> bool:
    """Principal diagnosis of mental illness (ICD-10 F20–F99) or intentional self-harm (X71–X83),
    or a psychiatric hospital service (PV1-10)."""
    if encounter.hospital_service.upper() in MENTAL_HEALTH_SERVICES:
        return True
    if not encounter.diagnosis_codes:
        return False
    code = encounter.diagnosis_codes[0].replace(".", "").upper()
    if code.startswith("F") and code[1:3].isdigit() and 20 <= int(code[1:3]) <= 99:
        return True
    return code.startswith("X") and code[1:3].isdigit() and 71 <= int(code[1:3]) <= 83


# ---- Who ------------------------------------------------------------------------------------------


def _practice_on(member: Member, day: dt.date) -> Organization | None:
    row = (
        Attribution.objects.filter(member=member, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("practice")
        .first()
    )
    return row.practice if row else None


def _supervisors_of(plan_ids: set[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = {plan_id: [] for plan_id in plan_ids}
    for user in User.objects.filter(organization_id__in=plan_ids, role=Role.SUPERVISOR, is_active=True):
        found[user.organization_id].append(user)
    return found


def _supervisors(plan_id: int) -> list[User]:
    return _supervisors_of({plan_id})[plan_id]


class _Outbox:
    """What one change asks of people, collected and written set-based by `flush()`: inbox notices
    (and their emails), worklist tasks, emails to addresses. It also looks up who to tell, once
    per member, plan or practice; `prefetch()` does that for a batch of episodes in three queries.
    Helpers take `outbox=` to add to a batch's; without one they use their own and flush it."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.tasks: list[caseloads.StepTask] = []
        self.emails: list[dict] = []
        self._care_managers: dict[int, User | None] = {}
        self._supervisors: dict[int, list[User]] = {}
        self._contacts: dict[tuple[int, int], list[PartnershipContact]] = {}

    def prefetch(self, episodes: list[Episode]) -> None:
        members = {e.member_id for e in episodes if not (e.care_manager and e.care_manager.is_active)}
        if members := members - self._care_managers.keys():
            self._care_managers.update(care_managers_of(members))
        if plans := {e.plan_id for e in episodes} - self._supervisors.keys():
            self._supervisors.update(_supervisors_of(plans))
        if pairs := {(e.plan_id, e.practice_id) for e in episodes if e.practice_id} - self._contacts.keys():
            self._contacts.update(practice_contacts_of(pairs))

    def care_manager(self, member: Member) -> User | None:
        if member.pk not in self._care_managers:
            self._care_managers.update(care_managers_of({member.pk}))
        return self._care_managers[member.pk]

    def supervisors(self, plan_id: int) -> list[User]:
        if plan_id not in self._supervisors:
            self._supervisors.update(_supervisors_of({plan_id}))
        return self._supervisors[plan_id]

    def practice_contacts(self, plan_id: int, practice_id: int | None) -> list[PartnershipContact]:
        if practice_id is None:
            return []
        if (plan_id, practice_id) not in self._contacts:
            self._contacts.update(practice_contacts_of({(plan_id, practice_id)}))
        return self._contacts[(plan_id, practice_id)]

    def practice_owner(self, plan_id: int, practice_id: int | None) -> User | None:
        """Who owns the practice's steps: its designated point of contact, if they have an account."""
        for contact in self.practice_contacts(plan_id, practice_id):
            if contact.is_primary and contact.user is not None and contact.user.is_active:
                return contact.user
        return None

    def flush(self) -> None:
        notify_many(self.notices)
        caseloads.tasks_for_steps(self.tasks)
        deadlines.schedule_many(self.emails)
        self.notices, self.tasks, self.emails = [], [], []


@contextmanager
def _outbox(outbox: _Outbox | None) -> Iterator[_Outbox]:
    if outbox is not None:
        yield outbox
        return
    own = _Outbox()
    yield own
    own.flush()


def _tell_practice(
    plan_id: int,
    practice_id: int | None,
    *,
    kind: str,
    title: str,
    url: str,
    key: str,
    outbox: _Outbox | None = None,
) -> None:
    """Inbox for the practice's contacts with accounts; the designated point of contact is emailed
    too (by address when they have no account). Emails name no member."""
    with _outbox(outbox) as out:
        for contact in out.practice_contacts(plan_id, practice_id):
            if contact.user is not None:
                out.notices.append(
                    Notice(
                        [contact.user], kind, title, url=url, plan_id=plan_id, email=contact.is_primary, dedupe_key=key
                    )
                )
            elif contact.is_primary and contact.email:
                out.emails.append(
                    email_address_deadline(
                        to=contact.email, kind=kind, plan_id=plan_id, dedupe_key=f"{key}:{contact.pk}"
                    )
                )


def _hand_to_care_manager(
    episode: Episode,
    *,
    kind: str,
    title: str,
    due_date: dt.date,
    origin_key: str,
    key: str,
    task_title: str = "",
    outbox: _Outbox | None = None,
) -> None:
    """Something for the plan to do: the care manager is told and gets a worklist task; with no
    care manager (or one who has left), the plan's supervisors are told instead."""
    with _outbox(outbox) as out:
        care_manager = episode.care_manager if episode.care_manager and episode.care_manager.is_active else None
        care_manager = care_manager or out.care_manager(episode.member)
        recipients = [care_manager] if care_manager is not None else out.supervisors(episode.plan_id)
        out.notices.append(
            Notice(recipients, kind, title, url=episode_url(episode), plan_id=episode.plan_id, dedupe_key=key)
        )
        if care_manager is not None:
            out.tasks.append(
                caseloads.StepTask(
                    member=episode.member,
                    owner=care_manager,
                    title=task_title or title,
                    due_date=due_date,
                    origin=Task.Origin.TRANSITION,
                    origin_key=origin_key,
                )
            )


def episode_url(episode: Episode) -> str:
    return reverse("episode-detail", kwargs={"episode_id": episode.public_id})


# ---- ADT events -----------------------------------------------------------------------------------


def on_encounter(*, encounter: Encounter, event: str) -> None:
    """What an applied ADT event does to episodes and who hears of it (inside its transaction)."""
    if event in ("A01", "A04"):
        _admission_notice(encounter, event)
        if event == "A01" and encounter.patient_class not in NO_EPISODE_CLASSES:
            _flag_readmission(encounter)
    elif event == "A03":
        if encounter.patient_class not in NO_EPISODE_CLASSES:
            episode_open(encounter=encounter)
    elif event == "A11":
        Episode.objects.filter(readmission_encounter=encounter).update(readmitted_at=None, readmission_encounter=None)
    elif event == "A13":
        _cancel_episode(encounter)


def _admission_notice(encounter: Encounter, event: str) -> None:
    member = encounter.member
    where = encounter.facility.name if encounter.facility_id else encounter.sending_facility
    verb = "in the emergency department at" if event == "A04" else "admitted to"
    title = f"{member.full_name} {verb} {where}"
    url = reverse("member-detail", kwargs={"member_id": member.public_id})
    key = f"admission:{encounter.pk}:{encounter.admitted_at:%Y%m%d%H%M}" if encounter.admitted_at else None
    out = _Outbox()  # the care manager's and the practice's notices in one write
    care_manager = out.care_manager(member)
    if care_manager is not None:
        out.notices.append(
            Notice([care_manager], "admission", title, url=url, plan_id=encounter.plan_id, dedupe_key=key)
        )
    practice = _practice_on(member, timezone.localdate(timezone=encounter.plan.tz))
    _tell_practice(
        encounter.plan_id,
        practice.pk if practice else None,
        kind="admission",
        title=title,
        url=url,
        key=key or f"admission:{encounter.pk}:{timezone.now():%Y%m%d%H%M%S}",
        outbox=out,
    )
    out.flush()


def _flag_readmission(encounter: Encounter) -> None:
    admitted = encounter.admitted_at or timezone.now()
    earlier = (
        Episode.objects.filter(
            member_id=encounter.member_id,
            discharged_at__lte=admitted,
            discharged_at__gte=admitted - dt.timedelta(days=READMISSION_DAYS),
        )
        .exclude(encounter=encounter)
        .exclude(status=Episode.Status.CANCELLED)
        .order_by("-discharged_at")
        .first()
    )
    if earlier is None or earlier.readmission_encounter_id not in (None, encounter.pk):
        return
    earlier.readmitted_at = admitted
    earlier.readmission_encounter = encounter
    earlier.save(update_fields=["readmitted_at", "readmission_encounter"])
    recipients = [u for u in (earlier.care_manager, care_manager_of(earlier.member)) if u is not None]
    notify(
        recipients=recipients or _supervisors(earlier.plan_id),
        kind="readmission",
        title=f"Readmitted within {READMISSION_DAYS} days: {earlier.member.full_name}",
        url=episode_url(earlier),
        plan_id=earlier.plan_id,
        dedupe_key=f"readmission:{earlier.pk}:{encounter.pk}",
    )


def _due(rule: StepRule, discharged_at: dt.datetime, plan: Organization, calendar: BusinessCalendar) -> dt.datetime:
    if rule.business_days:
        return calendar.add_business_days(discharged_at, rule.business_days)
    local_day = discharged_at.astimezone(plan.tz).date() + dt.timedelta(days=rule.days)
    return dt.datetime.combine(local_day, dt.time(23, 59, 59), tzinfo=plan.tz)


def _step_key(step: EpisodeStep) -> str:
    return f"episode-step:{step.pk}:"


def _lace(encounter: Encounter) -> lace.Lace:
    admitted = encounter.admitted_at or encounter.discharged_at
    ed_before = (
        Encounter.objects.filter(member_id=encounter.member_id, patient_class="E", admitted_at__lt=admitted)
        .filter(admitted_at__gte=admitted - dt.timedelta(days=183))
        .exclude(pk=encounter.pk)
        .exclude(status=Encounter.Status.CANCELLED)
        .count()
        if admitted
        else 0
    )
    # Registered in our ED first, then admitted on the same visit number: an emergency admission.
    through_ed = encounter.messages.filter(event="A04").exists()
    return lace.compute(
        admitted_at=encounter.admitted_at,
        discharged_at=encounter.discharged_at,
        admission_type=encounter.admission_type,
        through_ed=through_ed,
        diagnosis_codes=encounter.diagnosis_codes,
        ed_visits_6_months=ed_before,
    )


def episode_open(*, encounter: Encounter) -> Episode:
    """Open (or, after a cancelled discharge, reopen) the encounter's transition episode."""
    member = encounter.member
    plan = encounter.plan
    discharged_at = encounter.discharged_at or timezone.now()
    practice = _practice_on(member, discharged_at.astimezone(plan.tz).date())
    care_manager = care_manager_of(member)
    score = _lace(encounter)
    if encounter.admitted_at is not None:
        _flag_readmission(encounter)  # the admission may never have been sent (no A01 from this feed)
    fields = {
        "plan": plan,
        "member": member,
        "practice": practice,
        "care_manager": care_manager,
        "admitted_at": encounter.admitted_at,
        "discharged_at": discharged_at,
        "is_mental_health": is_mental_health_stay(encounter),
        "status": Episode.Status.OPEN,
        "opened_at": timezone.now(),
        "closed_at": None,
        "readmission_of": Episode.objects.filter(readmission_encounter=encounter).first(),
        "lace_score": score.score,
        "lace_parts": score.parts,
    }
    episode = Episode.objects.select_for_update().filter(encounter=encounter).first()
    if episode is not None and episode.status != Episode.Status.CANCELLED:
        return episode  # a second A03 for the same stay (an update): the episode stands
    created = episode is None
    if episode is None:
        episode = Episode.objects.create(encounter=encounter, **fields)
    else:
        for name, value in fields.items():
            setattr(episode, name, value)
        episode.save()
    out = _Outbox()
    practice_owner = out.practice_owner(plan.pk, practice.pk if practice else None)
    # Reopened after a cancelled discharge: the steps exist (cancelled) and start over.
    existing = {step.kind: step for step in episode.steps.all()} if not created else {}
    steps = []
    calendar = business_calendar(plan)
    for kind, rule in STEPS.items():
        step = existing.get(kind) or EpisodeStep(episode=episode, kind=kind)
        step.plan = plan
        step.side = rule.side
        step.owner = care_manager if rule.side == Side.PLAN else practice_owner
        step.due_at = _due(rule, discharged_at, plan, calendar)
        step.status, step.met_at, step.met_by, step.met_note = Status.OPEN, None, None, ""
        step.missed_at, step.escalation = None, EpisodeStep.Escalation.NONE
        steps.append(step)
    EpisodeStep.objects.bulk_create([step for step in steps if step.pk is None])
    if existing:
        EpisodeStep.objects.bulk_update(
            list(existing.values()),
            ["plan", "side", "owner", "due_at", "status", "met_at", "met_by", "met_note", "missed_at", "escalation"],
        )
    deadlines.schedule_many(
        [
            *(
                {
                    "kind": "transitions.step_due",
                    "key": f"{_step_key(step)}due:{episode.opened_at.isoformat()}",
                    "due_at": step.due_at,
                    "plan_id": plan.pk,
                    "payload": {"step_id": step.pk},
                }
                for step in steps
            ),
            {
                "kind": "transitions.episode_close",
                "key": f"episode:{episode.pk}:close:{episode.opened_at.isoformat()}",
                "due_at": discharged_at + dt.timedelta(days=EPISODE_WINDOW_DAYS),
                "plan_id": plan.pk,
                "payload": {"episode_id": episode.pk},
            },
        ]
    )
    _refresh(episode)
    if care_manager is not None:
        for step, rule in zip(steps, STEPS.values(), strict=True):
            if rule.side == Side.PLAN:
                out.tasks.append(
                    caseloads.StepTask(
                        member=member,
                        owner=care_manager,
                        title=f"{rule.label} (after discharge {discharged_at.astimezone(plan.tz):%b %-d})",
                        due_date=step.due_at.astimezone(plan.tz).date(),
                        origin=Task.Origin.TRANSITION,
                        origin_key=f"episode-step:{step.pk}",
                    )
                )
    where = encounter.facility.name if encounter.facility_id else encounter.sending_facility
    title = f"{member.full_name} discharged from {where}: follow-up visit due within 7 days"
    key = f"discharge:{episode.pk}:{discharged_at:%Y%m%d%H%M}"
    if care_manager is not None:
        out.notices.append(
            Notice([care_manager], "discharge", title, url=episode_url(episode), plan_id=plan.pk, dedupe_key=key)
        )
    _tell_practice(
        plan.pk,
        practice.pk if practice else None,
        kind="discharge",
        title=title,
        url=episode_url(episode),
        key=key,
        outbox=out,
    )
    out.flush()
    from careplans.services import careplan_review_prompt

    careplan_review_prompt(
        member=member, reason=f"Discharged from {where} on {discharged_at.astimezone(plan.tz):%Y-%m-%d}"
    )
    audit.record(
        actor=Actor.system(),
        action=Action.CREATE,
        object_type="transition_episode",
        object_id=episode.public_id,
        plan_id=plan.pk,
        member_id=member.pk,
        summary=f"Transition episode opened (discharge {discharged_at:%Y-%m-%d %H:%M})",
    )
    return episode


def _cancel_episode(encounter: Encounter) -> None:
    episode = Episode.objects.select_for_update().filter(encounter=encounter).first()
    if episode is None or episode.status == Episode.Status.CANCELLED:
        return
    episode.status = Episode.Status.CANCELLED
    episode.closed_at = timezone.now()
    episode.next_due_at = None
    episode.save(update_fields=["status", "closed_at", "next_due_at"])
    for step in episode.steps.all():
        deadlines.cancel_prefix(prefix=_step_key(step))
        caseloads.tasks_close_by_origin(
            actor=Actor.system(), origin_key=f"episode-step:{step.pk}", status=Task.Status.CANCELLED
        )
    episode.steps.filter(status__in=[Status.OPEN, Status.MISSED]).update(status=Status.CANCELLED)
    deadlines.cancel_prefix(prefix=f"episode:{episode.pk}:close:")


def _refresh(episode: Episode) -> None:
    """Keep next_due_at (the worklist order) current; close the episode when nothing is left."""
    still_open = episode.steps.filter(status__in=[Status.OPEN, Status.MISSED])
    episode.next_due_at = still_open.aggregate(d=Min("due_at"))["d"]
    fields = ["next_due_at"]
    if episode.next_due_at is None and episode.status == Episode.Status.OPEN:
        episode.status = Episode.Status.CLOSED
        episode.closed_at = timezone.now()
        fields += ["status", "closed_at"]
        deadlines.cancel_prefix(prefix=f"episode:{episode.pk}:close:")
    episode.save(update_fields=fields)


# ---- Steps met ------------------------------------------------------------------------------------


def _meet(step: EpisodeStep, *, actor: Actor, at: dt.datetime, note: str) -> bool:
    """Mark a step met (on time or late). False when it was already met or is moot."""
    if step.status not in (Status.OPEN, Status.MISSED):
        return False
    step.status = Status.MET
    step.met_at = at
    step.met_by = actor.user
    step.met_note = note[:300]
    step.save(update_fields=["status", "met_at", "met_by", "met_note"])
    deadlines.cancel_prefix(prefix=_step_key(step))
    caseloads.tasks_close_by_origin(actor=actor, origin_key=f"episode-step:{step.pk}")
    return True


def _lock_episode(episode: Episode, actor: Actor) -> Episode:
    actor.require("organizations.work_transitions")
    episode = (
        Episode.objects.select_for_update(of=("self",)).select_related("plan", "member", "practice").get(pk=episode.pk)
    )
    if episode.status == Episode.Status.CANCELLED:
        raise ValidationError({"episode": ["This episode was cancelled (the hospital cancelled the discharge)."]})
    return episode


def _step(episode: Episode, kind: str) -> EpisodeStep:
    return EpisodeStep.objects.select_for_update().get(episode=episode, kind=kind)


def _after_discharge(episode: Episode, at: dt.datetime, field: str) -> None:
    if at < episode.discharged_at - dt.timedelta(minutes=1):
        raise ValidationError({field: ["must be after the discharge."]})
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({field: ["cannot be in the future."]})


def _audit(actor: Actor, episode: Episode, action: str, summary: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="transition_episode",
        object_id=episode.public_id,
        plan_id=episode.plan_id,
        member_id=episode.member_id,
        summary=summary,
    )


@transaction.atomic
def outreach_log(
    *, actor: Actor, episode: Episode, made_at: dt.datetime | None, method: str, outcome: str, notes: str = ""
) -> ContactLog:
    """The care manager's post-discharge call to the member: logged in the contact log; any attempt
    meets the outreach step, a completed contact the engagement step too."""
    episode = _lock_episode(episode, actor)
    if not actor.is_plan_staff:
        raise ValidationError({"episode": ["Outreach to the member is the plan's step."]})
    if made_at is not None:
        _after_discharge(episode, made_at, "made_at")
    entry = caseloads.contact_log(
        actor=actor,
        member=episode.member,
        made_at=made_at,
        method=method,
        with_whom="Member (post-discharge outreach)",
        outcome=outcome,
        notes=notes,
    )
    _meet(_step(episode, Kind.OUTREACH), actor=actor, at=entry.made_at, note=f"{entry}: {entry.get_outcome_display()}")
    if outcome == ContactLog.Outcome.COMPLETED:
        _meet(_step(episode, Kind.ENGAGEMENT), actor=actor, at=entry.made_at, note=f"Reached the member ({entry})")
    _refresh(episode)
    _audit(actor, episode, Action.UPDATE, f"Outreach logged: {entry.get_outcome_display()}")
    return entry


@transaction.atomic
def discharge_info_share(*, actor: Actor, episode: Episode, summary: str) -> Episode:
    """Discharge information received from the hospital and shared with the member's practice
    (under a release in force that names the practice for care coordination)."""
    episode = _lock_episode(episode, actor)
    if not actor.is_plan_staff:
        raise ValidationError({"episode": ["Sharing discharge information is the plan's step."]})
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": ["Write what the discharge information says (medications, instructions)."]})
    if episode.practice is None:
        raise ValidationError({"episode": ["The member had no attributed practice at discharge to share with."]})
    released = (
        ReleaseOfInformation.objects.filter(member=episode.member)
        .covering(organization_id=episode.practice_id, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION)
        .exists()
    )
    if not released:
        raise ValidationError(
            {
                "summary": [
                    f"No release of information in force names {episode.practice.name} for care coordination; "
                    "record the member's release before sharing."
                ]
            }
        )
    episode.discharge_info = summary
    episode.save(update_fields=["discharge_info"])
    _meet(
        _step(episode, Kind.DISCHARGE_INFO),
        actor=actor,
        at=timezone.now(),
        note=f"Shared with {episode.practice.name}",
    )
    _refresh(episode)
    _tell_practice(
        episode.plan_id,
        episode.practice_id,
        kind="discharge_info",
        title=f"Discharge information for {episode.member.full_name}",
        url=episode_url(episode),
        key=f"discharge-info:{episode.pk}",
    )
    _audit(actor, episode, Action.UPDATE, f"Discharge information shared with {episode.practice.name}")
    return episode


@transaction.atomic
def med_rec_record(*, actor: Actor, episode: Episode, done_on: dt.date | None, by_whom: str, note: str = "") -> Episode:
    """Medications reconciled (by the practice's prescriber, pharmacist or nurse, or the plan's)."""
    episode = _lock_episode(episode, actor)
    if done_on is None:
        raise ValidationError({"done_on": ["is required."]})
    by_whom = (by_whom or "").strip()
    if not by_whom:
        raise ValidationError({"by_whom": ["Say who reconciled the medications."]})
    tz = episode.plan.tz
    if done_on < episode.discharged_at.astimezone(tz).date():
        raise ValidationError({"done_on": ["must be on or after the discharge date."]})
    if done_on > timezone.localdate(timezone=tz):
        raise ValidationError({"done_on": ["cannot be in the future."]})
    at = dt.datetime.combine(done_on, dt.time(0, 0), tzinfo=tz)
    if not _meet(_step(episode, Kind.MED_REC), actor=actor, at=at, note=f"By {by_whom}. {note}".strip()):
        raise ValidationError({"episode": ["Medication reconciliation is already recorded for this episode."]})
    _refresh(episode)
    _audit(actor, episode, Action.UPDATE, f"Medication reconciliation recorded ({done_on}, {by_whom})")
    return episode


# ---- Appointments ---------------------------------------------------------------------------------


def _side(actor: Actor) -> str:
    return Side.PLAN if actor.is_plan_staff else Side.PRACTICE


@transaction.atomic
def appointment_schedule(
    *,
    actor: Actor,
    episode: Episode,
    scheduled_for: dt.datetime | None,
    provider_name: str,
    is_mental_health_provider: bool = False,
    location: str = "",
    transport_needed: bool = False,
    rescheduled_from: Appointment | None = None,
) -> Appointment:
    """Book the follow-up visit (either side). A visit after a mental-health stay meets the 7-day
    step only with a mental-health provider, so the form says so before it is booked."""
    episode = _lock_episode(episode, actor)
    errors: dict[str, list[str]] = {}
    if scheduled_for is None:
        errors["scheduled_for"] = ["is required."]
    elif scheduled_for < episode.discharged_at:
        errors["scheduled_for"] = ["must be after the discharge."]
    provider_name = (provider_name or "").strip()
    if not provider_name:
        errors["provider_name"] = ["is required."]
    if rescheduled_from is not None:
        rescheduled_from = Appointment.objects.select_for_update().get(pk=rescheduled_from.pk)
        if rescheduled_from.episode_id != episode.pk:
            errors["rescheduled_from"] = ["belongs to another episode."]
        elif rescheduled_from.status not in (Appointment.Status.MISSED, Appointment.Status.CANCELLED):
            errors["rescheduled_from"] = ["only a missed or cancelled visit is rescheduled."]
        elif Appointment.objects.filter(rescheduled_from=rescheduled_from).exists():
            errors["rescheduled_from"] = ["was already rescheduled."]
    if errors:
        raise ValidationError(errors)
    appointment = Appointment.objects.create(
        plan_id=episode.plan_id,
        member_id=episode.member_id,
        episode=episode,
        scheduled_for=scheduled_for,
        provider_name=provider_name[:200],
        is_mental_health_provider=is_mental_health_provider,
        location=(location or "").strip()[:200],
        transport_needed=transport_needed,
        rescheduled_from=rescheduled_from,
        scheduled_by=actor.user,
        scheduled_by_side=_side(actor),
    )
    if rescheduled_from is not None:
        caseloads.tasks_close_by_origin(actor=actor, origin_key=f"appointment:{rescheduled_from.pk}:reschedule")
    owner = episode.care_manager or care_manager_of(episode.member)
    if transport_needed and owner is not None:
        caseloads.task_for_step(
            member=episode.member,
            owner=owner,
            title=f"Arrange transportation to {provider_name} on {scheduled_for.astimezone(episode.plan.tz):%b %-d}",
            due_date=min(
                scheduled_for.astimezone(episode.plan.tz).date(),
                business_calendar(episode.plan).add_business_days(timezone.now(), 1).date(),
            ),
            origin=Task.Origin.TRANSITION,
            origin_key=f"appointment:{appointment.pk}:transport",
        )
    when = scheduled_for.astimezone(episode.plan.tz)
    title = f"Follow-up visit for {episode.member.full_name}: {when:%b %-d %H:%M} with {provider_name}"
    if actor.is_plan_staff:
        _tell_practice(
            episode.plan_id,
            episode.practice_id,
            kind="appointment",
            title=title,
            url=episode_url(episode),
            key=f"appointment:{appointment.pk}",
        )
    elif owner is not None:
        notify(
            recipients=[owner],
            kind="appointment",
            title=title,
            url=episode_url(episode),
            plan_id=episode.plan_id,
            dedupe_key=f"appointment:{appointment.pk}",
        )
    _audit(actor, episode, Action.CREATE, f"Follow-up visit booked: {appointment}")
    return appointment


@transaction.atomic
def appointment_record_outcome(*, actor: Actor, appointment: Appointment, status: str, note: str = "") -> Appointment:
    """Kept, missed or cancelled (seed 003: validate that services were received). A kept visit
    meets the follow-up step (on time when within 7 days) and engagement; a missed one puts a
    reschedule task on the care manager's worklist and tells the practice."""
    episode = _lock_episode(appointment.episode, actor)
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if status not in (Appointment.Status.KEPT, Appointment.Status.MISSED, Appointment.Status.CANCELLED):
        raise ValidationError({"status": ["must be kept, missed or cancelled."]})
    if appointment.status != Appointment.Status.SCHEDULED:
        raise ValidationError({"status": [f"This visit is already {appointment.get_status_display().lower()}."]})
    if status in (Appointment.Status.KEPT, Appointment.Status.MISSED) and appointment.scheduled_for > timezone.now():
        raise ValidationError({"status": ["The visit has not happened yet; record it on or after its date."]})
    appointment.status = status
    appointment.outcome_note = (note or "").strip()[:300]
    appointment.outcome_recorded_at = timezone.now()
    appointment.outcome_recorded_by = actor.user
    appointment.save()
    # A ride still not arranged is moot now the visit is over.
    caseloads.tasks_close_by_origin(
        actor=actor, origin_key=f"appointment:{appointment.pk}:transport", status=Task.Status.CANCELLED
    )
    if status == Appointment.Status.KEPT:
        if not episode.is_mental_health or appointment.is_mental_health_provider:
            _meet(
                _step(episode, Kind.FOLLOW_UP),
                actor=actor,
                at=appointment.scheduled_for,
                note=f"Visit with {appointment.provider_name}",
            )
        _meet(
            _step(episode, Kind.ENGAGEMENT),
            actor=actor,
            at=appointment.scheduled_for,
            note=f"Visit with {appointment.provider_name}",
        )
    elif status == Appointment.Status.MISSED:
        title = f"Missed follow-up visit: reschedule {episode.member.full_name}"
        _hand_to_care_manager(
            episode,
            kind="appointment_missed",
            title=title,
            due_date=business_calendar(episode.plan).add_business_days(timezone.now(), 1).date(),
            origin_key=f"appointment:{appointment.pk}:reschedule",
            key=f"missed:{appointment.pk}",
        )
        _tell_practice(
            episode.plan_id,
            episode.practice_id,
            kind="appointment_missed",
            title=title,
            url=episode_url(episode),
            key=f"missed:{appointment.pk}",
        )
    _refresh(episode)
    _audit(actor, episode, Action.UPDATE, f"Visit {appointment}: {appointment.get_status_display().lower()}")
    return appointment


@transaction.atomic
def appointment_arrange_transport(*, actor: Actor, appointment: Appointment, arranged: str) -> Appointment:
    """Record the ride the plan arranged (vendor, pick-up time)."""
    _lock_episode(appointment.episode, actor)
    if not actor.is_plan_staff:
        raise ValidationError({"arranged": ["Transportation is arranged by the plan."]})
    arranged = (arranged or "").strip()
    if not arranged:
        raise ValidationError({"arranged": ["Say what was arranged (vendor, pick-up time)."]})
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.Status.SCHEDULED:
        raise ValidationError({"arranged": ["Transportation is arranged only for a visit still to come."]})
    appointment.transport_needed = True
    appointment.transport_arranged = arranged[:300]
    appointment.save(update_fields=["transport_needed", "transport_arranged"])
    caseloads.tasks_close_by_origin(actor=actor, origin_key=f"appointment:{appointment.pk}:transport")
    _audit(actor, appointment.episode, Action.UPDATE, f"Transportation arranged for {appointment}")
    return appointment


# ---- Deadlines ------------------------------------------------------------------------------------


def steps_due(*, step_ids: list[int]) -> set[int]:
    """These steps' time has come: each one still unmet is missed; the care manager is told and
    gets a task (for a practice's step, to follow up with the practice, which is told too), and
    the supervisors are told one business day later if it is still unmet. Set-based, a fixed
    number of statements however many steps come due together (the sweep hands them over in
    batches; one step is a batch of one).

    Steps locked by someone's transaction right now (a visit being recorded, a discharge being
    cancelled) are skipped rather than waited for, and returned: the caller tries them again
    shortly. Waiting could deadlock: that transaction goes on to cancel the step's deadline,
    whose row the caller holds."""
    locked = list(
        EpisodeStep.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("episode__plan", "episode__member", "episode__care_manager")
        .filter(pk__in=step_ids)
        .order_by("id")
    )
    busy = set(step_ids) - {step.pk for step in locked}
    steps = [s for s in locked if s.status == Status.OPEN and s.episode.status == Episode.Status.OPEN]
    if not steps:
        return busy
    now = timezone.now()
    EpisodeStep.objects.filter(pk__in=[step.pk for step in steps]).update(
        status=Status.MISSED, missed_at=now, escalation=EpisodeStep.Escalation.CARE_MANAGER
    )
    out = _Outbox()
    out.prefetch([step.episode for step in steps])
    calendars: dict[int, object] = {}
    escalations = []
    for step in steps:
        episode = step.episode
        who = "the practice" if step.side == Side.PRACTICE else "the plan"
        title = f"Overdue ({who}): {step.get_kind_display().lower()} for {episode.member.full_name}"
        _hand_to_care_manager(
            episode,
            kind="transition_overdue",
            title=title,
            task_title=title if step.side == Side.PLAN else f"Follow up with the practice: {title}",
            due_date=timezone.localdate(now, timezone=episode.plan.tz),
            origin_key=f"episode-step:{step.pk}",
            key=f"overdue:{step.pk}",
            outbox=out,
        )
        if step.side == Side.PRACTICE:
            _tell_practice(
                episode.plan_id,
                episode.practice_id,
                kind="transition_overdue",
                title=title,
                url=episode_url(episode),
                key=f"overdue:{step.pk}",
                outbox=out,
            )
        if episode.plan_id not in calendars:
            calendars[episode.plan_id] = business_calendar(episode.plan)
        escalations.append(
            {
                "kind": "transitions.step_escalate",
                "key": f"{_step_key(step)}escalate:{now.isoformat()}",
                "due_at": calendars[episode.plan_id].add_business_days(now, 1),
                "plan_id": episode.plan_id,
                "payload": {"step_id": step.pk},
            }
        )
    out.flush()
    deadlines.schedule_many(escalations)
    _workflow_gaps(steps)
    return busy


def _workflow_gaps(steps: list[EpisodeStep]) -> None:
    """Missed steps that are quality measures become care gaps the practice can close (a 7-day
    follow-up after a mental-health stay: FUH; medication reconciliation: MRP)."""
    from caregaps.services import WorkflowGap, gaps_from_workflows

    by_plan: dict[int, tuple[Organization, list[WorkflowGap]]] = {}
    for step in steps:
        episode = step.episode
        if step.kind == Kind.FOLLOW_UP and episode.is_mental_health:
            code, what = "FUH", "No follow-up visit with a mental-health provider within 7 days of the discharge"
        elif step.kind == Kind.MED_REC:
            code, what = "MRP", "Medications not reconciled within 30 days of the discharge"
        else:
            continue
        gap = WorkflowGap(
            member=episode.member,
            measure_code=code,
            due_date=step.due_at.astimezone(episode.plan.tz).date(),
            source_key=f"episode-step:{step.pk}",
            description=f"{what} on {episode.discharged_at.astimezone(episode.plan.tz):%b %-d, %Y}.",
        )
        by_plan.setdefault(episode.plan_id, (episode.plan, []))[1].append(gap)
    for plan, gaps in by_plan.values():
        gaps_from_workflows(plan=plan, gaps=gaps)


def step_escalate(*, step_id: int) -> None:
    """Still missed a business day on: the plan's supervisors are told, by email too."""
    step = (
        EpisodeStep.objects.select_for_update(of=("self",)).select_related("episode__member").filter(pk=step_id).first()
    )
    if step is None or step.status != Status.MISSED or step.escalation >= EpisodeStep.Escalation.SUPERVISOR:
        return
    step.escalation = EpisodeStep.Escalation.SUPERVISOR
    step.save(update_fields=["escalation"])
    episode = step.episode
    notify(
        recipients=_supervisors(episode.plan_id),
        kind="transition_escalated",
        title=f"Still overdue: {step.get_kind_display().lower()} for {episode.member.full_name}",
        url=episode_url(episode),
        plan_id=episode.plan_id,
        email=True,
        dedupe_key=f"escalated:{step.pk}",
    )


def episode_close(*, episode_id: int) -> None:
    """The episode's window has ended: what is still open counts as missed."""
    episode = Episode.objects.select_for_update().filter(pk=episode_id).first()
    if episode is None or episode.status != Episode.Status.OPEN:
        return
    # Steps still open now (their own deadline not yet run) count as missed.
    episode.steps.filter(status=Status.OPEN).update(status=Status.MISSED, missed_at=timezone.now())
    episode.status = Episode.Status.CLOSED
    episode.closed_at = timezone.now()
    episode.next_due_at = None
    episode.save(update_fields=["status", "closed_at", "next_due_at"])
    for step in episode.steps.all():
        caseloads.tasks_close_by_origin(
            actor=Actor.system(), origin_key=f"episode-step:{step.pk}", status=Task.Status.CANCELLED
        )
