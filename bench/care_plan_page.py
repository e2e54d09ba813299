"""The care-plan page at 200 items (issue 4): one Prairie member's care plan with 200 problems,
goals and interventions, and a second member's with 10, each shared in part with the member's
practice under a release of information; the page, the API detail, the printable page and the
PDF, as the plan care manager and as the practice contact.

Unlike the generated tables of the other steps, the care plans are made through
careplans.services (one call per item, 210 calls in all): every item bumps the plan's version,
stores a snapshot and writes an audit row, exactly as the page's own forms would. The items:

* a block of seven per problem: the problem (domains physical, behavioral, social in turn), two
  goals, two interventions under each goal; every fifth block's second goal is not linked to its
  problem and every fourth block's last intervention to a goal ("Other goals and interventions");
* shareable about two in three (a plan-internal problem every third block, its goals and
  interventions partly shared, so a practice sees shared goals under hidden problems); one
  behavioral problem is 42 CFR Part 2 (shared, but the release does not cover substance-use
  records, so the practice does not see it or anything under it);
* intervention owners in turn: care manager, the practice (owner organization: the member's
  practice, always shared), member, caregiver, community health worker, a community organization;
* the last two items are added by the practice contact itself (practice_intervention_add): one
  under the first shared goal, one on its own.

The members: adults of the plan attributed today to the practice contact's practice, with no
care plan, care team, referral or enrollment, the first two by member number; each plan's
barriers start with a marker (set right after the plan is started), so a later run finds the same
plans and only tops up missing items. When no release in force names the practice for care
coordination, one is recorded (members.services.release_record, signed by the member 3 days ago).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.environment import PLAN_NAME, BenchError
from bench.web import PLAN_USER, PRACTICE_USER, Measurement, Scenario, _client, _get, measure

SIZES = (10, 200)  # items on the two care plans, small first
MARKER = "Benchmark care plan"  # the start of the barriers of a bench care plan: f"{MARKER}, N items."
BLOCK = ("problem", "goal", "intervention", "intervention", "goal", "intervention", "intervention")
PRACTICE_ADDED = 2  # the last items of each plan, added by the practice contact
OWNERS = ("care_manager", "practice", "member", "caregiver", "member_advocate", "community")
DOMAINS = ("physical", "behavioral", "social")
PROBLEMS = {
    "physical": (
        "Blood sugar often above target",
        "Blood pressure not controlled on current medicines",
        "Shortness of breath climbing stairs",
        "Chronic knee pain limits walking",
        "Missed follow-up after the last hospital stay",
    ),
    "behavioral": (
        "Low mood most days since retiring",
        "Anxiety before medical appointments",
        "Poor sleep, up most nights",
        "Grief after a partner's death",
        "Alcohol use above safe limits",
    ),
    "social": (
        "No reliable transportation to appointments",
        "Rent behind two months",
        "Not always enough food at the end of the month",
        "Lives alone, few visitors",
        "Cannot afford all prescriptions",
    ),
}
GOALS = (
    "I want to keep my feet healthy so I can keep gardening",
    "I want to walk to the mailbox and back without stopping",
    "I want to sleep through the night most nights",
    "I want to get to my appointments on time",
    "I want to feel like seeing my friends again",
    "I want to stay in my apartment",
)
INTERVENTIONS = (
    "Teach insulin adjustment with the member's meal plan",
    "A1c and foot exam at the next visit",
    "Check blood sugar before supper and write it down",
    "Remind about the evening medicines",
    "Connect with the senior center's walking group",
    "Apply for the food pantry delivery program",
    "Book rides through the plan's transportation benefit",
    "Review the medication list for side effects",
)
PRIORITIES = ("high", "medium", "low")
PROGRESS = ("not_started", "in_progress", "met", "not_met")
STATUSES = ("planned", "in_progress", "done", "planned", "cancelled")
_PROBLEM = re.compile(r"\bdata-problem\b")
_GOAL = re.compile(r"\bdata-goal\b")
_INTERVENTION = re.compile(r"\bdata-intervention\b")


# Set-up -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    kind: str  # "problem", "goal", "intervention", or "practice" (added by the practice contact)
    values: dict
    parent: int | None = None  # index among the problems (a goal) or the goals (an intervention)


def layout(size: int) -> list[Item]:
    """The items of a `size`-item plan in the order they are made. Deterministic, so a top-up
    makes the same plan as one run would."""
    items: list[Item] = []
    problems = goals = interventions = 0
    block = 0
    while len(items) < size - PRACTICE_ADDED:
        domain = DOMAINS[block % len(DOMAINS)]
        shared_problem = block % 3 != 2
        part2 = block == 4  # behavioral: 42 CFR Part 2, shared, but not covered by the release
        first_goal = goals
        for step, kind in enumerate(BLOCK):
            if len(items) >= size - PRACTICE_ADDED:
                break
            if kind == "problem":
                items.append(
                    Item(
                        "problem",
                        {
                            "domain": domain,
                            "description": f"{PROBLEMS[domain][block // 3 % 5]} ({block + 1})",
                            "root_causes": "Lives alone; unsure how to manage the plan" if block % 2 else "",
                            "shareable": shared_problem or part2,
                            "substance_use": part2,
                        },
                    )
                )
                problems += 1
            elif kind == "goal":
                second = goals > first_goal
                items.append(
                    Item(
                        "goal",
                        {
                            "member_words": GOALS[goals % len(GOALS)],
                            "priority": PRIORITIES[goals % len(PRIORITIES)],
                            "progress": PROGRESS[goals % len(PROGRESS)],
                            "progress_note": "Talked it through on the phone" if goals % 3 == 0 else "",
                            "shareable": (block % 2 == 0) if second else (shared_problem or part2),
                            "target_offset": 30 + 7 * (goals % 12),
                        },
                        None if second and block % 5 == 4 else problems - 1,
                    )
                )
                goals += 1
            else:
                owner = OWNERS[interventions % len(OWNERS)]
                loose = step == len(BLOCK) - 1 and block % 4 == 3
                items.append(
                    Item(
                        "intervention",
                        {
                            "description": INTERVENTIONS[interventions % len(INTERVENTIONS)],
                            "owner_kind": owner,
                            "status": STATUSES[interventions % len(STATUSES)],
                            "shareable": owner == "practice" or interventions % 2 == 0,
                            "due_offset": 7 * (1 + interventions % 10),
                        },
                        None if loose else goals - 1,
                    )
                )
                interventions += 1
        block += 1
    first_shared_goal = next(
        (n for n, item in enumerate(i for i in items if i.kind == "goal") if item.values["shareable"]), None
    )
    for n in range(PRACTICE_ADDED):
        items.append(
            Item(
                "practice",
                {"description": ("Recheck blood pressure at the next visit", "Call the member after the visit")[n % 2]},
                first_shared_goal if n == 0 else None,
            )
        )
    return items


@dataclass(frozen=True)
class BenchPlan:
    size: int
    member_id: int
    member_number: str
    member_public_id: object
    care_plan_public_id: object
    created: int  # items made this run
    release_recorded: bool
    items: dict[str, int]  # problems / goals / interventions on the plan
    shared: dict[str, int]  # of which the practice contact sees


def _marker(size: int) -> str:
    return f"{MARKER}, {size} items."


def _pick_member(plan, practice, taken: list[int]):
    from django.db.models import Exists, OuterRef

    from careplans.models import CarePlan
    from caseloads.models import Enrollment
    from members.models import CareTeamMember, Member
    from referrals.models import Referral

    today = plan.local_date()
    adult = today - dt.timedelta(days=19 * 366)  # 19 or older: the member signs the release
    member = (
        Member.objects.for_plan(plan.pk)
        .attributed_to(practice.pk, on=today)
        .filter(date_of_birth__lte=adult)
        .exclude(pk__in=taken)
        .filter(
            ~Exists(CarePlan.objects.filter(member_id=OuterRef("pk"))),
            ~Exists(CareTeamMember.objects.filter(member_id=OuterRef("pk"))),
            ~Exists(Referral.objects.filter(member_id=OuterRef("pk"))),
            ~Exists(Enrollment.objects.filter(member_id=OuterRef("pk"))),
        )
        .order_by("member_number")
        .first()
    )
    if member is None:
        raise BenchError(f"No member of {PLAN_NAME} attributed to {practice.name} is free for a bench care plan.")
    return member


def _ensure_plan(size: int, *, plan, practice, manager, contact, taken: list[int]) -> BenchPlan:
    from django.db import transaction

    from careplans import services
    from careplans.models import CarePlan, Goal, Intervention, Problem
    from members import services as member_services
    from members.models import ReleaseOfInformation
    from organizations.access import Actor
    from organizations.models import Organization

    care_plan = (
        CarePlan.objects.filter(plan=plan, barriers__startswith=_marker(size)).select_related("member__plan").first()
    )
    if care_plan is None:
        member = _pick_member(plan, practice, taken)
        care_plan = services.careplan_start(actor=manager, member=member)
        services.careplan_notes_save(
            actor=manager,
            care_plan=care_plan,
            barriers=f"{_marker(size)} No car since March; the bus to the clinic takes an hour.",
            strengths="Daughter nearby helps with shopping; keen gardener.",
        )
    member = care_plan.member
    release_recorded = False
    if not member_services.consent_covers(
        member=member, organization=practice, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION
    ):
        member_services.release_record(
            actor=Actor.system(),
            member=member,
            recipient_kind=ReleaseOfInformation.RecipientKind.PRACTICE,
            recipient_organization=practice,
            recipient_name=practice.name,
            purposes=[ReleaseOfInformation.Purpose.CARE_COORDINATION],
            signed_by=ReleaseOfInformation.Signer.MEMBER,
            signer_name=member.full_name,
            signed_on=plan.local_date() - dt.timedelta(days=3),
        )
        release_recorded = True

    community = Organization.objects.visible_to(manager).filter(kind=Organization.Kind.COMMUNITY).order_by("pk").first()
    today = plan.local_date()
    existing = {
        "problem": list(Problem.objects.filter(care_plan=care_plan).order_by("id")),
        "goal": list(Goal.objects.filter(care_plan=care_plan).order_by("id")),
        "intervention": list(
            Intervention.objects.filter(care_plan=care_plan, added_by_organization__isnull=True).order_by("id")
        ),
        "practice": list(
            Intervention.objects.filter(care_plan=care_plan, added_by_organization__isnull=False).order_by("id")
        ),
    }
    seen = dict.fromkeys(existing, 0)
    created = 0
    for item in layout(size):
        n = seen[item.kind]
        seen[item.kind] += 1
        if n < len(existing[item.kind]):
            continue
        with transaction.atomic():
            if item.kind == "problem":
                made = services.problem_save(actor=manager, care_plan=care_plan, values=item.values)
            elif item.kind == "goal":
                values = {k: v for k, v in item.values.items() if k != "target_offset"}
                values |= {
                    "problem": existing["problem"][item.parent] if item.parent is not None else None,
                    "agreed_on": today - dt.timedelta(days=14),
                    "target_date": today + dt.timedelta(days=item.values["target_offset"]),
                }
                made = services.goal_save(actor=manager, care_plan=care_plan, values=values)
            elif item.kind == "intervention":
                values = {k: v for k, v in item.values.items() if k != "due_offset"}
                owner = values["owner_kind"]
                values |= {
                    "goal": existing["goal"][item.parent] if item.parent is not None else None,
                    "owner_organization": practice
                    if owner == "practice"
                    else community
                    if owner == "community"
                    else None,
                    "due_date": today + dt.timedelta(days=item.values["due_offset"]),
                }
                made = services.intervention_save(actor=manager, care_plan=care_plan, values=values)
            else:
                goal = existing["goal"][item.parent] if item.parent is not None else None
                made = services.practice_intervention_add(
                    actor=contact,
                    care_plan=care_plan,
                    description=item.values["description"],
                    due_date=today + dt.timedelta(days=21),
                    goal=goal,
                )
        existing[item.kind].append(made)
        created += 1
    items = {
        "problems": Problem.objects.filter(care_plan=care_plan).count(),
        "goals": Goal.objects.filter(care_plan=care_plan).count(),
        "interventions": Intervention.objects.filter(care_plan=care_plan).count(),
    }
    if sum(items.values()) != size:
        raise BenchError(f"The {size}-item bench care plan of {member.member_number} has {sum(items.values())} items.")
    shared = {
        "problems": Problem.objects.visible_to(contact).filter(care_plan=care_plan).count(),
        "goals": Goal.objects.visible_to(contact).filter(care_plan=care_plan).count(),
        "interventions": Intervention.objects.visible_to(contact).filter(care_plan=care_plan).count(),
    }
    return BenchPlan(
        size=size,
        member_id=member.pk,
        member_number=member.member_number,
        member_public_id=member.public_id,
        care_plan_public_id=care_plan.public_id,
        created=created,
        release_recorded=release_recorded,
        items=items,
        shared=shared,
    )


@dataclass(frozen=True)
class Generation:
    plans: list[BenchPlan]
    practice: str
    seconds: float

    @property
    def created(self) -> int:
        return sum(p.created for p in self.plans)


def ensure_care_plans(*, say: Callable[[str], None]) -> Generation:
    """The two bench care plans (SIZES items), made or topped up through careplans.services."""
    from organizations.access import Actor
    from organizations.models import Organization, User

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    manager = Actor.for_user(User.objects.get(username=PLAN_USER))
    contact_user = User.objects.select_related("organization").get(username=PRACTICE_USER)
    contact = Actor.for_user(contact_user)
    practice = contact_user.organization
    started = time.perf_counter()
    plans: list[BenchPlan] = []
    taken: list[int] = []
    for size in SIZES:
        say(f"Care plan with {size} items (made or topped up through careplans.services) ...")
        made = _ensure_plan(size, plan=plan, practice=practice, manager=manager, contact=contact, taken=taken)
        taken.append(made.member_id)
        plans.append(made)
    return Generation(plans=plans, practice=practice.name, seconds=time.perf_counter() - started)


# Scenarios ---------------------------------------------------------------------------------------

VIEWS = ("page", "api", "print", "pdf")
TIMED_VIEWS = ("page", "api")  # judged against the median target; print and PDF are reported


@dataclass
class Case:
    scenario: Scenario
    group: str  # view and user: within a group the query count must not change with the item count
    size: int  # items on the plan
    expected: int  # items the viewer sees
    view: str
    timed: bool


@dataclass
class Result:
    case: Case
    measurement: Measurement
    items_seen: int = 0

    @property
    def scenario(self) -> Scenario:
        return self.case.scenario


def cases(generation: Generation) -> list[Case]:
    from django.urls import reverse

    result = []
    for view in VIEWS:
        for user, who in ((PLAN_USER, "plan cm"), (PRACTICE_USER, "practice")):
            for bench_plan in generation.plans:
                member = bench_plan.member_public_id
                url = {
                    "page": lambda m=member: reverse("careplan-detail", args=[m]),
                    "api": lambda p=bench_plan: reverse("api-careplan-detail", args=[p.care_plan_public_id]),
                    "print": lambda m=member: reverse("careplan-print", args=[m]),
                    "pdf": lambda m=member: reverse("careplan-pdf", args=[m]),
                }[view]()
                expected = sum((bench_plan.items if user == PLAN_USER else bench_plan.shared).values())
                name = f"{view}, {bench_plan.size} items ({who})"
                result.append(
                    Case(
                        Scenario(name, "careplan", user, [url]),
                        f"{view} ({who})",
                        bench_plan.size,
                        expected,
                        view,
                        view in TIMED_VIEWS,
                    )
                )
    return result


def _items_on(response, view: str) -> int | None:
    """Items the response shows, to check against what the viewer may see (None: not counted)."""
    if view == "page":
        text = response.content.decode()
        return len(_PROBLEM.findall(text)) + len(_GOAL.findall(text)) + len(_INTERVENTION.findall(text))
    if view == "api":
        data = json.loads(response.content)
        return len(data["problems"]) + len(data["goals"]) + len(data["interventions"])
    if view == "pdf" and not response.content.startswith(b"%PDF"):
        raise BenchError("The care plan PDF is not a PDF.")
    return None


def run(generation: Generation, *, requests: int, warmup: int, say: Callable[[str], None]) -> list[Result]:
    clients = {username: _client(username) for username in (PLAN_USER, PRACTICE_USER)}
    results = []
    for case in cases(generation):
        client = clients[case.scenario.user]
        seen = _items_on(_get(client, case.scenario.urls[0]), case.view)
        if seen is not None and seen != case.expected:
            raise BenchError(f"{case.scenario.name}: {seen} items in the response, expected {case.expected}.")
        measurement = measure(client, case.scenario, requests=requests, warmup=warmup)
        ms = sorted(measurement.timings_ms)
        say(f"  {case.scenario.name:<40} median {ms[len(ms) // 2]:8.1f} ms")
        results.append(Result(case, measurement, case.expected if seen is None else seen))
    return results
