"""The care plan as a plain document: what a version snapshot stores and what the API returns.

One shape for both, built from rows the caller already scoped. A link to a problem or goal the
reader cannot see (a shared goal under a plan-internal problem) comes out as null, so neither the
link nor anything of the hidden item reaches them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from careplans.models import CarePlan, Goal, Intervention, Problem


def _date(value) -> str | None:
    return value.isoformat() if value else None


def problem_doc(p: Problem) -> dict[str, Any]:
    return {
        "id": str(p.public_id),
        "domain": p.domain,
        "description": p.description,
        "root_causes": p.root_causes,
        "shareable": p.shareable,
        "substance_use": p.substance_use,
    }


def goal_doc(g: Goal, problem_ids: dict[int, str]) -> dict[str, Any]:
    return {
        "id": str(g.public_id),
        "problem": problem_ids.get(g.problem_id),
        "member_words": g.member_words,
        "agreed_on": _date(g.agreed_on),
        "priority": g.priority,
        "target_date": _date(g.target_date),
        "progress": g.progress,
        "progress_note": g.progress_note,
        "shareable": g.shareable,
        "substance_use": g.substance_use,
    }


def intervention_doc(i: Intervention, goal_ids: dict[int, str], org_names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": str(i.public_id),
        "goal": goal_ids.get(i.goal_id),
        "description": i.description,
        "owner_kind": i.owner_kind,
        "owner_organization": org_names.get(i.owner_organization_id),
        "due_date": _date(i.due_date),
        "status": i.status,
        "shareable": i.shareable,
        "substance_use": i.substance_use,
        "added_by_practice": i.added_by_organization_id is not None,
    }


def plan_document(
    care_plan: CarePlan,
    *,
    problems: Iterable[Problem],
    goals: Iterable[Goal],
    interventions: Iterable[Intervention],
    internal: bool,
) -> dict[str, Any]:
    """Interventions must come with `owner_organization` loaded (select_related)."""
    problems, goals, interventions = list(problems), list(goals), list(interventions)
    problem_ids = {p.pk: str(p.public_id) for p in problems}
    goal_ids = {g.pk: str(g.public_id) for g in goals}
    org_names = {i.owner_organization_id: i.owner_organization.name for i in interventions if i.owner_organization_id}
    updated_at = care_plan.updated_at if internal else care_plan.shared_updated_at
    doc: dict[str, Any] = {
        "id": str(care_plan.public_id),
        "member": str(care_plan.member.public_id),
        # A practice reads the shared part's version and time (see CarePlan).
        "version": care_plan.version if internal else care_plan.shared_version,
        "updated_at": updated_at.isoformat() if updated_at else None,
        "problems": [problem_doc(p) for p in problems],
        "goals": [goal_doc(g, problem_ids) for g in goals],
        "interventions": [intervention_doc(i, goal_ids, org_names) for i in interventions],
    }
    if internal:
        doc["shared_version"] = care_plan.shared_version
        doc["barriers"] = care_plan.barriers
        doc["strengths"] = care_plan.strengths
        doc["next_review_on"] = _date(care_plan.next_review_on)
    return doc


def shared_part(doc: dict[str, Any]) -> dict[str, Any]:
    """What a practice may see of a full document: the shared items, links to hidden items
    nulled (as `plan_document` gives a practice). Its digest tells whether the shared part moved."""
    problems = [p for p in doc["problems"] if p["shareable"]]
    problem_ids = {p["id"] for p in problems}
    goals = [
        {**g, "problem": g["problem"] if g["problem"] in problem_ids else None} for g in doc["goals"] if g["shareable"]
    ]
    goal_ids = {g["id"] for g in goals}
    interventions = [
        {**i, "goal": i["goal"] if i["goal"] in goal_ids else None} for i in doc["interventions"] if i["shareable"]
    ]
    return {"problems": problems, "goals": goals, "interventions": interventions}
