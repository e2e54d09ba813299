import pytest

from careplans import services
from organizations.access import Actor


def build_plan(world, member=None):
    """A care plan with one shared and one plan-internal item of each kind."""
    member = member or world.m_a1
    cm = Actor.for_user(world.a_cm) if member.plan_id == world.plan_a.pk else Actor.for_user(world.b_cm)
    plan = services.careplan_start(actor=cm, member=member)
    shared_problem = services.problem_save(
        actor=cm,
        care_plan=plan,
        values={
            "domain": "physical",
            "description": "Uncontrolled diabetes",
            "root_causes": "Cost of insulin",
            "shareable": True,
        },
    )
    internal_problem = services.problem_save(
        actor=cm,
        care_plan=plan,
        values={"domain": "behavioral", "description": "Secret depression history", "shareable": False},
    )
    shared_goal = services.goal_save(
        actor=cm,
        care_plan=plan,
        values={
            "problem": shared_problem,
            "member_words": "I want to walk my granddaughter to school",
            "shareable": True,
        },
    )
    internal_goal = services.goal_save(
        actor=cm,
        care_plan=plan,
        values={"problem": internal_problem, "member_words": "Hidden goal about mood", "shareable": False},
    )
    services.intervention_save(
        actor=cm,
        care_plan=plan,
        values={
            "goal": shared_goal,
            "description": "Check A1c every three months",
            "owner_kind": "practice",
            "shareable": True,
        },
    )
    services.intervention_save(
        actor=cm,
        care_plan=plan,
        values={"goal": internal_goal, "description": "Internal note: weekly call", "owner_kind": "care_manager"},
    )
    plan.refresh_from_db()
    return plan


INTERNAL_TEXTS = ("Secret depression history", "Hidden goal about mood", "Internal note: weekly call")
SHARED_TEXTS = ("Uncontrolled diabetes", "I want to walk my granddaughter to school", "Check A1c every three months")


@pytest.fixture
def care_plan(world):
    return build_plan(world)
