"""Every write to caseloads: enrollments and their history, reassignment and coverage, worklist
tasks, the contact log. Keyword-only, typed, one transaction each (DESIGN.md)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from caseloads.models import (
    Acuity,
    ContactLog,
    ContactMethod,
    Coverage,
    Enrollment,
    EnrollmentEvent,
    Program,
    Task,
)
from core import audit, deadlines, notifications
from core.audit import Action
from members.models import Attribution, Member
from members.querysets import current_on
from members.services import care_team_release_care_manager, care_team_set_care_manager
from organizations.access import Actor
from organizations.models import Organization, Role, User
from organizations.services import business_calendar

# Who carries a caseload: what "care manager" means for assignment, reassignment and tasks.
CARE_ROLES = (Role.CARE_MANAGER, Role.CARE_COORDINATOR, Role.MEMBER_ADVOCATE)
# Seed 001: perinatal members are followed through 90 days postpartum.
POSTPARTUM_DAYS = 90


def check_care_staff(user: User | None, plan_id: int, *, field: str = "care_manager") -> User:
    if user is None or user.organization_id != plan_id or user.role not in CARE_ROLES or not user.is_active:
        raise ValidationError({field: "must be an active care manager, coordinator or advocate of the plan"})
    return user


def _event(enrollment: Enrollment, actor: Actor, kind: str, *, old: str = "", new: str = "", reason: str = "") -> None:
    EnrollmentEvent.objects.create(
        enrollment=enrollment,
        plan_id=enrollment.plan_id,
        kind=kind,
        from_value=old[:200],
        to_value=new[:200],
        reason=reason[:300],
        actor=actor.user,
    )


def _audit(actor: Actor, enrollment: Enrollment, action: str, summary: str, **detail) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="enrollment",
        object_id=enrollment.public_id,
        plan_id=enrollment.plan_id,
        member_id=enrollment.member_id,
        summary=summary,
        detail=detail,
    )


def _lock(enrollment: Enrollment) -> Enrollment:
    locked = Enrollment.objects.select_for_update().select_related("plan", "member__plan").get(pk=enrollment.pk)
    if locked.status != Enrollment.Status.ACTIVE:
        raise ValidationError("The enrollment has ended.")
    return locked


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why."})
    return reason


def _url(enrollment: Enrollment) -> str:
    return reverse("enrollment-detail", args=[enrollment.public_id])


# Enrollments -----------------------------------------------------------------------------------


@transaction.atomic
def enrollment_start(
    *,
    actor: Actor,
    member: Member,
    program: str,
    acuity: str,
    care_manager: User | None,
    referral=None,
    expected_delivery_date: dt.date | None = None,
) -> Enrollment:
    """Enroll the member in care management; the care manager becomes the point of contact."""
    errors = {}
    if program not in Program.values:
        errors["program"] = "is required"
    if acuity not in Acuity.values:
        errors["acuity"] = "is required"
    if errors:
        raise ValidationError(errors)
    check_care_staff(care_manager, member.plan_id)
    Member.objects.select_for_update().get(pk=member.pk)
    if Enrollment.objects.active().filter(member=member).exists():
        raise ValidationError("The member is already enrolled in care management.")
    enrollment = Enrollment.objects.create(
        plan_id=member.plan_id,
        member=member,
        program=program,
        acuity=acuity,
        care_manager=care_manager,
        start_date=member.plan.local_date(),
        referral=referral,
        expected_delivery_date=expected_delivery_date if program == Program.PERINATAL else None,
    )
    _event(enrollment, actor, EnrollmentEvent.Kind.STARTED, new=f"{enrollment} with {care_manager}")
    care_team_set_care_manager(actor=Actor.system(), member=member, user=care_manager)
    _audit(actor, enrollment, Action.CREATE, f"Enrolled: {enrollment}")
    return enrollment


@transaction.atomic
def enrollment_change_acuity(*, actor: Actor, enrollment: Enrollment, acuity: str, reason: str) -> Enrollment:
    """Move the member along the progression of care (seed 001). The history keeps every step."""
    actor.require("organizations.work_caseloads")
    enrollment = _lock(enrollment)
    if acuity not in Acuity.values:
        raise ValidationError({"acuity": "Choose an acuity level."})
    reason = _require_reason(reason)
    if acuity == enrollment.acuity:
        raise ValidationError({"acuity": f"The acuity is {enrollment.get_acuity_display()} already."})
    old = enrollment.get_acuity_display()
    enrollment.acuity = acuity
    enrollment.save(update_fields=["acuity"])
    _event(enrollment, actor, EnrollmentEvent.Kind.ACUITY, old=old, new=enrollment.get_acuity_display(), reason=reason)
    _audit(actor, enrollment, Action.UPDATE, f"Acuity {old} → {enrollment.get_acuity_display()}")
    return enrollment


@transaction.atomic
def enrollment_end(*, actor: Actor, enrollment: Enrollment, reason: str) -> Enrollment:
    """End care management: its timers stop, its open tasks close, the care manager leaves the
    care team."""
    actor.require("organizations.work_caseloads")
    enrollment = _lock(enrollment)
    reason = _require_reason(reason)
    enrollment.status, enrollment.end_reason = Enrollment.Status.ENDED, reason[:200]
    enrollment.end_date = max(enrollment.plan.local_date(), enrollment.start_date)
    enrollment.save(update_fields=["status", "end_reason", "end_date"])
    deadlines.cancel_prefix(prefix=f"enrollment:{enrollment.pk}:")
    Task.objects.open().filter(origin_key__startswith=f"enrollment:{enrollment.pk}:").update(
        status=Task.Status.CANCELLED, closed_at=timezone.now(), closed_by=actor.user
    )
    care_team_release_care_manager(
        actor=Actor.system(), member=enrollment.member, user=enrollment.care_manager, reason="Enrollment ended"
    )
    _event(enrollment, actor, EnrollmentEvent.Kind.ENDED, reason=reason)
    _audit(actor, enrollment, Action.UPDATE, "Enrollment ended", reason=reason)
    return enrollment


@transaction.atomic
def enrollment_set_co_management(
    *, actor: Actor, enrollment: Enrollment, partner: Organization | None, contact: str = "", reason: str = ""
) -> Enrollment:
    """Behavioral-health co-management with a partner organization (seed 001), or its end."""
    actor.require("organizations.work_caseloads")
    enrollment = _lock(enrollment)
    contact = (contact or "").strip()
    if partner is not None:
        if partner.pk == enrollment.plan_id or partner.kind == Organization.Kind.PLAN:
            raise ValidationError({"partner": "must be a partner practice or community organization"})
        if not contact:
            raise ValidationError({"contact": "Who is the contact at the partner?"})
    old = f"{enrollment.co_manager} ({enrollment.co_manager_contact})" if enrollment.co_managed else "Not co-managed"
    enrollment.co_managed = partner is not None
    enrollment.co_manager = partner
    enrollment.co_manager_contact = contact if partner is not None else ""
    enrollment.save(update_fields=["co_managed", "co_manager", "co_manager_contact"])
    new = f"{partner} ({contact})" if partner is not None else "Not co-managed"
    _event(enrollment, actor, EnrollmentEvent.Kind.CO_MANAGEMENT, old=old, new=new, reason=reason)
    _audit(actor, enrollment, Action.UPDATE, f"Co-management: {new}")
    return enrollment


@transaction.atomic
def enrollment_record_delivery(*, actor: Actor, enrollment: Enrollment, delivery_date: dt.date) -> Enrollment:
    """Perinatal: the delivery starts the 90 postpartum days; their end prompts the closure
    review (a deadline row; recording a corrected date moves it)."""
    actor.require("organizations.work_caseloads")
    enrollment = _lock(enrollment)
    if enrollment.program != Program.PERINATAL:
        raise ValidationError({"delivery_date": "Only a perinatal enrollment records a delivery."})
    today = enrollment.plan.local_date()
    if delivery_date > today:
        raise ValidationError({"delivery_date": "The delivery date cannot be in the future."})
    if delivery_date < enrollment.start_date - dt.timedelta(days=280):
        raise ValidationError({"delivery_date": "The delivery date is long before the enrollment began."})
    old = f"{enrollment.delivery_date:%b %-d, %Y}" if enrollment.delivery_date else ""
    enrollment.delivery_date = delivery_date
    enrollment.save(update_fields=["delivery_date"])
    review_day = delivery_date + dt.timedelta(days=POSTPARTUM_DAYS)
    prefix = f"enrollment:{enrollment.pk}:perinatal_close:"
    deadlines.cancel_prefix(prefix=prefix)
    deadlines.schedule(
        kind="caseloads.perinatal_close",
        key=f"{prefix}{review_day.isoformat()}",
        due_at=business_calendar(enrollment.plan).at_opening(review_day),
        plan_id=enrollment.plan_id,
        payload={"enrollment_id": enrollment.pk},
    )
    _event(enrollment, actor, EnrollmentEvent.Kind.DELIVERY, old=old, new=f"{delivery_date:%b %-d, %Y}")
    _audit(actor, enrollment, Action.UPDATE, "Delivery recorded")
    return enrollment


def perinatal_closure_due(enrollment_id: int) -> None:
    """The postpartum period is over: the care manager reviews the case for closure."""
    enrollment = Enrollment.objects.select_related("member", "care_manager", "plan").get(pk=enrollment_id)
    if enrollment.status != Enrollment.Status.ACTIVE:
        return
    task = task_create(
        actor=Actor.system(),
        member=enrollment.member,
        owner=enrollment.care_manager,
        title="Perinatal closure review: 90 days postpartum",
        due_date=business_calendar(enrollment.plan).next_business_day(enrollment.plan.local_date()),
        origin=Task.Origin.ENROLLMENT,
        origin_key=f"enrollment:{enrollment.pk}:perinatal_close",
    )
    notifications.notify(
        recipients=[enrollment.care_manager],
        kind="caseloads.task",
        title=f"Perinatal closure review due: {enrollment.member.full_name}",
        url=reverse("worklist"),
        plan_id=enrollment.plan_id,
        dedupe_key=f"task:{task.pk}",
    )


# Reassignment and coverage ----------------------------------------------------------------------


def _move(actor: Actor, enrollments: list[Enrollment], to: User, reason: str, kind: str) -> dict[int, list[Member]]:
    """Give each enrollment (locked, active) to `to`; their open tasks follow. Returns the
    members each previous care manager lost, by user id."""
    lost: dict[int, list[Member]] = defaultdict(list)
    for enrollment in enrollments:
        previous = enrollment.care_manager
        if previous.pk == to.pk:
            continue
        enrollment.care_manager = to
        enrollment.save(update_fields=["care_manager"])
        Task.objects.open().filter(member_id=enrollment.member_id, owner=previous).update(owner=to)
        care_team_set_care_manager(actor=Actor.system(), member=enrollment.member, user=to)
        _event(enrollment, actor, kind, old=str(previous), new=str(to), reason=reason)
        _audit(actor, enrollment, Action.UPDATE, f"Care manager {previous.username} → {to.username}", reason=reason)
        lost[previous.pk].append(enrollment.member)
    return lost


def _tell_everyone(plan: Organization, to: User, lost: dict[int, list[Member]], reason: str) -> None:
    """One notice for the new care manager, one for each previous one, and one for each practice
    whose attributed patients changed hands (status the practice may see, seed 000)."""
    moved = [m for members in lost.values() for m in members]
    if not moved:
        return
    notifications.notify(
        recipients=[to],
        kind="caseloads.reassigned",
        title=f"{len(moved)} member{'s' if len(moved) != 1 else ''} assigned to you",
        body=reason,
        url=reverse("caseload", args=[to.public_id]),
        plan_id=plan.pk,
    )
    for user in User.objects.filter(pk__in=list(lost)):
        n = len(lost[user.pk])
        notifications.notify(
            recipients=[user],
            kind="caseloads.reassigned",
            title=f"{n} member{'s' if n != 1 else ''} moved from your caseload to {to}",
            body=reason,
            plan_id=plan.pk,
        )
    by_practice = Counter(
        Attribution.objects.filter(current_on(), member__in=[m.pk for m in moved]).values_list("practice_id", flat=True)
    )
    contacts = User.objects.filter(
        organization_id__in=list(by_practice), role=Role.PRACTICE_CONTACT, is_active=True
    ).order_by("organization_id", "id")
    for user in contacts:
        n = by_practice[user.organization_id]
        notifications.notify(
            recipients=[user],
            kind="caseloads.reassigned",
            title=f"{plan}: {n} of your patients ha{'ve' if n != 1 else 's'} a new care manager, {to}",
            url=reverse("member-list"),
            plan_id=plan.pk,
        )


def _locked_active(actor: Actor, enrollment_ids: Iterable[int]) -> list[Enrollment]:
    return list(
        Enrollment.objects.visible_to(actor)
        .active()
        .filter(pk__in=list(enrollment_ids))
        .select_related("care_manager", "member__plan")
        .order_by("id")
        .select_for_update(of=("self",))
    )


@transaction.atomic
def caseload_reassign(*, actor: Actor, enrollment_ids: Iterable[int], to: User, reason: str) -> int:
    """Move the chosen members' care management to another care manager, in one action."""
    actor.require("organizations.supervise_caseloads")
    check_care_staff(to, actor.organization.pk, field="to")
    reason = _require_reason(reason)
    enrollments = _locked_active(actor, enrollment_ids)
    if not enrollments:
        raise ValidationError({"enrollments": "Choose at least one member with an active enrollment."})
    lost = _move(actor, enrollments, to, reason, EnrollmentEvent.Kind.CARE_MANAGER)
    moved = sum(len(m) for m in lost.values())
    transaction.on_commit(lambda: _tell_everyone(actor.organization, to, lost, reason))
    return moved


@transaction.atomic
def coverage_start(*, actor: Actor, absent: User, covering: User, ends_on: dt.date, reason: str) -> Coverage:
    """Cover all of one care manager's members during an absence; they return the morning after
    `ends_on` (a deadline row, so a restart loses nothing)."""
    actor.require("organizations.supervise_caseloads")
    plan = actor.organization
    check_care_staff(absent, plan.pk, field="absent")
    check_care_staff(covering, plan.pk, field="covering")
    if absent.pk == covering.pk:
        raise ValidationError({"covering": "Choose someone other than the absent care manager."})
    if ends_on < plan.local_date():
        raise ValidationError({"ends_on": "The cover must end today or later."})
    reason = _require_reason(reason)
    enrollments = _locked_active(
        actor, Enrollment.objects.active().filter(care_manager=absent).values_list("pk", flat=True)
    )
    if not enrollments:
        raise ValidationError({"absent": f"{absent} has no members to cover."})
    coverage = Coverage.objects.create(
        plan=plan, absent=absent, covering=covering, ends_on=ends_on, reason=reason, created_by=actor.user
    )
    coverage.enrollments.set(enrollments)
    note = f"Covering for {absent} until {ends_on:%b %-d}: {reason}"
    lost = _move(actor, enrollments, covering, note, EnrollmentEvent.Kind.COVERAGE)
    deadlines.schedule(
        kind="caseloads.coverage_return",
        key=f"coverage:{coverage.pk}:return",
        due_at=business_calendar(plan).at_opening(ends_on + dt.timedelta(days=1)),
        plan_id=plan.pk,
        payload={"coverage_id": coverage.pk},
    )
    audit.record(
        actor=actor,
        action=Action.CREATE,
        object_type="coverage",
        object_id=coverage.public_id,
        plan_id=plan.pk,
        summary=f"{len(enrollments)} members of {absent.username} covered by {covering.username} until {ends_on}",
    )
    transaction.on_commit(lambda: _tell_everyone(plan, covering, lost, note))
    return coverage


@transaction.atomic
def coverage_return(*, actor: Actor, coverage: Coverage) -> int:
    """The absence is over: members still with the covering care manager go back (those a
    supervisor has moved elsewhere meanwhile stay where they are)."""
    coverage = Coverage.objects.select_for_update().select_related("plan", "absent", "covering").get(pk=coverage.pk)
    if coverage.status != Coverage.Status.ACTIVE:
        return 0
    coverage.status = Coverage.Status.RETURNED
    coverage.save(update_fields=["status"])
    deadlines.cancel(key=f"coverage:{coverage.pk}:return")
    if not coverage.absent.is_active:
        return 0  # left the plan meanwhile: a supervisor places these members
    still = coverage.enrollments.active().filter(care_manager=coverage.covering).values("pk")
    enrollments = list(
        Enrollment.objects.filter(pk__in=still)
        .select_related("care_manager", "member__plan")
        .order_by("id")
        .select_for_update(of=("self",))
    )
    reason = f"Back from cover by {coverage.covering}"
    lost = _move(actor, enrollments, coverage.absent, reason, EnrollmentEvent.Kind.COVERAGE)
    transaction.on_commit(lambda: _tell_everyone(coverage.plan, coverage.absent, lost, reason))
    return sum(len(m) for m in lost.values())


# Worklist tasks --------------------------------------------------------------------------------


def _check_task(*, member: Member, owner: User | None, title: str, due_date: dt.date | None, origin: str) -> str:
    """A task's fields checked (ValidationError naming each bad one); returns the title, trimmed."""
    errors = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = "is required"
    if due_date is None:
        errors["due_date"] = "is required"
    if origin not in Task.Origin.values:
        errors["origin"] = f"must be one of {', '.join(Task.Origin.values)}"
    if errors:
        raise ValidationError(errors)
    if owner is None or owner.organization_id != member.plan_id or not owner.is_active:
        raise ValidationError({"owner": "must be an active member of the plan's staff"})
    return title


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    member: Member,
    owner: User | None,
    title: str,
    due_date: dt.date | None,
    origin: str,
    detail: str = "",
    origin_key: str = "",
) -> Task:
    """A task on `owner`'s worklist. With an origin key, at most one open task per key: asking
    again returns the open one (a deadline handler that runs twice makes one task)."""
    if actor.user is not None:
        actor.require("organizations.work_caseloads")
    title = _check_task(member=member, owner=owner, title=title, due_date=due_date, origin=origin)
    if origin_key:
        existing = Task.objects.open().filter(origin_key=origin_key).first()
        if existing is not None:
            return existing
    task = Task.objects.create(
        plan_id=member.plan_id,
        member=member,
        owner=owner,
        title=title[:200],
        detail=detail,
        due_date=due_date,
        origin=origin,
        origin_key=origin_key,
        created_by=actor.user,
    )
    audit.record(
        actor=actor,
        action=Action.CREATE,
        object_type="task",
        object_id=task.public_id,
        plan_id=task.plan_id,
        member_id=member.pk,
        summary=task.title,
    )
    if actor.user is not None and owner.pk != actor.user.pk:
        notifications.notify(
            recipients=[owner],
            kind="caseloads.task",
            title=f"New task: {task.title} ({member.full_name})",
            url=reverse("worklist"),
            plan_id=task.plan_id,
        )
    return task


@transaction.atomic
def task_close(*, actor: Actor, task: Task, status: str = Task.Status.DONE) -> Task:
    """Mark a task done (or cancelled). Its owner or a supervisor may."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    if actor.user is None or (task.owner_id != actor.user.pk and not actor.can("organizations.supervise_caseloads")):
        raise PermissionDenied("Only the task's owner or a supervisor can close it.")
    if status not in (Task.Status.DONE, Task.Status.CANCELLED):
        raise ValidationError({"status": "must be done or cancelled"})
    if task.status != Task.Status.OPEN:
        raise ValidationError({"status": f"The task is {task.get_status_display().lower()} already."})
    task.status, task.closed_at, task.closed_by = status, timezone.now(), actor.user
    task.save(update_fields=["status", "closed_at", "closed_by"])
    audit.record(
        actor=actor,
        action=Action.UPDATE,
        object_type="task",
        object_id=task.public_id,
        plan_id=task.plan_id,
        member_id=task.member_id,
        summary=f"Task {task.get_status_display().lower()}: {task.title}",
    )
    return task


def tasks_close_by_origin(*, actor: Actor, origin_key: str, status: str = Task.Status.DONE) -> int:
    """Close the open task a workflow made (its step is done or moot). Called from inside the
    workflow's own transaction and permission check; returns how many closed (0 or 1)."""
    return (
        Task.objects.open()
        .filter(origin_key=origin_key)
        .update(status=status, closed_at=timezone.now(), closed_by=actor.user)
    )


@dataclass(frozen=True)
class StepTask:
    """The worklist task a workflow step asks for (`tasks_for_steps`)."""

    member: Member
    owner: User
    title: str
    due_date: dt.date
    origin: str
    origin_key: str


def task_for_step(*, member: Member, owner: User, title: str, due_date: dt.date, origin: str, origin_key: str) -> Task:
    """The worklist task for a workflow step: one per key; a step handed to someone else moves
    its open task with it."""
    return tasks_for_steps([StepTask(member, owner, title, due_date, origin, origin_key)])[0]


@transaction.atomic(savepoint=False)  # all or nothing with the caller: no SAVEPOINT round trips
def tasks_for_steps(specs: list[StepTask]) -> list[Task]:
    """`task_for_step()` for many steps in a fixed number of statements (a batch of deadlines):
    the open tasks of these keys read once, moved to their new owner in one UPDATE per owner, the
    new ones inserted together with their audit events. Made by the system, so nobody is told
    (the workflow tells the owner itself)."""
    if not specs:
        return []
    open_tasks = {t.origin_key: t for t in Task.objects.open().filter(origin_key__in={s.origin_key for s in specs})}
    before = {task.pk: task.owner_id for task in open_tasks.values()}
    new: dict[str, Task] = {}
    for spec in specs:
        task = open_tasks.get(spec.origin_key) or new.get(spec.origin_key)
        if task is not None:
            task.owner = spec.owner  # the last word on a key wins, as with one call after another
            continue
        title = _check_task(
            member=spec.member, owner=spec.owner, title=spec.title, due_date=spec.due_date, origin=spec.origin
        )
        new[spec.origin_key] = Task(
            plan_id=spec.member.plan_id,
            member=spec.member,
            owner=spec.owner,
            title=title[:200],
            due_date=spec.due_date,
            origin=spec.origin,
            origin_key=spec.origin_key,
        )
    moved: dict[int, list[int]] = defaultdict(list)
    for task in open_tasks.values():
        if task.owner_id != before[task.pk]:
            moved[task.owner_id].append(task.pk)
    for owner_id, task_ids in moved.items():
        Task.objects.filter(pk__in=task_ids).update(owner_id=owner_id)
    created = Task.objects.bulk_create(new.values())
    audit.record_many(
        actor=Actor.system(),
        action=Action.CREATE,
        object_type="task",
        objects=[(t.public_id, t.plan_id, t.member_id) for t in created],
        summaries=[t.title for t in created],
    )
    return [open_tasks.get(spec.origin_key) or new[spec.origin_key] for spec in specs]


# Contact log -----------------------------------------------------------------------------------


@transaction.atomic
def contact_log(
    *,
    actor: Actor,
    member: Member,
    made_at: dt.datetime | None,
    method: str,
    with_whom: str,
    outcome: str,
    notes: str = "",
    shareable: bool = False,
) -> ContactLog:
    """Document one coordination contact."""
    actor.require("organizations.work_caseloads")
    errors = {}
    if made_at is None:
        errors["made_at"] = "is required"
    elif made_at > timezone.now() + dt.timedelta(minutes=5):
        errors["made_at"] = "cannot be in the future"
    if method not in ContactMethod.values:
        errors["method"] = f"must be one of {', '.join(ContactMethod.values)}"
    if outcome not in ContactLog.Outcome.values:
        errors["outcome"] = f"must be one of {', '.join(ContactLog.Outcome.values)}"
    with_whom = (with_whom or "").strip()
    if not with_whom:
        errors["with_whom"] = "is required"
    if errors:
        raise ValidationError(errors)
    entry = ContactLog.objects.create(
        plan_id=member.plan_id,
        member=member,
        made_at=made_at,
        method=method,
        with_whom=with_whom[:200],
        outcome=outcome,
        notes=notes,
        shareable=shareable,
        logged_by=actor.user,
    )
    audit.record(
        actor=actor,
        action=Action.CREATE,
        object_type="contact_log",
        object_id=entry.public_id,
        plan_id=member.plan_id,
        member_id=member.pk,
        summary=str(entry),
    )
    return entry
