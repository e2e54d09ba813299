"""Reads of care plans, each starting from a `visible_to(actor)` scope; outsiders get 404.

The member comes through `members.selectors.access_member` (404 for outsiders, audited read);
the care plan and its items through their own scopes, which for a practice hold only what the
plan shares, and only under a release in force. The care plan page costs a fixed number of
queries whatever the number of items.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from careplans.documents import plan_document
from careplans.models import (
    Acknowledgement,
    Assessment,
    CarePlan,
    CarePlanVersion,
    CoordinationNotice,
    Domain,
    Goal,
    Intervention,
    Problem,
    RecordRequest,
    RecordRequestFile,
)
from members.models import Member
from members.selectors import access_member, audit_reads
from organizations.access import Actor


def access_member_care_plan(actor: Actor, member_id: uuid.UUID | str, *, via: str) -> tuple[Member, CarePlan | None]:
    """The member (404 for outsiders) and their care plan as this actor may see it: None when
    there is none yet, or when it is not shared with the actor's practice (the page then says it
    is not shared, without telling whether one exists)."""
    member = access_member(actor, member_id, via=via)
    actor.require("organizations.view_careplans")
    care_plan = CarePlan.objects.visible_to(actor).select_related("member", "plan").filter(member=member).first()
    return member, care_plan


def require_care_plan(care_plan: CarePlan | None) -> CarePlan:
    if care_plan is None:
        raise Http404("No care plan.")
    return care_plan


def access_item(actor: Actor, care_plan: CarePlan, model: type, item_id: uuid.UUID) -> Problem | Goal | Intervention:
    return get_object_or_404(model.objects.visible_to(actor).filter(care_plan=care_plan), public_id=item_id)


def careplans_for_api(actor: Actor) -> QuerySet[CarePlan]:
    """Care plans with the items this actor may see, prefetched through the items' own scopes
    (four queries a page, whatever its size). Insiders without the right get 403."""
    actor.require("organizations.view_careplans")
    return _with_items(actor)


def _with_items(actor: Actor) -> QuerySet[CarePlan]:
    return (
        CarePlan.objects.visible_to(actor)
        .select_related("member")
        .prefetch_related(
            Prefetch("problems", queryset=Problem.objects.visible_to(actor), to_attr="shown_problems"),
            Prefetch("goals", queryset=Goal.objects.visible_to(actor), to_attr="shown_goals"),
            Prefetch(
                "interventions",
                queryset=Intervention.objects.visible_to(actor).select_related("owner_organization"),
                to_attr="shown_interventions",
            ),
        )
    )


def careplan_for_api(actor: Actor, plan_or_member_id: uuid.UUID) -> CarePlan:
    """One care plan by its own id or its member's id; 404 for outsiders and for a plan not
    shared with the asking practice. The member read is audited."""
    care_plan = get_object_or_404(
        _with_items(actor).filter(Q(public_id=plan_or_member_id) | Q(member__public_id=plan_or_member_id))
    )
    actor.require("organizations.view_careplans")
    audit_reads(actor, [care_plan.member], via="api care plan")
    return care_plan


REVIEW_HORIZON_DAYS = 14


def reviews_due(actor: Actor, *, mine: bool = False) -> QuerySet[CarePlan]:
    """Care plans whose review is due within REVIEW_HORIZON_DAYS or overdue (the plan's own
    worklist; a practice gets 403), soonest first. `mine`: members enrolled with the actor."""
    import datetime as dt

    from django.core.exceptions import PermissionDenied

    actor.require("organizations.view_careplans")
    if not actor.is_plan_staff:
        raise PermissionDenied("Care plan reviews are the plan's worklist.")
    horizon = actor.organization.local_date() + dt.timedelta(days=REVIEW_HORIZON_DAYS)
    qs = CarePlan.objects.visible_to(actor).filter(next_review_on__lte=horizon).select_related("member")
    if mine:
        qs = qs.filter(member__enrollments__status="active", member__enrollments__care_manager=actor.user)
    return qs


@dataclass
class GoalNode:
    goal: Goal
    interventions: list[Intervention] = field(default_factory=list)


@dataclass
class ProblemNode:
    problem: Problem
    goals: list[GoalNode] = field(default_factory=list)


@dataclass
class CarePlanView:
    care_plan: CarePlan
    problems: list[Problem]
    goals: list[Goal]
    interventions: list[Intervention]
    acknowledgements: list[Acknowledgement]
    domains: list[tuple[str, str, list[ProblemNode]]]
    loose_goals: list[GoalNode]
    loose_interventions: list[Intervention]
    is_plan: bool

    @property
    def version(self) -> int:
        """The version this viewer reads: a practice, the shared part's (see CarePlan)."""
        return self.care_plan.version if self.is_plan else self.care_plan.shared_version

    @property
    def updated_at(self):
        return self.care_plan.updated_at if self.is_plan else self.care_plan.shared_updated_at

    @property
    def acknowledged_current(self) -> Acknowledgement | None:
        return next((a for a in self.acknowledgements if a.version == self.care_plan.shared_version), None)

    def document(self) -> dict:
        return plan_document(
            self.care_plan,
            problems=self.problems,
            goals=self.goals,
            interventions=self.interventions,
            internal=self.is_plan,
        )


def careplan_view(actor: Actor, care_plan: CarePlan) -> CarePlanView:
    """The plan as a tree (domain → problem → goal → intervention) of what this actor may see,
    in four queries. Links to items the actor may not see are dropped here, never followed: a
    template must not touch `goal.problem` or `intervention.goal` (that would load hidden rows)."""
    problems = list(Problem.objects.visible_to(actor).filter(care_plan=care_plan))
    goals = list(Goal.objects.visible_to(actor).filter(care_plan=care_plan))
    interventions = list(
        Intervention.objects.visible_to(actor).filter(care_plan=care_plan).select_related("owner_organization")
    )
    acknowledgements = list(
        Acknowledgement.objects.visible_to(actor)
        .filter(care_plan=care_plan)
        .select_related("acknowledged_by", "practice")
    )
    problem_nodes = {p.pk: ProblemNode(p) for p in problems}
    goal_nodes = {g.pk: GoalNode(g) for g in goals}
    loose_interventions = []
    for i in interventions:
        node = goal_nodes.get(i.goal_id)
        (node.interventions if node else loose_interventions).append(i)
    loose_goals = []
    for g in goals:
        node = problem_nodes.get(g.problem_id)
        (node.goals if node else loose_goals).append(goal_nodes[g.pk])
    domains = [
        (value, label, [problem_nodes[p.pk] for p in problems if p.domain == value]) for value, label in Domain.choices
    ]
    return CarePlanView(
        care_plan=care_plan,
        problems=problems,
        goals=goals,
        interventions=interventions,
        acknowledgements=acknowledgements,
        domains=domains,
        loose_goals=loose_goals,
        loose_interventions=loose_interventions,
        is_plan=actor.is_plan_staff,
    )


def versions(actor: Actor, care_plan: CarePlan) -> list[CarePlanVersion]:
    """The history (plan staff; a practice gets 403: snapshots hold plan-internal items)."""
    _require_history(actor)
    return list(
        CarePlanVersion.objects.visible_to(actor)
        .filter(care_plan=care_plan)
        .select_related("changed_by")
        .defer("snapshot")
    )


def access_version(actor: Actor, care_plan: CarePlan, number: int) -> CarePlanVersion:
    _require_history(actor)
    return get_object_or_404(
        CarePlanVersion.objects.visible_to(actor).filter(care_plan=care_plan).select_related("changed_by"),
        number=number,
    )


def _require_history(actor: Actor) -> None:
    from django.core.exceptions import PermissionDenied

    if not actor.is_plan_staff:
        raise PermissionDenied("The version history is the plan's own record.")


# Assessments ------------------------------------------------------------------------------------


def assessments(actor: Actor, member: Member) -> list[Assessment]:
    """The member's assessments, newest first (plan staff; a practice gets 403: they are the
    plan's working record, shared only through the care plan)."""
    _require_assessments(actor)
    return list(Assessment.objects.visible_to(actor).filter(member=member).select_related("assessed_by"))


def access_assessment(actor: Actor, member: Member, assessment_id: uuid.UUID) -> Assessment:
    assessment = get_object_or_404(
        Assessment.objects.visible_to(actor).filter(member=member).select_related("assessed_by", "member__plan"),
        public_id=assessment_id,
    )
    _require_assessments(actor)
    return assessment


NEED_LABELS = {
    "depression": "Depressive symptoms (PHQ-9)",
    "substance_use": "Substance use concern (42 CFR Part 2)",
    "housing": "Housing",
    "food": "Food",
    "transportation": "Transportation",
    "isolation": "Social isolation",
}


def assessment_offers(actor: Actor, assessment: Assessment) -> list[tuple[str, str, bool]]:
    """(need, label, already on the care plan) for each need the answers point to."""
    added = set(
        Problem.objects.visible_to(actor).filter(source_assessment=assessment).values_list("source_need", flat=True)
    )
    return [(need, NEED_LABELS[need], need in added) for need in assessment.needs()]


def _require_assessments(actor: Actor) -> None:
    from django.core.exceptions import PermissionDenied

    actor.require("organizations.view_careplans")
    if not actor.is_plan_staff:
        raise PermissionDenied("Assessments are the plan's own record.")


# Requests for information -----------------------------------------------------------------------


def _require_requests(actor: Actor) -> None:
    actor.require("organizations.answer_record_requests" if actor.is_practice_staff else "organizations.view_careplans")


def current_practice(actor: Actor, member: Member):
    """The practice the member is attributed to today, as the actor may see attributions."""
    from members.models import Attribution
    from members.querysets import current_on

    attribution = (
        Attribution.objects.visible_to(actor)
        .filter(current_on(member.plan.local_date()), member=member)
        .select_related("practice")
        .first()
    )
    return attribution.practice if attribution else None


def record_requests(actor: Actor) -> QuerySet[RecordRequest]:
    """Plan staff: the plan's requests. Practice staff: the requests addressed to the practice."""
    _require_requests(actor)
    return RecordRequest.objects.visible_to(actor).select_related("member", "practice", "plan", "requested_by")


def access_record_request(actor: Actor, request_id: uuid.UUID) -> RecordRequest:
    request = get_object_or_404(
        RecordRequest.objects.visible_to(actor).select_related(
            "member__plan", "practice", "plan", "requested_by", "answered_by"
        ),
        public_id=request_id,
    )
    _require_requests(actor)
    return request


def record_request_files(actor: Actor, request: RecordRequest) -> list[RecordRequestFile]:
    return list(RecordRequestFile.objects.visible_to(actor).filter(request=request).select_related("uploaded_by"))


def access_record_request_file(actor: Actor, request: RecordRequest, file_id: uuid.UUID) -> RecordRequestFile:
    return get_object_or_404(RecordRequestFile.objects.visible_to(actor).filter(request=request), public_id=file_id)


def coordination_notices(actor: Actor, member: Member) -> list[CoordinationNotice]:
    return list(CoordinationNotice.objects.visible_to(actor).filter(member=member).select_related("recorded_by"))
