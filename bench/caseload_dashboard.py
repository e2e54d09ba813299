"""The supervisor's caseload dashboard at scale: 500 care managers of the million-member plan
carrying 100,000 active enrollments and 150,000 open worklist tasks, the dashboard unfiltered and
filtered by team, program and credential, and one care manager's caseload (the reassignment page).

Everything is generated set-based in SQL (INSERT ... SELECT), not through accounts and caseloads
services: starting 100,000 enrollments through caseloads.services (an event, an audit row and a
notification each) would take hours. The rows keep every database rule of the tables they go
into (one active enrollment per member, an active enrollment has no end date, not co-managed
means no partner, an open task has no closed_at, NOT NULL columns), with a realistic mix:

* care managers: users of the plan named bench-cm-0001 ..., mostly role care_manager with a few
  care coordinators and member advocates, credentials RN / LCSW / CHW, teams North, South, East
  and West plus a ten-person "Float" pool (a small team, to show the dashboard's query count does
  not depend on how many people it lists), an acuity-weighted capacity of 40-80. They have an
  unusable password and no role group: nobody signs in as them.
* enrollments: on members of the plan with no active enrollment and no open referral (the queue
  generator skips enrolled members the same way), never on the roster-import members (they are
  deleted again). Spread unevenly over the care managers (a weight per person derived from the
  username, so a top-up keeps the same spread: from about 50 to about 500 members each); the
  program follows the credential (LCSW mostly behavioral health, CHW mostly social needs, RN
  complex care and transitions); the acuity mix leans moderate; start dates over the past two
  years, more of them recent; perinatal ones have an expected, and once past it a recorded,
  delivery date.
* open tasks: owned by the enrollment's care manager, about one and a half per enrolled member,
  due from 30 days ago to 30 days ahead, a mix of origins with a title each.

What the services would also have written is not generated: EnrollmentEvent history, audit rows,
notifications, role groups, referrals for the enrolled members (the dashboard reads none of
them). The step is idempotent: it counts the bench care managers, their active enrollments and
their open tasks and only tops each up to its target. Then VACUUM (ANALYZE) of the three tables.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.environment import PLAN_NAME, BenchError
from bench.roster_import import PREFIX as IMPORT_PREFIX
from bench.web import Measurement, Scenario, _client, _get, measure

SUPERVISOR = "prairie-supervisor"
USER_PREFIX = "bench-cm-"
CARE_MANAGERS = 500
ENROLLMENTS = 100_000
TASKS = 150_000
SEED = 0.2525  # setseed(): the same data on every fresh build
TEAMS = ("North", "South", "East", "West")
SMALL_TEAM = "Float"  # the first SMALL_TEAM_SIZE care managers
SMALL_TEAM_SIZE = 10
BIG_CASELOAD = 400  # the reassignment page is measured for the care manager nearest this size
OPEN_REFERRAL_STATUSES = ("submitted", "acknowledged", "triaged", "assigned", "outreach")
TABLES = ("organizations_user", "caseloads_enrollment", "caseloads_task")
_DASHBOARD_ROW = re.compile(r'<tr data-user="[0-9a-f-]{36}">')
_CASELOAD_ROW = re.compile(r'name="enrollments" value="[0-9a-f-]{36}"')


# Generation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generation:
    before: dict[str, int]  # care_managers / enrollments / tasks before this run
    created: dict[str, int]
    total: dict[str, int]
    by_role: dict[str, int]
    by_team: dict[str, int]
    by_program: dict[str, int]
    by_acuity: dict[str, int]
    overdue: int
    seconds: float
    vacuum_seconds: float

    @property
    def added(self) -> int:
        return sum(self.created.values())


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pick(values: list[str] | tuple[str, ...], r: str) -> str:
    """SQL: one of `values`, chosen by the uniform random column `r` (in [0, 1))."""
    return f"(ARRAY[{', '.join(_quote(v) for v in values)}])[1 + floor({r} * {len(values)})::int]"


def _weighted(choices: tuple[tuple[str, float], ...], r: str) -> str:
    """SQL: one of the values, with the given weights (summing to 1), by the random column `r`."""
    whens, total = [], 0.0
    for value, weight in choices[:-1]:
        total += weight
        whens.append(f"WHEN {r} < {total:.4f} THEN {_quote(value)}")
    return f"CASE {' '.join(whens)} ELSE {_quote(choices[-1][0])} END"


FIRST_NAMES = (
    "Aaliyah", "Adrian", "Aisha", "Alejandro", "Amara", "Andrea", "Ben", "Bianca", "Carlos", "Chen",
    "Claire", "Daniel", "Deja", "Elena", "Emeka", "Fatima", "Grace", "Hannah", "Hiro", "Imani",
    "Isaac", "Jasmine", "Jorge", "Julia", "Kai", "Keisha", "Laura", "Leon", "Lucia", "Malik",
    "Maya", "Mei", "Nadia", "Noah", "Olivia", "Omar", "Paul", "Rosa", "Samuel", "Sofia",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Adeyemi", "Alvarez", "Anderson", "Baker", "Banerjee", "Bennett", "Brooks", "Carter",
    "Castillo", "Chavez", "Clark", "Diaz", "Dubois", "Edwards", "Evans", "Fischer", "Flores",
    "Garcia", "Gomez", "Gupta", "Harris", "Hernandez", "Hoang", "Jackson", "Jensen", "Johnson",
    "Kaur", "Kim", "Kowalski", "Lee", "Lopez", "Martin", "Mendoza", "Miller", "Moreno", "Murphy",
    "Nguyen", "Novak", "Okafor", "Olsen", "Ortiz", "Patel", "Perez", "Petrov", "Ramirez", "Reyes",
    "Robinson", "Rossi", "Sanchez", "Schmidt", "Singh", "Sullivan", "Taylor", "Thompson", "Torres",
    "Walker", "Washington", "Williams", "Young",
)  # fmt: skip
ROLES = (("care_manager", 0.84), ("care_coordinator", 0.10), ("member_advocate", 0.06))
TITLES = {
    ("care_manager", "RN"): "RN care manager",
    ("care_manager", "LCSW"): "LCSW care manager",
    ("care_coordinator", "RN"): "RN care coordinator",
    ("care_coordinator", "CHW"): "Care coordinator",
    ("member_advocate", "CHW"): "Community health worker",
}

_INSERT_CARE_MANAGERS = f"""
WITH numbered AS MATERIALIZED (
    SELECT n, %(prefix)s || lpad(n::text, 4, '0') AS username,
           random() AS r_role, random() AS r_cred, random() AS r_team, random() AS r_cap,
           random() AS r_first, random() AS r_last, random() AS r_lang, random() AS r_joined
    FROM generate_series(1, %(n)s) AS n
),
s1 AS MATERIALIZED (
    SELECT numbered.*, {_weighted(ROLES, "r_role")} AS role FROM numbered
),
s2 AS MATERIALIZED (
    SELECT s1.*,
        CASE role WHEN 'care_manager' THEN CASE WHEN r_cred < 0.6 THEN 'RN' ELSE 'LCSW' END
                  WHEN 'care_coordinator' THEN CASE WHEN r_cred < 0.4 THEN 'RN' ELSE 'CHW' END
                  ELSE 'CHW' END AS credential
    FROM s1
)
INSERT INTO organizations_user (
    password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active,
    date_joined, public_id, role, credential, title, phone, languages, caseload_capacity,
    organization_id, team
)
SELECT
    '!', NULL, false, username, {_pick(FIRST_NAMES, "r_first")}, {_pick(LAST_NAMES, "r_last")},
    username || '@bench.carecoord.invalid', false, true,
    now() - make_interval(days => floor(r_joined * 1800)::int), gen_random_uuid(), role, credential,
    CASE {" ".join(f"WHEN role = {_quote(r)} AND credential = {_quote(c)} THEN {_quote(t)}" for (r, c), t in TITLES.items())}
         END,
    '', CASE WHEN r_lang < 0.2 THEN ARRAY['English', 'Spanish'] ELSE ARRAY['English'] END::varchar(32)[],
    40 + 5 * floor(r_cap * 9)::int, %(plan)s,
    CASE WHEN n <= {SMALL_TEAM_SIZE} THEN {_quote(SMALL_TEAM)}
         ELSE {_weighted(tuple(zip(TEAMS, (0.30, 0.25, 0.25, 0.20), strict=True)), "r_team")} END
FROM s2
WHERE NOT EXISTS (SELECT 1 FROM organizations_user u WHERE u.username = s2.username)
"""  # noqa: E501

# A stable weight per care manager from the username (0.25 .. 2.0, most of them low): the same
# spread on every top-up, whatever the seed's position.
_CARE_MANAGERS = """
    SELECT id, credential,
           0.25 + 1.75 * power((('x' || substr(md5(username), 1, 7))::bit(28)::int) / 268435456.0, 2) AS weight
    FROM organizations_user
    WHERE organization_id = %(plan)s AND username LIKE %(prefix_like)s AND is_active
"""
PROGRAMS_BY_CREDENTIAL = {
    "LCSW": (("behavioral_health", 0.70), ("complex_care", 0.15), ("social_needs", 0.10), ("transitions", 0.05)),
    "CHW": (("social_needs", 0.60), ("complex_care", 0.15), ("behavioral_health", 0.15), ("perinatal", 0.10)),
    "RN": (
        ("complex_care", 0.45),
        ("transitions", 0.25),
        ("perinatal", 0.15),
        ("social_needs", 0.10),
        ("behavioral_health", 0.05),
    ),
}
ACUITIES = (("intensive", 0.05), ("high", 0.20), ("moderate", 0.35), ("low", 0.25), ("self_management", 0.15))

_INSERT_ENROLLMENTS = f"""
WITH cms AS MATERIALIZED ({_CARE_MANAGERS}),
spread AS MATERIALIZED (
    SELECT array_agg(upper ORDER BY id) AS bounds, array_agg(id ORDER BY id) AS ids,
           array_agg(credential ORDER BY id) AS credentials
    FROM (SELECT id, credential, (sum(weight) OVER (ORDER BY id) / sum(weight) OVER ())::float8 AS upper FROM cms) c
),
picked AS MATERIALIZED (
    SELECT m.id AS member_id
    FROM members_member m
    WHERE m.plan_id = %(plan)s AND m.member_number NOT LIKE %(exclude)s
      AND NOT EXISTS (SELECT 1 FROM caseloads_enrollment e WHERE e.member_id = m.id AND e.status = 'active')
      AND NOT EXISTS (SELECT 1 FROM referrals_referral r WHERE r.member_id = m.id AND r.status = ANY(%(open)s))
    ORDER BY random()
    LIMIT %(n)s
),
drawn AS MATERIALIZED (
    SELECT p.member_id, random() AS r_cm, random() AS r_program, random() AS r_acuity, random() AS r_start,
           random() AS r_due, random() AS r_delivery
    FROM picked p
),
s1 AS MATERIALIZED (
    SELECT d.*, s.ids[i] AS care_manager_id, s.credentials[i] AS credential
    FROM drawn d CROSS JOIN spread s
    CROSS JOIN LATERAL (SELECT least(width_bucket(d.r_cm, s.bounds) + 1, cardinality(s.ids)) AS i) pick
),
s2 AS MATERIALIZED (
    SELECT s1.*,
        CASE credential
            {" ".join(f"WHEN {_quote(c)} THEN {_weighted(p, 'r_program')}" for c, p in PROGRAMS_BY_CREDENTIAL.items())}
        END AS program,
        {_weighted(ACUITIES, "r_acuity")} AS acuity
    FROM s1
),
s3 AS MATERIALIZED (
    SELECT s2.*,
        CASE WHEN program = 'perinatal' THEN %(today)s::date - floor(270 * r_start)::int
             ELSE %(today)s::date - floor(730 * r_start ^ 1.6)::int END AS start_date
    FROM s2
),
s4 AS MATERIALIZED (
    SELECT s3.*,
        CASE WHEN program = 'perinatal' THEN start_date + 100 + floor(140 * r_due)::int END AS expected_delivery_date
    FROM s3
)
INSERT INTO caseloads_enrollment (
    public_id, plan_id, member_id, program, acuity, care_manager_id, status, start_date, end_date, end_reason,
    referral_id, expected_delivery_date, delivery_date, co_managed, co_manager_id, co_manager_contact, created_at
)
SELECT
    gen_random_uuid(), %(plan)s, member_id, program, acuity, care_manager_id, 'active', start_date, NULL, '',
    NULL, expected_delivery_date,
    CASE WHEN expected_delivery_date < %(today)s::date - 4
         THEN expected_delivery_date - 10 + floor(15 * r_delivery)::int END,
    false, NULL, '',
    start_date + make_interval(hours => 8 + floor(10 * r_delivery)::int)
FROM s4
"""

ORIGINS = (
    ("care_plan", 0.40),
    ("care_gap", 0.20),
    ("transition", 0.12),
    ("request", 0.10),
    ("enrollment", 0.10),
    ("referral", 0.08),
)
TASK_TITLES = {
    "care_plan": (
        "Review medications with the member",
        "Confirm the next PCP visit",
        "Check progress on care plan goals",
    ),
    "care_gap": ("Schedule the diabetic eye exam", "Remind about the overdue mammogram", "Arrange the A1c test"),
    "transition": ("Post-discharge call within 2 days", "Reconcile discharge medications", "Confirm 7-day follow-up"),
    "request": ("Call the member back", "Find a Spanish-speaking behavioral health provider", "Arrange transport"),
    "enrollment": ("Initial assessment", "Send the welcome letter", "Agree the care plan with the member"),
    "referral": ("Update the referring practice", "Ask the practice for recent records"),
}

_INSERT_TASKS = f"""
WITH enrolled AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY e.id) AS rn, e.member_id, e.care_manager_id
    FROM caseloads_enrollment e
    JOIN organizations_user u ON u.id = e.care_manager_id
    WHERE e.plan_id = %(plan)s AND e.status = 'active' AND u.username LIKE %(prefix_like)s
),
drawn AS MATERIALIZED (
    SELECT 1 + floor(random() * (SELECT count(*) FROM enrolled))::bigint AS rn,
           random() AS r_origin, random() AS r_due, random() AS r_title, random() AS r_created
    FROM generate_series(1, %(n)s)
),
s1 AS MATERIALIZED (
    SELECT d.*, e.member_id, e.care_manager_id, {_weighted(ORIGINS, "r_origin")} AS origin,
           %(today)s::date - 30 + floor(61 * r_due)::int AS due_date
    FROM drawn d JOIN enrolled e USING (rn)
)
INSERT INTO caseloads_task (
    public_id, plan_id, member_id, owner_id, title, detail, due_date, origin, origin_key, status,
    created_by_id, created_at, closed_at, closed_by_id
)
SELECT
    gen_random_uuid(), %(plan)s, member_id, care_manager_id,
    CASE origin {" ".join(f"WHEN {_quote(o)} THEN {_pick(t, 'r_title')}" for o, t in TASK_TITLES.items())} END,
    '', due_date, origin, '', 'open', care_manager_id,
    least(now(), due_date - make_interval(days => 3 + floor(30 * r_created)::int) + interval '10 hours'),
    NULL, NULL
FROM s1
"""

_COUNTS = """
SELECT
    (SELECT count(*) FROM organizations_user WHERE organization_id = %(plan)s AND username LIKE %(prefix_like)s),
    (SELECT count(*) FROM caseloads_enrollment e JOIN organizations_user u ON u.id = e.care_manager_id
      WHERE e.plan_id = %(plan)s AND e.status = 'active' AND u.username LIKE %(prefix_like)s),
    (SELECT count(*) FROM caseloads_task t JOIN organizations_user u ON u.id = t.owner_id
      WHERE t.plan_id = %(plan)s AND t.status = 'open' AND u.username LIKE %(prefix_like)s)
"""


def _counts(cursor, params: dict) -> dict[str, int]:
    cursor.execute(_COUNTS, params)
    users, enrollments, tasks = cursor.fetchone()
    return {"care_managers": users, "enrollments": enrollments, "tasks": tasks}


def _breakdown(cursor, params: dict) -> dict[str, dict[str, int]]:
    def grouped(sql: str) -> dict[str, int]:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())

    bench_users = "SELECT id FROM organizations_user WHERE organization_id = %(plan)s AND username LIKE %(prefix_like)s"
    return {
        "by_role": grouped(
            "SELECT role, count(*) FROM organizations_user WHERE organization_id = %(plan)s "
            "AND username LIKE %(prefix_like)s GROUP BY 1 ORDER BY 2 DESC"
        ),
        "by_team": grouped(
            "SELECT team, count(*) FROM organizations_user WHERE organization_id = %(plan)s "
            "AND username LIKE %(prefix_like)s GROUP BY 1 ORDER BY 2 DESC"
        ),
        "by_program": grouped(
            f"SELECT program, count(*) FROM caseloads_enrollment WHERE plan_id = %(plan)s AND status = 'active' "
            f"AND care_manager_id IN ({bench_users}) GROUP BY 1 ORDER BY 2 DESC"
        ),
        "by_acuity": grouped(
            f"SELECT acuity, count(*) FROM caseloads_enrollment WHERE plan_id = %(plan)s AND status = 'active' "
            f"AND care_manager_id IN ({bench_users}) GROUP BY 1 ORDER BY 2 DESC"
        ),
        "overdue": grouped(
            f"SELECT 'overdue', count(*) FROM caseloads_task WHERE plan_id = %(plan)s AND status = 'open' "
            f"AND due_date < %(today)s AND owner_id IN ({bench_users})"
        ),
    }


def ensure_caseloads(*, care_managers: int, enrollments: int, tasks: int, say: Callable[[str], None]) -> Generation:
    """Top up, in this order: the bench care managers (missing usernames of bench-cm-0001 ... up
    to `care_managers`), their active enrollments, their open tasks. Then VACUUM (ANALYZE)."""
    from django.db import connection, transaction

    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    params = {
        "plan": plan.pk,
        "prefix": USER_PREFIX,
        "prefix_like": f"{USER_PREFIX}%",
        "exclude": f"{IMPORT_PREFIX}%",
        "open": list(OPEN_REFERRAL_STATUSES),
        "today": plan.local_date(),
    }
    with connection.cursor() as cursor:
        before = _counts(cursor, params)
    targets = {"care_managers": care_managers, "enrollments": enrollments, "tasks": tasks}
    need = {key: max(targets[key] - before[key], 0) for key in targets}
    seconds = vacuum_seconds = 0.0
    created = dict.fromkeys(targets, 0)
    if any(need.values()):
        say(
            f"Generating for {PLAN_NAME}: {need['care_managers']:,} care managers, {need['enrollments']:,} "
            f"enrollments, {need['tasks']:,} open tasks (exist: {before['care_managers']:,} / "
            f"{before['enrollments']:,} / {before['tasks']:,}) ..."
        )
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [SEED])
            if need["care_managers"]:
                cursor.execute(_INSERT_CARE_MANAGERS, {**params, "n": care_managers})
                created["care_managers"] = cursor.rowcount
            if need["enrollments"]:
                cursor.execute(_INSERT_ENROLLMENTS, {**params, "n": need["enrollments"]})
                created["enrollments"] = cursor.rowcount
            if need["tasks"]:
                cursor.execute(_INSERT_TASKS, {**params, "n": need["tasks"]})
                created["tasks"] = cursor.rowcount
            for key, wanted in need.items():
                if created[key] != wanted:
                    raise BenchError(f"Wanted {wanted:,} new {key.replace('_', ' ')}, inserted {created[key]:,}.")
        seconds = time.perf_counter() - started
        say(f"Generated in {seconds:.1f}s; VACUUM (ANALYZE) {', '.join(TABLES)} ...")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        vacuum_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        total = _counts(cursor, params)
        breakdown = _breakdown(cursor, params)
    return Generation(
        before=before,
        created=created,
        total=total,
        by_role=breakdown["by_role"],
        by_team=breakdown["by_team"],
        by_program=breakdown["by_program"],
        by_acuity=breakdown["by_acuity"],
        overdue=breakdown["overdue"].get("overdue", 0),
        seconds=seconds,
        vacuum_seconds=vacuum_seconds,
    )


# Scenarios ---------------------------------------------------------------------------------------


@dataclass
class Case:
    scenario: Scenario
    group: str  # "dashboard" or "caseload": within a group the query count must not change
    rows: int  # care managers (dashboard) or members (caseload page) the page must list
    timed: bool  # judged against the median target


@dataclass
class Result:
    case: Case
    measurement: Measurement
    rows_seen: int = 0

    @property
    def scenario(self) -> Scenario:
        return self.case.scenario


def _caseload_sizes(plan_id: int) -> list[tuple[object, str, int]]:
    """(public id, username, active enrollments) of the bench care managers, smallest first."""
    from django.db.models import Count, Q

    from organizations.models import User

    return list(
        User.objects.filter(organization_id=plan_id, username__startswith=USER_PREFIX, is_active=True)
        .annotate(n=Count("enrollments", filter=Q(enrollments__status="active")))
        .order_by("n", "id")
        .values_list("public_id", "username", "n")
    )


def cases(plan) -> list[Case]:
    from django.urls import reverse

    from caseloads.selectors import care_staff
    from organizations.access import Actor
    from organizations.models import User

    actor = Actor.for_user(User.objects.get(username=SUPERVISOR))
    staff = care_staff(actor)
    dashboard = reverse("caseload-dashboard")
    result = []
    for label, query, people in (
        ("all care managers", {}, staff),
        (f"team={SMALL_TEAM}", {"team": SMALL_TEAM}, staff.filter(team=SMALL_TEAM)),
        ("team=North", {"team": "North"}, staff.filter(team="North")),
        ("program=behavioral_health", {"program": "behavioral_health"}, staff),
        ("credential=LCSW", {"credential": "LCSW"}, staff.filter(credential="LCSW")),
    ):
        url = f"{dashboard}?{urlencode(query)}" if query else dashboard
        count = people.count()
        result.append(Case(Scenario(f"dashboard, {label}", "dashboard", SUPERVISOR, [url]), "dashboard", count, True))
    sizes = _caseload_sizes(plan.pk)
    if not sizes or sizes[-1][2] == 0:
        raise BenchError("The bench care managers have no enrollments.")
    big = min(sizes, key=lambda s: (abs(s[2] - BIG_CASELOAD), s[1]))
    small = sizes[0]
    for public_id, username, n in (small, big):
        url = reverse("caseload", args=[public_id])
        result.append(
            Case(
                Scenario(f"caseload page, {username} ({n} members)", "caseload", SUPERVISOR, [url]),
                "caseload",
                n,
                False,
            )
        )
    return result


def _rows_on(content: str, group: str) -> int:
    return len((_DASHBOARD_ROW if group == "dashboard" else _CASELOAD_ROW).findall(content))


def run(*, requests: int, warmup: int, say: Callable[[str], None]) -> list[Result]:
    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    client = _client(SUPERVISOR)
    results = []
    for case in cases(plan):
        seen = _rows_on(_get(client, case.scenario.urls[0]).content.decode(), case.group)
        if seen != case.rows:
            raise BenchError(f"{case.scenario.name}: {seen:,} rows on the page, expected {case.rows:,}.")
        measurement = measure(client, case.scenario, requests=requests, warmup=warmup)
        ms = sorted(measurement.timings_ms)
        say(f"  {case.scenario.name:<48} median {ms[len(ms) // 2]:8.1f} ms")
        results.append(Result(case, measurement, seen))
    return results
