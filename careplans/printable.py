"""The care plan in plain language, for the member: a print-styled page and a PDF for fax.

Both are built from one `careplans.selectors.CarePlanView`, which holds only what the viewer may
see (a practice: the shared items), so neither can show more than the care plan page does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from careplans.selectors import CarePlanView
from core.pdf import ConfidentialDocument

DOMAIN_HEADINGS = {
    "physical": "My physical health",
    "behavioral": "My feelings and emotional health",
    "social": "My daily life: home, food, money, getting around",
}
WHO = {
    "care_manager": "Your care manager",
    "practice": "Your doctor's office",
    "member": "You",
    "caregiver": "Your caregiver",
    "member_advocate": "Your community health worker",
    "community": "A community organization",
}
PROGRESS = {
    "not_started": "Not started yet",
    "in_progress": "Working on it",
    "met": "Done",
    "not_met": "Not reached yet",
}


@dataclass
class Step:
    what: str
    who: str
    when: str
    done: bool


@dataclass
class PlainGoal:
    words: str
    by: str
    progress: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class PlainSection:
    heading: str
    concerns: list[str]
    goals: list[PlainGoal]


@dataclass
class PlainPlan:
    member_name: str
    version: int
    updated: str
    care_manager: str
    sections: list[PlainSection]
    other_steps: list[Step]
    barriers: str
    strengths: str


def _day(value: dt.date | None) -> str:
    return value.strftime("%B %-d, %Y") if value else ""


def _step(i) -> Step:
    who = WHO.get(i.owner_kind, i.owner_kind)
    if i.owner_organization_id:
        who = f"{who} ({i.owner_organization.name})"
    return Step(what=i.description, who=who, when=_day(i.due_date), done=i.status == "done")


def _goal(node) -> PlainGoal:
    g = node.goal
    return PlainGoal(
        words=g.member_words,
        by=_day(g.target_date),
        progress=PROGRESS.get(g.progress, g.progress),
        steps=[_step(i) for i in node.interventions if i.status != "cancelled"],
    )


def plain_plan(view: CarePlanView, *, care_manager: str) -> PlainPlan:
    sections = []
    for domain, _label, nodes in view.domains:
        goals = [_goal(g) for node in nodes for g in node.goals]
        concerns = [node.problem.description for node in nodes]
        if concerns or goals:
            sections.append(PlainSection(DOMAIN_HEADINGS[domain], concerns, goals))
    if view.loose_goals:
        sections.append(PlainSection("Other goals", [], [_goal(g) for g in view.loose_goals]))
    care_plan = view.care_plan
    return PlainPlan(
        member_name=care_plan.member.full_name,
        version=view.version,
        updated=_day(timezone.localdate(view.updated_at, care_plan.plan.tz)) if view.updated_at else "",
        care_manager=care_manager,
        sections=sections,
        other_steps=[_step(i) for i in view.loose_interventions if i.status != "cancelled"],
        barriers=care_plan.barriers if view.is_plan else "",
        strengths=care_plan.strengths if view.is_plan else "",
    )


# PDF -------------------------------------------------------------------------------------------


class _Document(ConfidentialDocument):
    def __init__(self, plan: PlainPlan, sender: str):
        super().__init__(sender)
        self.plan = plan
        self.footer_text = f"{plan.member_name} - care plan version {plan.version}"


def render_pdf(plan: PlainPlan, *, sender: str) -> bytes:
    pdf = _Document(plan, sender)
    pdf.add_page()
    line = pdf.line

    line(f"My care plan: {plan.member_name}", 18, "B", 1)
    line(f"Updated {plan.updated} (version {plan.version})", 10)
    if plan.care_manager:
        line(f"My care manager: {plan.care_manager}", 10)
    pdf.ln(4)
    for section in plan.sections:
        line(section.heading, 14, "B", 1)
        for concern in section.concerns:
            line(f"What we are working on: {concern}", 11)
        for goal in section.goals:
            pdf.ln(1)
            line(f'My goal: "{goal.words}"', 12, "B")
            line(f"{goal.progress}" + (f" - by {goal.by}" if goal.by else ""), 10)
            for step in goal.steps:
                line(
                    f"  - {step.what} ({step.who}" + (f", by {step.when}" if step.when else "") + ")"
                    + (" - done" if step.done else ""),
                    10,
                )  # fmt: skip
        pdf.ln(3)
    if plan.other_steps:
        line("Other things we will do", 14, "B", 1)
        for step in plan.other_steps:
            line(f"  - {step.what} ({step.who}" + (f", by {step.when}" if step.when else "") + ")", 10)
        pdf.ln(3)
    if plan.strengths:
        line("What helps me (my strengths)", 14, "B", 1)
        line(plan.strengths, 11, gap=3)
    if plan.barriers:
        line("What makes it hard", 14, "B", 1)
        line(plan.barriers, 11, gap=3)
    return bytes(pdf.output())
