"""Every write to care plans. Keyword-only, atomic, permission-checked, versioned, audited.

Each change locks the care plan row, applies itself, then `_new_version()` bumps the plan's
version and stores who, when, a short summary and the whole plan as it now is (so any earlier
version can be read back), and writes the audit event, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from careplans import phq9
from careplans.documents import plan_document, shared_part
from careplans.models import (
    Acknowledgement,
    Assessment,
    CarePlan,
    CarePlanVersion,
    CoordinationNotice,
    Domain,
    Goal,
    Intervention,
    InterventionStatus,
    OwnerKind,
    Problem,
    RecordRequest,
    RecordRequestFile,
)
from caseloads.models import Enrollment, Program, Task
from caseloads.services import task_for_step, tasks_close_by_origin
from core import audit, deadlines, notifications, uploads
from core.audit import Action
from members.models import CareTeamMember, Member, ReleaseOfInformation
from members.services import consent_covers
from organizations.access import Actor
from organizations.models import Organization, Partnership, Role, User

PROBLEM_FIELDS = ("domain", "description", "root_causes", "shareable", "substance_use")
GOAL_FIELDS = (
    "problem",
    "member_words",
    "agreed_on",
    "priority",
    "target_date",
    "progress",
    "progress_note",
    "shareable",
    "substance_use",
)
INTERVENTION_FIELDS = (
    "goal",
    "description",
    "owner_kind",
    "owner_organization",
    "due_date",
    "status",
    "shareable",
    "substance_use",
)
ITEM_LABELS = {Problem: "problem", Goal: "goal", Intervention: "intervention"}
REVIEW_EVERY_DAYS = 90  # the default, and for members not enrolled in a program
# Programs whose members change faster are reviewed sooner: a pregnancy and the weeks after a
# discharge move in weeks, not quarters.
REVIEW_DAYS_BY_PROGRAM = {Program.PERINATAL: 30, Program.TRANSITIONS: 30}


def review_interval(member_id: int) -> int:
    """Days until the next review: by the program of the member's active enrollment."""
    program = Enrollment.objects.active().filter(member_id=member_id).values_list("program", flat=True).first()
    return REVIEW_DAYS_BY_PROGRAM.get(program, REVIEW_EVERY_DAYS)


REVIEW_HOUR = 9  # a review comes due at 9:00 in the plan's time zone


def _require_edit(actor: Actor) -> None:
    """Plan care staff edit care plans; a practice adds only its own interventions."""
    if actor.is_system:
        return
    actor.require("organizations.edit_careplans")
    if not actor.is_plan_staff:
        raise PermissionDenied("Care plans are edited by the plan's care staff.")


def _lock(care_plan: CarePlan) -> CarePlan:
    return CarePlan.objects.select_for_update(of=("self",)).select_related("member", "plan").get(pk=care_plan.pk)


def snapshot(care_plan: CarePlan) -> dict[str, Any]:
    """The whole plan, plan-internal items included (three queries)."""
    return plan_document(
        care_plan,
        problems=Problem.objects.filter(care_plan=care_plan),
        goals=Goal.objects.filter(care_plan=care_plan),
        interventions=Intervention.objects.filter(care_plan=care_plan).select_related("owner_organization"),
        internal=True,
    )


def _new_version(actor: Actor, care_plan: CarePlan, summary: str, action: str = Action.UPDATE) -> CarePlanVersion:
    """Call with the care plan locked (`_lock`), after the change. The shared version moves only
    when what a practice sees moved."""
    now = timezone.now()
    care_plan.version += 1
    care_plan.updated_at = now
    document = snapshot(care_plan)
    digest = hashlib.sha256(json.dumps(shared_part(document), sort_keys=True).encode()).hexdigest()
    if digest != care_plan.shared_digest:
        care_plan.shared_version += 1
        care_plan.shared_digest, care_plan.shared_updated_at = digest, now
    document["shared_version"] = care_plan.shared_version
    care_plan.save(update_fields=["version", "updated_at", "shared_version", "shared_digest", "shared_updated_at"])
    version = CarePlanVersion.objects.create(
        care_plan=care_plan,
        plan_id=care_plan.plan_id,
        number=care_plan.version,
        shared_version=care_plan.shared_version,
        changed_by=actor.user,
        summary=summary[:300],
        snapshot=document,
    )
    _audit(actor, care_plan, action, f"Care plan v{version.number}: {summary}")
    return version


def _audit(actor: Actor, care_plan: CarePlan, action: str, summary: str, **detail: Any) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="care_plan",
        object_id=care_plan.public_id,
        plan_id=care_plan.plan_id,
        member_id=care_plan.member_id,
        summary=summary,
        detail=detail,
    )


def _short(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


@transaction.atomic
def careplan_start(*, actor: Actor, member: Member) -> CarePlan:
    """The member's care plan, created at version 1 if there is none yet (one per member: a
    database rule; the member lock makes two starts at once give the same plan)."""
    _require_edit(actor)
    Member.objects.select_for_update().get(pk=member.pk)
    existing = CarePlan.objects.filter(member=member).first()
    if existing is not None:
        return existing
    care_plan = CarePlan.objects.create(plan_id=member.plan_id, member=member, created_by=actor.user)
    care_plan = _lock(care_plan)
    _schedule_review(care_plan, member.plan.local_date() + dt.timedelta(days=review_interval(member.pk)))
    _new_version(actor, care_plan, "Care plan started", Action.CREATE)
    return care_plan


def _apply(instance: Model, values: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError({name: "cannot be set here" for name in sorted(unknown)})
    changed = []
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    instance.full_clean(exclude=["care_plan", "plan", "added_by_organization"])
    return changed


def _check_links(care_plan: CarePlan, actor: Actor, values: dict[str, Any]) -> None:
    """A goal's problem and an intervention's goal belong to the same plan; an owner
    organization is one the plan works with (a partner practice or the community directory)."""
    errors = {}
    problem = values.get("problem")
    if problem is not None and problem.care_plan_id != care_plan.pk:
        errors["problem"] = "is not a problem of this care plan"
    goal = values.get("goal")
    if goal is not None and goal.care_plan_id != care_plan.pk:
        errors["goal"] = "is not a goal of this care plan"
    org = values.get("owner_organization")
    if org is not None and (
        org.kind == Organization.Kind.PLAN
        or not (actor.is_system or Organization.objects.visible_to(actor).filter(pk=org.pk).exists())
    ):
        errors["owner_organization"] = "must be a partner practice or a community organization"
    if errors:
        raise ValidationError(errors)


def _save_item(
    *, actor: Actor, care_plan: CarePlan, model: type[Model], item: Model | None, values: dict, allowed: tuple
) -> Model:
    _require_edit(actor)
    care_plan = _lock(care_plan)
    label = ITEM_LABELS[model]
    if item is None:
        instance = model(care_plan=care_plan, plan_id=care_plan.plan_id)
    else:
        instance = model.objects.select_for_update().get(pk=item.pk, care_plan=care_plan)
        if getattr(instance, "added_by_organization_id", None):
            raise ValidationError("The practice that added this intervention keeps it up to date.")
    _check_links(care_plan, actor, values)
    changed = _apply(instance, values, allowed)
    parent = getattr(instance, "problem", None) or getattr(instance, "goal", None)
    if parent is not None and parent.substance_use and not instance.substance_use:
        instance.substance_use = True  # under a 42 CFR Part 2 problem or goal: Part 2 as well
        changed.append("substance_use")
    if item is not None and not changed:
        return instance
    instance.save()
    if instance.substance_use:  # and everything under it
        if model is Problem:
            Goal.objects.filter(problem=instance).update(substance_use=True)
            Intervention.objects.filter(goal__problem=instance).update(substance_use=True)
        elif model is Goal:
            Intervention.objects.filter(goal=instance).update(substance_use=True)
    if item is None:
        summary = f"Added {label}: {_short(str(instance))}"
    else:
        summary = f"Changed {label} {_short(str(instance), 40)} ({', '.join(n.replace('_', ' ') for n in changed)})"
    _new_version(actor, care_plan, summary)
    return instance


@transaction.atomic
def problem_save(
    *, actor: Actor, care_plan: CarePlan, values: dict[str, Any], problem: Problem | None = None
) -> Problem:
    """Add a problem (domain, description, root causes) or change one."""
    return _save_item(
        actor=actor, care_plan=care_plan, model=Problem, item=problem, values=values, allowed=PROBLEM_FIELDS
    )


@transaction.atomic
def goal_save(*, actor: Actor, care_plan: CarePlan, values: dict[str, Any], goal: Goal | None = None) -> Goal:
    """Add a goal agreed with the member, in their own words, or change one (its progress too)."""
    return _save_item(actor=actor, care_plan=care_plan, model=Goal, item=goal, values=values, allowed=GOAL_FIELDS)


@transaction.atomic
def intervention_save(
    *, actor: Actor, care_plan: CarePlan, values: dict[str, Any], intervention: Intervention | None = None
) -> Intervention:
    return _save_item(
        actor=actor,
        care_plan=care_plan,
        model=Intervention,
        item=intervention,
        values=values,
        allowed=INTERVENTION_FIELDS,
    )


@transaction.atomic
def item_remove(*, actor: Actor, care_plan: CarePlan, item: Problem | Goal | Intervention) -> None:
    """Remove a problem, goal or intervention. Goals of a removed problem (and interventions of a
    removed goal) stay on the plan, unlinked; the earlier versions keep what was removed."""
    _require_edit(actor)
    care_plan = _lock(care_plan)
    model = type(item)
    item = model.objects.select_for_update().get(pk=item.pk, care_plan=care_plan)
    label = ITEM_LABELS[model]
    text = _short(str(item))
    item.delete()
    _new_version(actor, care_plan, f"Removed {label}: {text}")


@transaction.atomic
def careplan_notes_save(*, actor: Actor, care_plan: CarePlan, barriers: str, strengths: str) -> CarePlan:
    """Barriers and strengths (plan-internal)."""
    _require_edit(actor)
    care_plan = _lock(care_plan)
    changed = []
    for name, value in (("barriers", barriers.strip()), ("strengths", strengths.strip())):
        if getattr(care_plan, name) != value:
            setattr(care_plan, name, value)
            changed.append(name)
    if not changed:
        return care_plan
    care_plan.save(update_fields=changed)
    _new_version(actor, care_plan, f"Changed {' and '.join(changed)}")
    return care_plan


# The practice's part ---------------------------------------------------------------------------


def _require_practice_share(actor: Actor, care_plan: CarePlan) -> None:
    """A practice acts on a care plan only while it may see it: the patient is attributed to it
    and a release in force names it for care coordination."""
    actor.require("organizations.acknowledge_careplans")
    if not actor.is_practice_staff:
        raise PermissionDenied("Acknowledgement is the practice's.")
    member = care_plan.member
    if not Member.objects.visible_to(actor).filter(pk=member.pk).exists() or not consent_covers(
        member=member, organization=actor.organization, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION
    ):
        raise PermissionDenied("The care plan is not shared with your practice.")


@transaction.atomic
def careplan_acknowledge(*, actor: Actor, care_plan: CarePlan) -> Acknowledgement:
    """The practice read the shared plan at its current version. Tells the care manager."""
    _require_practice_share(actor, care_plan)
    care_plan = _lock(care_plan)
    ack, created = Acknowledgement.objects.get_or_create(
        care_plan=care_plan,
        practice=actor.organization,
        version=care_plan.shared_version,
        defaults={"plan_id": care_plan.plan_id, "acknowledged_by": actor.user},
    )
    if created:
        _audit(
            actor,
            care_plan,
            Action.UPDATE,
            f"Acknowledged by {actor.organization.name} at shared version {care_plan.shared_version}",
        )
        notifications.notify(
            recipients=[care_manager_of(care_plan)],
            kind="careplan.acknowledged",
            title=f"{actor.organization.name} acknowledged the care plan of {care_plan.member.full_name}",
            url=careplan_url(care_plan),
            plan_id=care_plan.plan_id,
        )
    return ack


@transaction.atomic
def practice_intervention_add(
    *,
    actor: Actor,
    care_plan: CarePlan,
    description: str,
    due_date: dt.date | None = None,
    goal: Goal | None = None,
) -> Intervention:
    """The practice adds what it will do: owned by the practice, always shared."""
    _require_practice_share(actor, care_plan)
    care_plan = _lock(care_plan)
    if goal is not None and (
        goal.care_plan_id != care_plan.pk or not Goal.objects.visible_to(actor).filter(pk=goal.pk).exists()
    ):
        raise ValidationError({"goal": "is not a shared goal of this care plan"})
    intervention = Intervention(
        care_plan=care_plan,
        plan_id=care_plan.plan_id,
        goal=goal,
        description=description.strip(),
        owner_kind=OwnerKind.PRACTICE,
        owner_organization=actor.organization,
        due_date=due_date,
        status=InterventionStatus.PLANNED,
        shareable=True,
        substance_use=goal.substance_use if goal is not None else False,
        added_by_organization=actor.organization,
    )
    intervention.full_clean(exclude=["care_plan", "plan"])
    intervention.save()
    _new_version(actor, care_plan, f"{actor.organization.name} added an intervention: {_short(description)}")
    notifications.notify(
        recipients=[care_manager_of(care_plan)],
        kind="careplan.practice_intervention",
        title=f"{actor.organization.name} added to the care plan of {care_plan.member.full_name}",
        url=careplan_url(care_plan),
        plan_id=care_plan.plan_id,
    )
    return intervention


# Monitoring: the review cycle ------------------------------------------------------------------


def _schedule_review(care_plan: CarePlan, on: dt.date, *, reason: str = "") -> None:
    """One open review deadline per plan: scheduling one cancels the others. Each scheduling is
    an event of its own (the time is in the key), so a date scheduled again after a prompt
    cancelled it gets a fresh row, never the cancelled one. A prompt is due at once."""
    prefix = f"careplan-review:{care_plan.pk}:"
    deadlines.cancel_prefix(prefix=prefix)
    due = dt.datetime.combine(on, dt.time(REVIEW_HOUR), tzinfo=care_plan.plan.tz)
    if reason:
        due = min(due, timezone.now())
    key = f"{prefix}{on.isoformat()}:{timezone.now():%Y%m%dT%H%M%S%f}"
    deadlines.schedule(
        kind="careplan.review_due",
        key=key,
        due_at=due,
        plan_id=care_plan.plan_id,
        payload={"care_plan_id": care_plan.pk, "review_on": on.isoformat(), "reason": reason},
    )
    care_plan.next_review_on = on
    care_plan.save(update_fields=["next_review_on"])


@transaction.atomic
def careplan_review_record(*, actor: Actor, care_plan: CarePlan, note: str) -> CarePlan:
    """The care manager reviewed the plan with the member (progress, barriers, services): a
    version of its own, and the next review after the program's interval (review_interval)."""
    _require_edit(actor)
    if not note.strip():
        raise ValidationError({"note": "Say what the review found."})
    care_plan = _lock(care_plan)
    care_plan.last_reviewed_at = timezone.now()
    care_plan.save(update_fields=["last_reviewed_at"])
    tasks_close_by_origin(actor=actor, origin_key=_review_task_key(care_plan))
    next_review = care_plan.plan.local_date() + dt.timedelta(days=review_interval(care_plan.member_id))
    _schedule_review(care_plan, next_review)
    _new_version(actor, care_plan, f"Reviewed: {_short(note, 200)}")
    return care_plan


@transaction.atomic(savepoint=False)  # part of the caller's change (a discharge): no SAVEPOINT round trips
def careplan_review_prompt(*, member: Member, reason: str) -> CarePlan | None:
    """Ask for a review of the member's care plan now (other apps call this: a hospital
    discharge, say). The review comes due at once and the care manager is told; recording the
    review puts the plan back on its usual cycle. None when the member has no care plan."""
    care_plan = CarePlan.objects.filter(member=member).first()
    if care_plan is None:
        return None
    care_plan = _lock(care_plan)
    _schedule_review(care_plan, care_plan.plan.local_date(), reason=reason.strip() or "Review requested")
    _audit(Actor.system(), care_plan, Action.UPDATE, f"Review requested: {_short(reason, 200)}")
    return care_plan


def _review_task_key(care_plan: CarePlan) -> str:
    return f"careplan:{care_plan.pk}:review"


def review_due_notify(*, care_plan_id: int, review_on: str, reason: str = "", dedupe_key: str) -> None:
    """Tell the care manager a review is due, unless the date moved since (a review recorded)."""
    care_plan = CarePlan.objects.select_related("member").filter(pk=care_plan_id).first()
    if care_plan is None or care_plan.next_review_on is None or care_plan.next_review_on.isoformat() != review_on:
        return
    title = f"Care plan review due: {care_plan.member.full_name}" + (f" ({reason})" if reason else "")
    manager = care_manager_of(care_plan)
    if manager is not None and manager.is_active:
        task_for_step(
            member=care_plan.member,
            owner=manager,
            title="Care plan review" + (f" ({_short(reason, 120)})" if reason else ""),
            due_date=care_plan.next_review_on,
            origin=Task.Origin.CARE_PLAN,
            origin_key=_review_task_key(care_plan),
        )
    notifications.notify(
        recipients=[manager],
        kind="careplan.review_due",
        title=title,
        url=careplan_url(care_plan),
        plan_id=care_plan.plan_id,
        email=True,
        dedupe_key=dedupe_key,
    )


# Assessments ------------------------------------------------------------------------------------

ASSESSMENT_FIELDS = (
    "assessed_on",
    "self_rated_health",
    "chronic_conditions",
    "ed_visits_12m",
    "admissions_12m",
    "physical_notes",
    "substance_use_concern",
    "behavioral_notes",
    "housing",
    "food_insecurity",
    "transportation_barrier",
    "social_isolation",
    "social_notes",
)


@transaction.atomic
def assessment_record(
    *, actor: Actor, member: Member, values: dict[str, Any], phq9_answers: list[object] | None = None
) -> Assessment:
    """Record a comprehensive assessment. The PHQ-9 is all nine answers or none; an answer above
    0 on item 9 flags the assessment for a safety follow-up and tells the plan's supervisors."""
    _require_edit(actor)
    assessment = Assessment(plan_id=member.plan_id, member=member, assessed_by=actor.user)
    _apply(assessment, {**{"assessed_on": member.plan.local_date()}, **values}, ASSESSMENT_FIELDS)
    if assessment.assessed_on > member.plan.local_date():
        raise ValidationError({"assessed_on": "cannot be in the future"})
    if phq9_answers is not None:
        result = phq9.score(phq9_answers)
        assessment.phq9_answers = result.answers
        assessment.phq9_total = result.total
        assessment.phq9_severity = result.severity
        assessment.safety_followup_needed = result.safety_flag
    assessment.save()
    summary = "Assessment recorded" + (
        f" (PHQ-9 {assessment.phq9_total}, {assessment.get_phq9_severity_display().lower()})"
        if assessment.phq9_total is not None
        else ""
    )
    audit.record(
        actor=actor,
        action=Action.CREATE,
        object_type="assessment",
        object_id=assessment.public_id,
        plan_id=member.plan_id,
        member_id=member.pk,
        summary=summary,
    )
    if assessment.safety_followup_needed:
        supervisors = User.objects.filter(organization_id=member.plan_id, role=Role.SUPERVISOR, is_active=True)
        notifications.notify(
            recipients=[*supervisors, actor.user],
            kind="assessment.safety",
            title=f"Safety follow-up needed: {member.full_name} (PHQ-9 item 9)",
            url=reverse("assessment-detail", args=[member.public_id, assessment.public_id]),
            plan_id=member.plan_id,
            email=True,
            dedupe_key=f"assessment-safety:{assessment.pk}",
        )
    return assessment


def _need_problem(assessment: Assessment, need: str) -> dict[str, Any]:
    """The problem an assessment answer points to, worded for the care plan."""
    on = f"assessment of {assessment.assessed_on}"
    if need == "depression":
        band = assessment.get_phq9_severity_display().lower()
        return {
            "domain": Domain.BEHAVIORAL,
            "description": f"Depressive symptoms: PHQ-9 {assessment.phq9_total} ({band}) on {assessment.assessed_on}",
            "root_causes": "Item 9 answered above 0: safety follow-up." if assessment.safety_followup_needed else "",
        }
    if need == "substance_use":
        return {
            "domain": Domain.BEHAVIORAL,
            "description": f"Substance use concern ({on})",
            "substance_use": True,
        }
    if need == "housing":
        return {"domain": Domain.SOCIAL, "description": f"Housing: {assessment.get_housing_display().lower()} ({on})"}
    return {
        "domain": Domain.SOCIAL,
        "description": {
            "food": "Not always enough food",
            "transportation": "No reliable transportation",
            "isolation": "Socially isolated",
        }[need]
        + f" ({on})",
    }


NEEDS = ("depression", "substance_use", "housing", "food", "transportation", "isolation")


@transaction.atomic
def assessment_add_problem(*, actor: Actor, assessment: Assessment, need: str = "depression") -> Problem:
    """Put the problem an assessment answer points to on the member's care plan (starting the
    plan if need be): a moderate-or-worse PHQ-9, a substance use concern (marked 42 CFR Part 2),
    housing at risk, food, transportation, isolation. Plan-internal until someone shares it. Once
    per assessment and need: a second click gives the same problem (a database rule)."""
    _require_edit(actor)
    assessment = Assessment.objects.select_for_update(of=("self",)).select_related("member__plan").get(pk=assessment.pk)
    if need not in NEEDS:
        raise ValidationError({"need": f"must be one of {', '.join(NEEDS)}"})
    if need not in assessment.needs():
        if need == "depression":
            raise ValidationError("The PHQ-9 of this assessment is below the moderate band.")
        raise ValidationError({"need": "This assessment's answers do not point to it."})
    existing = Problem.objects.filter(source_assessment=assessment, source_need=need).first()
    if existing is not None:
        return existing
    care_plan = careplan_start(actor=actor, member=assessment.member)
    problem = problem_save(
        actor=actor, care_plan=care_plan, values={**_need_problem(assessment, need), "shareable": False}
    )
    Problem.objects.filter(pk=problem.pk).update(source_assessment=assessment, source_need=need)
    return problem


# Requests for information -----------------------------------------------------------------------

ANSWER_MAX_FILES = 10


def _request_audit(actor: Actor, request: RecordRequest, action: str, summary: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="record_request",
        object_id=request.public_id,
        plan_id=request.plan_id,
        member_id=request.member_id,
        summary=summary,
    )


def record_request_url(request: RecordRequest) -> str:
    return reverse("record-request-detail", args=[request.public_id])


@transaction.atomic
def record_request_create(
    *, actor: Actor, member: Member, practice: Organization | None, what: str, why: str, due_on: dt.date | None
) -> RecordRequest:
    """Ask a partner practice for records. When the due day has passed unanswered, the request
    escalates (a deadline row at the start of the next day in the plan's time zone)."""
    actor.require("organizations.request_records")
    if not actor.is_plan_staff:
        raise PermissionDenied("Requests for records come from the plan.")
    errors = {}
    if practice is None or not Partnership.objects.active().filter(plan_id=member.plan_id, practice=practice).exists():
        errors["practice"] = "must be a partner practice of the member's plan"
    if not what.strip():
        errors["what"] = "Say which records are needed."
    if not why.strip():
        errors["why"] = "Say why they are needed."
    today = member.plan.local_date()
    if due_on is None:
        errors["due_on"] = "is required"
    elif due_on < today:
        errors["due_on"] = "cannot be in the past"
    if errors:
        raise ValidationError(errors)
    request = RecordRequest.objects.create(
        plan_id=member.plan_id,
        member=member,
        practice=practice,
        requested_by=actor.user,
        what=what.strip(),
        why=why.strip(),
        due_on=due_on,
    )
    overdue_at = dt.datetime.combine(due_on + dt.timedelta(days=1), dt.time.min, tzinfo=member.plan.tz)
    deadlines.schedule(
        kind="record_request.overdue",
        key=f"record-request-overdue:{request.pk}",
        due_at=overdue_at,
        plan_id=request.plan_id,
        payload={"request_id": request.pk},
    )
    _request_audit(actor, request, Action.CREATE, f"Requested records from {practice.name}")
    contacts = User.objects.filter(
        organization=practice, is_active=True, role__in=[Role.PRACTICE_CONTACT, Role.PRACTICE_ADMIN]
    )
    notifications.notify(
        recipients=contacts,
        kind="record_request.new",
        title=f"Records requested for {member.full_name}, needed by {due_on:%b %-d}",
        url=record_request_url(request),
        plan_id=request.plan_id,
        email=True,
    )
    return request


@transaction.atomic
def record_request_answer(
    *, actor: Actor, request: RecordRequest, notes: str, files: list[UploadedFile] = ()
) -> RecordRequest:
    """The practice answers with notes and files (PDF, PNG or JPEG, 10 MB each): all stored or
    none. The requester hears at once; the overdue escalation is called off."""
    actor.require("organizations.answer_record_requests")
    if not actor.is_practice_staff or request.practice_id != actor.organization.pk:
        raise PermissionDenied("The practice the request is addressed to answers it.")
    request = RecordRequest.objects.select_for_update(of=("self",)).select_related("member").get(pk=request.pk)
    if request.status != RecordRequest.Status.OPEN:
        raise ValidationError(f"This request is {request.get_status_display().lower()} already.")
    files = list(files)
    if not notes.strip() and not files:
        raise ValidationError({"notes": "Write a note or attach the records."})
    if len(files) > ANSWER_MAX_FILES:
        raise ValidationError({"files": f"at most {ANSWER_MAX_FILES} files"})
    types = [uploads.check(upload, field="files") for upload in files]  # every file checked before any is stored
    for upload, content_type in zip(files, types, strict=True):
        stored = RecordRequestFile(
            request=request,
            plan_id=request.plan_id,
            original_name=upload.name[:255],
            content_type=content_type,
            size_bytes=upload.size,
            sha256=uploads.sha256(upload),
            uploaded_by=actor.user,
        )
        stored.file.save(f"{stored.public_id}", upload, save=False)  # a name that says nothing
        stored.save()
    request.status = RecordRequest.Status.ANSWERED
    request.answered_by, request.answered_at, request.answer_notes = actor.user, timezone.now(), notes.strip()
    request.save(update_fields=["status", "answered_by", "answered_at", "answer_notes"])
    deadlines.cancel(key=f"record-request-overdue:{request.pk}")
    _request_audit(actor, request, Action.UPDATE, f"Answered with {len(files)} file(s)")
    notifications.notify(
        recipients=[request.requested_by],
        kind="record_request.answered",
        title=f"{actor.organization.name} answered your request for records of {request.member.full_name}",
        url=record_request_url(request),
        plan_id=request.plan_id,
    )
    return request


def record_request_escalate(*, request_id: int, dedupe_key: str) -> None:
    """Overdue and still open: tell the requester and the plan's supervisors (by email too)."""
    request = RecordRequest.objects.select_related("member", "practice", "requested_by").get(pk=request_id)
    if request.status != RecordRequest.Status.OPEN:
        return
    RecordRequest.objects.filter(pk=request.pk).update(escalated_at=timezone.now())
    supervisors = User.objects.filter(organization_id=request.plan_id, role=Role.SUPERVISOR, is_active=True)
    notifications.notify(
        recipients=[request.requested_by, *supervisors],
        kind="record_request.overdue",
        title=f"Overdue: records from {request.practice.name} for {request.member.full_name} (due {request.due_on})",
        url=record_request_url(request),
        plan_id=request.plan_id,
        email=True,
        dedupe_key=dedupe_key,
    )


# Coordination notice ----------------------------------------------------------------------------


@transaction.atomic
def coordination_notice_record(
    *, actor: Actor, member: Member, notified_on: dt.date | None, method: str, recipient: str, note: str = ""
) -> CoordinationNotice:
    """Record that the member or their guardian was told coordination is happening."""
    _require_edit(actor)
    notice = CoordinationNotice(
        plan_id=member.plan_id,
        member=member,
        notified_on=notified_on,
        method=method,
        recipient=recipient,
        note=note.strip(),
        recorded_by=actor.user,
    )
    notice.full_clean(exclude=["plan", "member", "recorded_by"])
    if notice.notified_on > member.plan.local_date():
        raise ValidationError({"notified_on": "cannot be in the future"})
    if recipient == CoordinationNotice.Recipient.GUARDIAN and not member.guardian_name:
        raise ValidationError({"recipient": "The member has no guardian on file; add one on the member's page."})
    notice.save()
    audit.record(
        actor=actor,
        action=Action.CREATE,
        object_type="coordination_notice",
        object_id=notice.public_id,
        plan_id=member.plan_id,
        member_id=member.pk,
        summary=f"Coordination notice: {notice}",
    )
    return notice


# Helpers ---------------------------------------------------------------------------------------


def careplan_url(care_plan: CarePlan) -> str:
    return reverse("careplan-detail", args=[care_plan.member.public_id])


def care_manager_of(care_plan: CarePlan) -> User | None:
    """Who runs the plan: the active enrollment's care manager, else the member's plan care
    manager on the care team, else whoever started the plan."""
    enrollment = Enrollment.objects.active().filter(member_id=care_plan.member_id).select_related("care_manager")
    if (found := enrollment.first()) is not None:
        return found.care_manager
    entry = (
        CareTeamMember.objects.filter(
            member_id=care_plan.member_id, role=CareTeamMember.Role.CARE_MANAGER, end_date__isnull=True
        )
        .exclude(user=None)
        .select_related("user")
        .first()
    )
    if entry is not None:
        return entry.user
    return care_plan.created_by
