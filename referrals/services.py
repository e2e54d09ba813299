"""Every write to referrals: intake, the state machine's moves, assignment, outreach, enrollment.

One service performs a move (DESIGN.md "Workflows and time"): lock the row, check the move
against the table and the person's role, apply what the step needs, write the timeline event,
move the durable deadlines, audit, and notify the referring practice after commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from caseloads.models import Acuity, Enrollment, Program, Task
from caseloads.services import check_care_staff, enrollment_start, task_for_step, tasks_close_by_origin
from core import audit, deadlines, notifications, uploads
from core.audit import Action
from members.models import Member
from members.services import (
    care_team_release_care_manager,
    care_team_set_care_manager,
    has_care_coordination_consent,
)
from organizations.access import Actor
from organizations.models import Credential, Organization, Partnership, PartnershipContact, Role, User
from organizations.services import business_calendar
from referrals.models import (
    ALLOWED,
    ENDINGS,
    ContactMethod,
    OutreachAttempt,
    Referral,
    ReferralAttachment,
    ReferralEvent,
    Source,
    Status,
    Urgency,
)

# Service levels (issue: acknowledge within 1 business day of submission, triage within 2, first
# outreach attempt within 3 of assignment), in the plan's time zone and business calendar.
STEP_DAYS = {"acknowledge": 1, "triage": 2, "first_outreach": 3}
STEP_LABELS = {"acknowledge": "Acknowledgement", "triage": "Triage", "first_outreach": "First outreach attempt"}
# The statuses in which a step is still owed (a deadline that fires otherwise is moot).
STEP_OWED = {
    "acknowledge": {Status.SUBMITTED},
    "triage": {Status.SUBMITTED, Status.ACKNOWLEDGED},
    "first_outreach": {Status.ASSIGNED},
}
FAILED_ATTEMPTS_FOR_UNABLE_TO_REACH = 3
ATTACHMENT_MAX_BYTES = uploads.MAX_BYTES
ATTACHMENT_TYPES = uploads.TYPES
LIST_MAX_ROWS = 5000


class TransitionError(ValidationError):
    """A move the state machine does not allow from here; carries the moves it does allow."""

    def __init__(self, message: str, *, allowed: list[str]):
        super().__init__(message)
        self.allowed = allowed


def allowed_moves(referral: Referral) -> list[str]:
    return sorted(ALLOWED[referral.status])


def _queue_rank(urgency: str, priority: int | None) -> int:
    return priority if priority is not None else (1 if urgency == Urgency.URGENT else 3)


# Deadlines --------------------------------------------------------------------------------------


def _schedule_step(referral: Referral, step: str, start: dt.datetime) -> dt.datetime:
    due = business_calendar(referral.plan).add_business_days(start, STEP_DAYS[step])
    deadlines.schedule(
        kind="referral.step_due",
        # The due time is part of the key: a reopened or reassigned referral gets new deadlines,
        # never the cancelled rows of the earlier round.
        key=f"referral:{referral.pk}:{step}:{due.astimezone(dt.UTC):%Y%m%dT%H%M%S}",
        due_at=due,
        plan_id=referral.plan_id,
        payload={"referral_id": referral.pk, "step": step, "due_at": due.isoformat()},
    )
    return due


def _open_step_due(referral: Referral, step: str):
    """The due time of the step's latest deadline that was not cancelled (fired or not)."""
    from core.models import Deadline

    return (
        Deadline.objects.filter(key__startswith=f"referral:{referral.pk}:{step}:")
        .exclude(state=Deadline.State.CANCELLED)
        .order_by("-id")
        .values_list("due_at", flat=True)
        .first()
    )


def _cancel_step(referral: Referral, step: str) -> None:
    deadlines.cancel_prefix(prefix=f"referral:{referral.pk}:{step}:")


# Intake -----------------------------------------------------------------------------------------


@dataclass
class Intake:
    """What a referral says about the member (the same for every source)."""

    reason: str
    urgency: str = Urgency.ROUTINE
    diagnoses: str = ""
    recent_utilization: str = ""
    clinical_context: str = ""
    contact_method: str = ""
    contact_time: str = ""
    model_score: Decimal | None = None

    def validate(self) -> None:
        errors = {}
        if not self.reason.strip():
            errors["reason"] = "is required"
        if self.urgency not in Urgency.values:
            errors["urgency"] = f"must be one of {', '.join(Urgency.values)}"
        if self.contact_method and self.contact_method not in ContactMethod.values:
            errors["contact_method"] = f"must be one of {', '.join(ContactMethod.values)}"
        if errors:
            raise ValidationError(errors)


@transaction.atomic
def referral_create(
    *,
    actor: Actor,
    member: Member,
    source: str,
    intake: Intake,
    referring_practice: Organization | None = None,
    attachments: list[UploadedFile] = (),
) -> Referral:
    """Refer a member. A member already in the queue or in care management gets a *linked*
    referral pointing at the open one, never a second place in the queue."""
    intake.validate()
    if actor.is_practice_staff:
        actor.require("organizations.refer_members")
        if source != Source.PRACTICE:
            raise ValidationError({"source": "A practice's referral comes from the practice."})
        referring_practice = actor.organization
        if not Member.objects.visible_to(actor).filter(pk=member.pk).exists():
            raise PermissionDenied("You can refer only patients attributed to your practice.")
    else:
        actor.require("organizations.record_referrals")
        if source not in Source.values:
            raise ValidationError({"source": f"must be one of {', '.join(Source.values)}"})
        if source == Source.PRACTICE:
            if referring_practice is None:
                raise ValidationError({"referring_practice": "Name the practice the referral came from."})
            if not Partnership.objects.active().filter(plan_id=member.plan_id, practice=referring_practice).exists():
                raise ValidationError({"referring_practice": "is not a partner practice of the member's plan"})
    for upload in attachments:
        _check_attachment(upload)

    Member.objects.select_for_update().get(pk=member.pk)  # serializes referrals for one member
    referral = Referral(
        plan_id=member.plan_id,
        member=member,
        source=source,
        referring_practice=referring_practice,
        referred_by=actor.user,
        reason=intake.reason.strip(),
        diagnoses=intake.diagnoses,
        recent_utilization=intake.recent_utilization,
        clinical_context=intake.clinical_context,
        urgency=intake.urgency,
        contact_method=intake.contact_method,
        contact_time=intake.contact_time,
        model_score=intake.model_score,
        queue_rank=_queue_rank(intake.urgency, None),
    )
    open_referral = Referral.objects.open().filter(member=member).first()
    enrollment = None if open_referral else Enrollment.objects.active().filter(member=member).first()
    if open_referral or enrollment:
        referral.status = Status.LINKED
        referral.linked_to, referral.linked_enrollment = open_referral, enrollment
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError as exc:  # only reachable if a writer skipped the member lock
        raise ValidationError("The member already has an open referral; try again to link to it.") from exc
    referral.plan = member.plan
    for upload in attachments:
        _store_attachment(referral, upload, actor)

    if referral.status == Status.LINKED:
        _event(referral, actor, ReferralEvent.Kind.STATUS, "", Status.LINKED, reason="Linked to the open case")
        if open_referral is not None:
            _event(open_referral, actor, ReferralEvent.Kind.LINKED, reason=f"Another referral: {referral.reason[:200]}")
            _notify_plan_owner(open_referral, f"New referral linked for {member.full_name}")
        else:
            _notify_user(enrollment.care_manager, referral, f"New referral for {member.full_name}, enrolled with you")
    else:
        due = _schedule_step(referral, "acknowledge", referral.submitted_at)
        _schedule_step(referral, "triage", referral.submitted_at)
        Referral.objects.filter(pk=referral.pk).update(due_at=due, due_step="acknowledge")
        referral.due_at, referral.due_step = due, "acknowledge"
        _event(referral, actor, ReferralEvent.Kind.STATUS, "", Status.SUBMITTED)
        if referral.urgency == Urgency.URGENT:
            _notify_supervisors(referral, f"Urgent referral: {member.full_name}")
    _audit(actor, referral, Action.CREATE, f"Referral ({referral.get_source_display()})")
    _notify_referrer(referral)
    return referral


def _check_attachment(upload: UploadedFile) -> str:
    return uploads.check(upload, field="attachments")


def _store_attachment(referral: Referral, upload: UploadedFile, actor: Actor) -> ReferralAttachment:
    content_type = _check_attachment(upload)
    attachment = ReferralAttachment(
        referral=referral,
        plan_id=referral.plan_id,
        original_name=upload.name[:255],
        content_type=content_type,
        size_bytes=upload.size,
        sha256=uploads.sha256(upload),
        uploaded_by=actor.user,
    )
    # The stored name says nothing about the file's contents or the member.
    attachment.file.save(f"{attachment.public_id}", upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def referral_attach(*, actor: Actor, referral: Referral, upload: UploadedFile) -> ReferralAttachment:
    """Add a file to a referral: the referring practice while it is open, or plan staff."""
    if actor.is_practice_staff:
        actor.require("organizations.refer_members")
        if not referral.is_open:
            raise ValidationError("Files can be added while the referral is open.")
    else:
        actor.require("organizations.record_referrals")
    attachment = _store_attachment(referral, upload, actor)
    _audit(actor, referral, Action.UPDATE, f"Attached {attachment.original_name}")
    return attachment


# The state machine -----------------------------------------------------------------------------


def _require_move(actor: Actor, referral: Referral, to: str, assignee: User | None) -> None:
    """Who may make which move (403 for an insider without the right)."""
    if actor.is_system:
        return
    if actor.is_practice_staff:
        if to == Status.CANCELLED and referral.status in (Status.SUBMITTED, Status.ACKNOWLEDGED):
            actor.require("organizations.refer_members")
            return
        raise PermissionDenied("A practice can cancel its own referral until the plan triages it.")
    is_assignee = referral.assigned_to_id is not None and referral.assigned_to_id == actor.user.pk
    if to in (Status.ACKNOWLEDGED, Status.TRIAGED, Status.CANCELLED):
        actor.require("organizations.triage_referrals")
    elif to == Status.ASSIGNED:
        if assignee is not None and assignee.pk == actor.user.pk and actor.can("organizations.claim_referrals"):
            return
        actor.require("organizations.assign_referrals")
    elif to == Status.NOT_ELIGIBLE:
        if not (actor.can("organizations.triage_referrals") or actor.can("organizations.work_referrals")):
            actor.require("organizations.triage_referrals")
    else:  # outreach and its outcomes belong to the assigned care manager (or a supervisor)
        actor.require("organizations.work_referrals")
        if not is_assignee and not actor.can("organizations.assign_referrals"):
            raise PermissionDenied("Only the assigned care manager or a supervisor can do this.")


@transaction.atomic
def referral_transition(
    *,
    actor: Actor,
    referral: Referral,
    to: str,
    reason: str = "",
    internal_note: str = "",
    priority: int | None = None,
    program: str = "",
    skill_needed: str = "",
    assignee: User | None = None,
    acuity: str = "",
) -> Referral:
    referral = Referral.objects.select_for_update().select_related("plan", "member__plan").get(pk=referral.pk)
    frm = referral.status
    if to not in ALLOWED[frm]:
        allowed = allowed_moves(referral)
        raise TransitionError(
            f"A referral that is {referral.get_status_display().lower()} cannot become {Status(to).label.lower()}"
            if to in Status.values
            else f"{to!r} is not a referral status",
            allowed=allowed,
        )
    _require_move(actor, referral, to, assignee)
    reason = reason.strip()
    now = timezone.now()
    if (to in ENDINGS or frm in ENDINGS) and not reason:
        raise ValidationError({"reason": "Say why: the referrer sees it."})

    if to == Status.ACKNOWLEDGED:
        _cancel_step(referral, "acknowledge")
        if frm in ENDINGS:  # reopened: triage again, on a fresh clock
            referral.assigned_to, referral.assigned_at, referral.priority = None, None, None
            referral.queue_rank = _queue_rank(referral.urgency, None)
            referral.due_at = _schedule_step(referral, "triage", now)
        else:
            referral.due_at = _open_step_due(referral, "triage")
        referral.due_step = "triage"
    elif to == Status.TRIAGED:
        errors = {}
        if priority not in (1, 2, 3, 4):
            errors["priority"] = "is required"
        if program not in Program.values:
            errors["program"] = "is required"
        if skill_needed not in (Credential.RN, Credential.LCSW, Credential.CHW):
            errors["skill_needed"] = "is required (RN, LCSW or CHW)"
        if errors:
            raise ValidationError(errors)
        _cancel_step(referral, "acknowledge")
        _cancel_step(referral, "triage")
        referral.priority, referral.program, referral.skill_needed = priority, program, skill_needed
        referral.queue_rank = _queue_rank(referral.urgency, priority)
        referral.due_at, referral.due_step = None, ""
    elif to == Status.ASSIGNED:
        _assign(actor, referral, assignee, now)
    elif to == Status.ENROLLED:
        if acuity not in Acuity.values:
            raise ValidationError({"acuity": "is required"})
        enrollment_start(
            actor=actor,
            member=referral.member,
            program=referral.program,
            acuity=acuity,
            care_manager=referral.assigned_to,
            referral=referral,
        )
    elif to == Status.UNABLE_TO_REACH:
        failed_days = {
            timezone.localtime(at, referral.plan.tz).date()
            for at in referral.attempts.filter(outcome__in=OutreachAttempt.FAILED).values_list("made_at", flat=True)
        }
        if len(failed_days) < FAILED_ATTEMPTS_FOR_UNABLE_TO_REACH:
            raise ValidationError(
                f"'Unable to reach' needs {FAILED_ATTEMPTS_FOR_UNABLE_TO_REACH} failed attempts on different days; "
                f"there are {len(failed_days)}."
            )
    if to in ENDINGS or to == Status.ENROLLED:
        deadlines.cancel_prefix(prefix=f"referral:{referral.pk}:")
        referral.due_at, referral.due_step = None, ""
        referral.outcome_reason = reason
    if (
        to in ENDINGS
        and referral.assigned_to_id
        and not Enrollment.objects.active()
        .filter(member=referral.member, care_manager_id=referral.assigned_to_id)
        .exists()
    ):
        # Not in care management after all: the care manager is no longer the point of contact.
        care_team_release_care_manager(
            actor=Actor.system(),
            member=referral.member,
            user=referral.assigned_to,
            reason=f"Referral {Status(to).label.lower()}",
        )
    if to in ENDINGS or to == Status.ENROLLED or to == Status.OUTREACH:
        tasks_close_by_origin(
            actor=actor,
            origin_key=_outreach_task_key(referral),
            status=Task.Status.DONE if to in (Status.OUTREACH, Status.ENROLLED) else Task.Status.CANCELLED,
        )
    if to == Status.OUTREACH:
        _cancel_step(referral, "first_outreach")
        referral.due_at, referral.due_step = None, ""

    referral.status, referral.status_changed_at = to, now
    referral.save()
    _event(referral, actor, ReferralEvent.Kind.STATUS, frm, to, reason=reason, internal_note=internal_note)
    _audit(actor, referral, Action.UPDATE, f"Referral {Status(frm).label.lower()} → {Status(to).label.lower()}")
    _notify_referrer(referral)
    return referral


def _outreach_task_key(referral: Referral) -> str:
    return f"referral:{referral.pk}:first_outreach"


def _outreach_task(referral: Referral) -> None:
    """The assignee's worklist shows the first outreach attempt, due with its deadline; the open
    task follows the referral to a new assignee and closes when outreach begins."""
    if referral.status not in (Status.TRIAGED, Status.ASSIGNED) and referral.attempts.exists():
        return
    due = referral.due_at or timezone.now()
    task_for_step(
        member=referral.member,
        owner=referral.assigned_to,
        title="First outreach attempt (referral)",
        due_date=timezone.localtime(due, referral.plan.tz).date(),
        origin=Task.Origin.REFERRAL,
        origin_key=_outreach_task_key(referral),
    )


def _assign(actor: Actor, referral: Referral, assignee: User | None, now: dt.datetime) -> None:
    if assignee is None:
        raise ValidationError({"assignee": "Choose a care manager."})
    check_care_staff(assignee, referral.plan_id, field="assignee")
    _cancel_step(referral, "first_outreach")
    referral.assigned_to, referral.assigned_at = assignee, now
    referral.due_at, referral.due_step = _schedule_step(referral, "first_outreach", now), "first_outreach"
    _outreach_task(referral)
    care_team_set_care_manager(actor=Actor.system(), member=referral.member, user=assignee)
    if actor.user is None or assignee.pk != actor.user.pk:
        _notify_user(assignee, referral, f"Referral assigned to you: {referral.member.full_name}")


@transaction.atomic
def referral_reassign(*, actor: Actor, referral: Referral, assignee: User, reason: str = "") -> Referral:
    """Give an assigned referral (assigned or in outreach) to another care manager."""
    actor.require("organizations.assign_referrals")
    referral = Referral.objects.select_for_update().select_related("plan", "member__plan").get(pk=referral.pk)
    if referral.status not in (Status.ASSIGNED, Status.OUTREACH):
        raise TransitionError("Only an assigned referral can be reassigned.", allowed=allowed_moves(referral))
    previous = referral.assigned_to
    now = timezone.now()
    if referral.status == Status.ASSIGNED:
        _assign(actor, referral, assignee, now)
    else:  # in outreach: the clock for the first attempt has stopped already
        check_care_staff(assignee, referral.plan_id, field="assignee")
        referral.assigned_to, referral.assigned_at = assignee, now
        _outreach_task(referral)
        care_team_set_care_manager(actor=Actor.system(), member=referral.member, user=assignee)
        _notify_user(assignee, referral, f"Referral assigned to you: {referral.member.full_name}")
    referral.save()
    _event(
        referral,
        actor,
        ReferralEvent.Kind.ASSIGNMENT,
        reason=f"Reassigned from {previous} to {assignee}" + (f": {reason}" if reason else ""),
    )
    _audit(actor, referral, Action.UPDATE, f"Reassigned to {assignee.username}")
    _notify_referrer(referral)
    return referral


def referral_claim(*, actor: Actor, referral: Referral) -> Referral:
    """A care manager takes a triaged referral from the pool."""
    actor.require("organizations.claim_referrals")
    return referral_transition(actor=actor, referral=referral, to=Status.ASSIGNED, assignee=actor.user)


@transaction.atomic
def outreach_log(
    *,
    actor: Actor,
    referral: Referral,
    method: str,
    outcome: str,
    note: str = "",
    made_at: dt.datetime | None = None,
) -> OutreachAttempt:
    """Record an attempt to reach the member. The first one moves the referral into outreach.
    No outreach before a release of information is on file (seed 004)."""
    referral = Referral.objects.select_for_update().select_related("plan", "member").get(pk=referral.pk)
    if referral.status not in (Status.ASSIGNED, Status.OUTREACH):
        raise TransitionError("Outreach is logged once the referral is assigned.", allowed=allowed_moves(referral))
    _require_move(actor, referral, Status.OUTREACH, None)
    errors = {}
    if method not in ContactMethod.values:
        errors["method"] = "is required"
    if outcome not in OutreachAttempt.Outcome.values:
        errors["outcome"] = "is required"
    made_at = made_at or timezone.now()
    if made_at > timezone.now() + dt.timedelta(minutes=5):
        errors["made_at"] = "cannot be in the future"
    if errors:
        raise ValidationError(errors)
    if not has_care_coordination_consent(member=referral.member):
        raise ValidationError(
            "No release of information for care coordination is on file for this member. Record the signed "
            "release on the member's page before any outreach."
        )
    attempt = OutreachAttempt.objects.create(
        referral=referral,
        plan_id=referral.plan_id,
        made_by=actor.user,
        made_at=made_at,
        method=method,
        outcome=outcome,
        note=note,
    )
    if referral.status == Status.ASSIGNED:
        referral_transition(actor=actor, referral=referral, to=Status.OUTREACH)
    else:
        _audit(actor, referral, Action.UPDATE, f"Outreach attempt: {attempt}")
    return attempt


# Bulk intake: predictive-model lists -------------------------------------------------------------


@dataclass
class ListResult:
    rows: int = 0
    created: int = 0
    linked: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


@transaction.atomic
def referral_list_import(*, actor: Actor, upload: UploadedFile, reason: str = "") -> ListResult:
    """Create referrals for a predictive model's list: a CSV with member_id and score columns.
    All or nothing, as rosters: any bad row and nothing is created, every bad row reported."""
    actor.require("organizations.import_referral_lists")
    result = ListResult()
    try:
        text = io.TextIOWrapper(upload, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = [h.strip().lower() for h in next(reader, [])]
        if "member_id" not in header or "score" not in header:
            result.errors.append({"row": 1, "field": "header", "message": "needs the columns member_id and score"})
            return result
        idx_id, idx_score = header.index("member_id"), header.index("score")
        idx_reason = header.index("reason") if "reason" in header else None
        wanted: list[tuple[int, str, Decimal, str]] = []
        seen: set[str] = set()
        for row_no, row in enumerate(reader, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            result.rows += 1
            if result.rows > LIST_MAX_ROWS:
                result.errors.append({"row": row_no, "field": "file", "message": f"more than {LIST_MAX_ROWS} rows"})
                break
            if len(row) != len(header):
                result.errors.append({"row": row_no, "field": "row", "message": f"has {len(row)} fields"})
                continue
            number = row[idx_id].strip().upper()
            try:
                score = Decimal(row[idx_score].strip())
                if not 0 <= score <= 1:
                    raise InvalidOperation
            except InvalidOperation:
                result.errors.append({"row": row_no, "field": "score", "message": "must be a number from 0 to 1"})
                continue
            if not number:
                result.errors.append({"row": row_no, "field": "member_id", "message": "is required"})
            elif number in seen:
                result.errors.append({"row": row_no, "field": "member_id", "message": "appears earlier in the file"})
            else:
                seen.add(number)
                wanted.append((row_no, number, score, row[idx_reason].strip() if idx_reason is not None else ""))
    except (UnicodeDecodeError, csv.Error) as exc:
        result.errors.append({"row": 0, "field": "file", "message": f"is not a UTF-8 CSV file ({exc})"})
        return result
    members = {
        m.member_number: m
        for m in Member.objects.visible_to(actor)
        .filter(member_number__in=[w[1] for w in wanted])
        .select_related("plan")
    }
    for row_no, number, _score, _reason in wanted:
        if number not in members:
            result.errors.append(
                {"row": row_no, "field": "member_id", "message": f"{number} is not a member of this plan"}
            )
    if result.errors or not wanted:
        if not wanted and not result.errors:
            result.errors.append({"row": 1, "field": "file", "message": "has no rows"})
        return result
    for _row_no, number, score, row_reason in wanted:
        intake = Intake(reason=row_reason or reason or f"Predictive model score {score}", model_score=score)
        referral = referral_create(actor=actor, member=members[number], source=Source.PREDICTIVE_MODEL, intake=intake)
        if referral.status == Status.LINKED:
            result.linked += 1
        else:
            result.created += 1
    return result


# Timeline, audit, notifications ------------------------------------------------------------------


def _event(
    referral: Referral,
    actor: Actor,
    kind: str,
    frm: str = "",
    to: str = "",
    *,
    reason: str = "",
    internal_note: str = "",
) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral,
        plan_id=referral.plan_id,
        kind=kind,
        actor=actor.user,
        from_status=frm,
        to_status=to,
        reason=reason,
        internal_note=internal_note,
    )


def _audit(actor: Actor, referral: Referral, action: str, summary: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="referral",
        object_id=referral.public_id,
        plan_id=referral.plan_id,
        member_id=referral.member_id,
        summary=summary,
    )


def _url(referral: Referral) -> str:
    return reverse("referral-detail", args=[referral.public_id])


def _notify_user(user: User | None, referral: Referral, title: str) -> None:
    if user is not None:
        notifications.notify(
            recipients=[user], kind="referral.assigned", title=title, url=_url(referral), plan_id=referral.plan_id
        )


def _notify_supervisors(referral: Referral, title: str, *, email: bool = False, dedupe_key: str | None = None) -> None:
    supervisors = User.objects.filter(organization_id=referral.plan_id, role=Role.SUPERVISOR, is_active=True)
    notifications.notify(
        recipients=supervisors,
        kind="referral.attention",
        title=title,
        url=_url(referral),
        plan_id=referral.plan_id,
        email=email,
        dedupe_key=dedupe_key,
    )


def _notify_plan_owner(referral: Referral, title: str) -> None:
    if referral.assigned_to_id:
        _notify_user(referral.assigned_to, referral, title)
    else:
        _notify_supervisors(referral, title)


def referrer_recipients(referral: Referral) -> list[User]:
    """Who hears back at the referring practice: the person who referred, and the practice's
    designated points of contact for this plan."""
    if referral.referring_practice_id is None:
        return []
    contacts = User.objects.filter(
        pk__in=PartnershipContact.objects.filter(
            partnership__plan_id=referral.plan_id,
            partnership__practice_id=referral.referring_practice_id,
            side=PartnershipContact.Side.PRACTICE,
            user__isnull=False,
        ).values("user_id"),
        is_active=True,
    )
    people = {u.pk: u for u in contacts}
    if referral.referred_by_id and referral.referred_by.organization_id == referral.referring_practice_id:
        people[referral.referred_by_id] = referral.referred_by
    return list(people.values())


def _notify_referrer(referral: Referral) -> None:
    """Inbox notice for each change; the email is a daily digest (referrals.handlers)."""
    recipients = referrer_recipients(referral)
    if not recipients:
        return
    status = Status(referral.status).label
    notifications.notify(
        recipients=recipients,
        kind="referral.status",
        title=f"Referral for {referral.member.full_name}: {status}",
        url=_url(referral),
        plan_id=referral.plan_id,
    )
    practice = referral.referring_practice
    for user in recipients:
        _schedule_digest(user, practice)


def _schedule_digest(user: User, practice: Organization) -> None:
    local_now = timezone.localtime(timezone.now(), practice.tz)
    send_on = local_now.date() + dt.timedelta(days=1)
    due = dt.datetime.combine(send_on, dt.time(7, 0), tzinfo=practice.tz)
    deadlines.schedule(
        kind="referral.digest",
        key=f"referral-digest:{user.pk}:{send_on.isoformat()}",
        due_at=due,
        payload={"user_id": user.pk, "since": (due - dt.timedelta(days=1)).isoformat(), "until": due.isoformat()},
    )


def next_step(referral: Referral) -> str:
    """What happens next, in words the referring practice reads on "My referrals"."""
    return next_step_for(referral.status, str(referral.assigned_to) if referral.assigned_to_id else "")


def next_step_for(status: str, manager: str) -> str:
    return {
        Status.SUBMITTED: "Waiting for the plan to acknowledge the referral",
        Status.ACKNOWLEDGED: "The plan is triaging the referral",
        Status.TRIAGED: "Waiting for a care manager",
        Status.ASSIGNED: f"{manager} will reach out to the patient",
        Status.OUTREACH: f"{manager} is reaching out to the patient",
        Status.ENROLLED: f"Enrolled in care management with {manager}",
        Status.DECLINED: "The patient declined care management",
        Status.NOT_ELIGIBLE: "Not eligible for care management",
        Status.UNABLE_TO_REACH: "The plan could not reach the patient",
        Status.CANCELLED: "The referral was cancelled",
        Status.LINKED: "Added to the patient's open referral or current care management",
    }[status]


def digest_email_for(*, user_id: int, since: str, until: str) -> None:
    """Send one email if the person had referral updates in the window (no member details)."""
    from core.models import Notification

    user = User.objects.filter(pk=user_id, is_active=True).exclude(email="").first()
    if user is None:
        return
    count = Notification.objects.filter(
        recipient=user, kind__startswith="referral.", created_at__gte=since, created_at__lt=until
    ).count()
    if count:
        notifications.email_address(
            to=user.email,
            kind="referral.digest",
            plan_id=None,
            dedupe_key=f"referral-digest:{user.pk}:{until}",
            subject=f"CareCoord: {count} update{'s' if count != 1 else ''} on your referrals",
        )
