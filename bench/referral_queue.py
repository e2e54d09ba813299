"""The referral queue at scale: 200,000 referrals over the million-member plan, the queue page
and the API list at page sizes 25 and 100, each beside the same page fetched by one hand-written
SQL query.

The referrals are generated set-based in SQL (INSERT ... SELECT from members_member), not through
referrals.services: creating 200,000 through the services (events, deadlines, audit rows,
notifications each) would take hours. The rows keep every database rule of referrals_referral
(one open referral per member, linked ones point at an open referral, practice referrals name
the practice, assigned ones have an assignee, NOT NULL columns), with a realistic mix of sources,
statuses, priorities, assignees and deadlines. What the services would also have written is not
generated: timeline events, Deadline rows, audit rows, notifications, and the Enrollment row an
enrolled referral would have (the queue reads none of them). The step is idempotent: it counts
the plan's referrals and only tops up to the target.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.environment import PLAN_NAME, BenchError
from bench.roster_import import PREFIX as IMPORT_PREFIX
from bench.web import DEEP_HOPS, PLAN_USER, Measurement, Scenario, _client, _follow_api, _follow_html, _get, measure

TARGET = 200_000
OPEN_SHARE = 0.20  # of the target: in the queue, over the five open statuses
LINKED_SHARE = 0.01  # second referrals for a member already in the queue
SIZES = (25, 100)
SEED = 0.4242  # setseed(): the same data on every fresh build
CARE_ROLES = ("care_manager", "care_coordinator", "member_advocate")

OPEN_STATUSES = ("submitted", "acknowledged", "triaged", "assigned", "outreach")
CLOSED_STATUSES = ("enrolled", "declined", "not_eligible", "unable_to_reach", "cancelled")
_OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
_CHECKBOX = re.compile(r'name="referrals" value="([0-9a-f-]{36})"')
_COUNT = re.compile(r'<span class="badge">(\d+)</span>')


# Generation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generation:
    before: int
    created: dict[str, int]  # open / linked / closed rows added this run
    total: int
    by_status: dict[str, int]
    seconds: float
    vacuum_seconds: float

    @property
    def added(self) -> int:
        return sum(self.created.values())

    @property
    def open(self) -> int:
        return sum(self.by_status.get(s, 0) for s in OPEN_STATUSES)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pick(values: list[str] | tuple[str, ...], r: str) -> str:
    """SQL: one of `values`, chosen by the uniform random column `r` (in [0, 1))."""
    return f"(ARRAY[{', '.join(_quote(v) for v in values)}])[1 + floor({r} * {len(values)})::int]"


def _by_source(texts: dict[str, list[str]], r: str, default: str = "''") -> str:
    whens = " ".join(f"WHEN {_quote(source)} THEN {_pick(options, r)}" for source, options in texts.items())
    return f"CASE source {whens} ELSE {default} END"


REASONS = {
    "practice": [
        "Uncontrolled type 2 diabetes (A1c 9.6); needs help with medications and diet",
        "Heart failure with two ED visits this quarter; needs close follow-up",
        "Positive depression and anxiety screens; behavioral health support",
        "High-risk pregnancy, first trimester; prenatal care coordination",
        "Food insecurity and unstable housing are undermining diabetes control",
    ],
    "member_request": [
        "Member asked for help managing several conditions",
        "Member asked for help finding a behavioral health provider",
    ],
    "hrq": [
        "Health risk questionnaire: high risk, several chronic conditions",
        "Health risk questionnaire: reports falls and lives alone",
    ],
    "utilization_management": [
        "Concurrent review: long inpatient stay with complex discharge needs",
        "High use of imaging and specialists; care needs coordinating",
    ],
    "admission": [
        "Inpatient admission for COPD exacerbation; transition of care",
        "Readmission within 30 days (heart failure)",
    ],
    "predictive_model": ["Predictive model list: in the top 2 percent for risk of admission in the next 6 months"],
}
DIAGNOSES = {
    source: [
        "E11.65 Type 2 diabetes with hyperglycemia",
        "I50.9 Heart failure, unspecified",
        "F33.1 Major depressive disorder, recurrent, moderate",
        "J44.1 COPD with acute exacerbation",
        "",
    ]
    for source in ("practice", "utilization_management", "admission")
}
UTILIZATION = {
    source: ["2 ED visits in the last 90 days", "Inpatient stay of 6 days, discharged last week", "30-day readmission"]
    for source in ("utilization_management", "admission")
}
OUTCOMES = {
    "declined": ["Member is not interested at this time", "Member already works with a specialist's care team"],
    "not_eligible": [
        "No longer enrolled with the plan",
        "In hospice care",
        "Already in a disease management program",
    ],
    "unable_to_reach": ["Three failed attempts on different days"],
    "cancelled": ["Duplicate referral", "Referred in error", "Member moved out of the service area"],
}
PROGRAMS = ("complex_care", "behavioral_health", "perinatal", "transitions", "social_needs")


def _status_case(statuses: tuple[str, ...], weights: tuple[float, ...]) -> str:
    bounds, total = [], 0.0
    for status, weight in zip(statuses[:-1], weights[:-1], strict=True):
        total += weight
        bounds.append(f"WHEN r_status < {total:.4f} THEN {_quote(status)}")
    return f"CASE {' '.join(bounds)} ELSE {_quote(statuses[-1])} END"


# How each kind of row is drawn: which members (or open referrals), which status, when submitted.
_PICK_MEMBERS = """
    SELECT m.id AS member_id, NULL::bigint AS linked_to_id, NULL::timestamptz AS not_before
    FROM members_member m
    WHERE m.plan_id = %(plan)s AND m.member_number NOT LIKE %(exclude)s {extra}
    ORDER BY random()
    LIMIT %(n)s
"""
_PICK_OPEN_MEMBERS = _PICK_MEMBERS.format(
    extra=f"""
      AND NOT EXISTS (SELECT 1 FROM referrals_referral r WHERE r.member_id = m.id AND r.status IN ({_OPEN_SQL}))
      AND NOT EXISTS (SELECT 1 FROM caseloads_enrollment e WHERE e.member_id = m.id AND e.status = 'active')"""
)
_PICK_CLOSED_MEMBERS = _PICK_MEMBERS.format(extra="")
_PICK_OPEN_REFERRALS = f"""
    SELECT r.member_id, r.id AS linked_to_id, r.submitted_at AS not_before
    FROM referrals_referral r
    WHERE r.plan_id = %(plan)s AND r.status IN ({_OPEN_SQL})
    ORDER BY random()
    LIMIT %(n)s
"""
KINDS = {
    # Open: skewed to recent (a queue is worked), the older the status the longer ago.
    "open": (
        _PICK_OPEN_MEMBERS,
        _status_case(OPEN_STATUSES, (0.15, 0.15, 0.25, 0.20, 0.25)),
        """now() - make_interval(secs => 86400 * CASE status
             WHEN 'submitted' THEN 10 * r_age ^ 3 WHEN 'acknowledged' THEN 20 * r_age ^ 2
             WHEN 'triaged' THEN 60 * r_age ^ 2 WHEN 'assigned' THEN 90 * r_age ^ 2 ELSE 180 * r_age ^ 2 END)""",
    ),
    # Closed: submitted at any time in the last year.
    "closed": (
        _PICK_CLOSED_MEMBERS,
        _status_case(CLOSED_STATUSES, (0.30, 0.15, 0.20, 0.20, 0.15)),
        "now() - make_interval(secs => 86400 * 365 * r_age)",
    ),
    # Linked: a later referral for a member already in the queue, pointing at the open one.
    "linked": (_PICK_OPEN_REFERRALS, "'linked'", "not_before + (now() - not_before) * r_age"),
}

_INSERT = """
WITH picked AS MATERIALIZED ({pick}),
drawn AS MATERIALIZED (
    SELECT p.*, random() AS r_status, random() AS r_source, random() AS r_age, random() AS r_step,
           random() AS r_prio, random() AS r_program, random() AS r_staff, random() AS r_urgent,
           random() AS r_text, random() AS r_text2, random() AS r_miss, random() AS r_triaged,
           random() AS r_practice, random() AS r_contact
    FROM picked p
),
s1 AS MATERIALIZED (
    SELECT d.*, {status} AS status,
        CASE WHEN r_source < 0.35 THEN 'practice' WHEN r_source < 0.45 THEN 'member_request'
             WHEN r_source < 0.55 THEN 'hrq' WHEN r_source < 0.70 THEN 'utilization_management'
             WHEN r_source < 0.85 THEN 'admission' ELSE 'predictive_model' END AS source
    FROM drawn d
),
s2 AS MATERIALIZED (
    SELECT s1.*, {submitted} AS submitted_at,
        status IN ('triaged', 'assigned', 'outreach', 'enrolled', 'declined', 'unable_to_reach')
            OR (status IN ('not_eligible', 'cancelled') AND r_triaged < 0.4) AS was_triaged,
        status IN ('assigned', 'outreach', 'enrolled', 'declined', 'unable_to_reach') AS was_assigned,
        CASE WHEN source = 'admission' THEN r_urgent < 0.25 ELSE r_urgent < 0.06 END AS urgent,
        1 + floor(r_practice * cardinality(%(practices)s::bigint[]))::int AS practice_index
    FROM s1
),
s3 AS MATERIALIZED (
    SELECT s2.*,
        CASE WHEN status IN ('submitted', 'linked') THEN submitted_at
             WHEN status IN ({open}) THEN submitted_at + (now() - submitted_at) * r_step
             ELSE least(now(), submitted_at + make_interval(secs => 86400 * (1 + 59 * r_step ^ 2))) END
            AS status_changed_at,
        CASE WHEN was_triaged THEN
            CASE WHEN r_prio < 0.10 THEN 1 WHEN r_prio < 0.35 THEN 2 WHEN r_prio < 0.80 THEN 3 ELSE 4 END END
            AS priority,
        CASE WHEN was_triaged THEN {program} ELSE '' END AS program
    FROM s2
),
s4 AS MATERIALIZED (
    SELECT s3.*,
        CASE WHEN status = 'assigned' THEN status_changed_at
             WHEN was_assigned THEN submitted_at + (status_changed_at - submitted_at) * 0.5 END AS assigned_at
    FROM s3
),
s5 AS MATERIALIZED (
    SELECT s4.*,
        CASE status WHEN 'submitted' THEN submitted_at + interval '1 day'
                    WHEN 'acknowledged' THEN submitted_at + interval '2 days'
                    WHEN 'assigned' THEN assigned_at + interval '3 days' END AS due_at
    FROM s4
)
INSERT INTO referrals_referral (
    public_id, plan_id, member_id, source, referring_practice_id, referred_by_id, reason, diagnoses,
    recent_utilization, clinical_context, urgency, contact_method, contact_time, model_score,
    status, status_changed_at, priority, queue_rank, program, skill_needed, assigned_to_id, assigned_at,
    due_at, due_step, missed_deadlines, outcome_reason, linked_to_id, linked_enrollment_id, submitted_at
)
SELECT
    gen_random_uuid(), %(plan)s, member_id, source,
    CASE WHEN source = 'practice' THEN (%(practices)s::bigint[])[practice_index] END,
    CASE WHEN source = 'practice' THEN (%(practice_referrers)s::bigint[])[practice_index]
         ELSE %(plan_referrer)s END,
    {reason}, {diagnoses}, {utilization}, '',
    CASE WHEN urgent THEN 'urgent' ELSE 'routine' END,
    {contact_method}, {contact_time},
    CASE WHEN source = 'predictive_model' THEN round((0.5 + 0.499 * r_text2)::numeric, 3) END,
    status, status_changed_at, priority,
    COALESCE(priority, CASE WHEN urgent THEN 1 ELSE 3 END),
    program,
    CASE WHEN NOT was_triaged THEN '' WHEN program = 'behavioral_health' THEN 'LCSW'
         WHEN program = 'social_needs' THEN 'CHW' ELSE 'RN' END,
    CASE WHEN was_assigned THEN
        (%(staff)s::bigint[])[1 + floor(r_staff * cardinality(%(staff)s::bigint[]))::int] END,
    assigned_at,
    due_at,
    CASE status WHEN 'submitted' THEN 'acknowledge' WHEN 'acknowledged' THEN 'triage'
                WHEN 'assigned' THEN 'first_outreach' ELSE '' END,
    CASE status
        WHEN 'submitted' THEN (due_at < now())::int + (submitted_at + interval '2 days' < now())::int
        WHEN 'acknowledged' THEN (status_changed_at > submitted_at + interval '1 day')::int + (due_at < now())::int
        WHEN 'assigned' THEN (due_at < now())::int
        WHEN 'linked' THEN 0
        ELSE (r_miss < 0.12)::int END,
    {outcome},
    linked_to_id, NULL, submitted_at
FROM s5
"""


def _insert_sql(kind: str) -> str:
    pick, status, submitted = KINDS[kind]
    return _INSERT.format(
        pick=pick,
        status=status,
        submitted=submitted,
        open=_OPEN_SQL,
        program=_pick(PROGRAMS, "r_program"),
        reason=_by_source(REASONS, "r_text"),
        diagnoses=_by_source(DIAGNOSES, "r_text2"),
        utilization=_by_source(UTILIZATION, "r_text2"),
        contact_method=_pick(["phone", "phone", "text", "email", "mail", "via_pcp", ""], "r_contact"),
        contact_time=_pick(["", "", "Weekday mornings", "After 5 pm", "Any time"], "r_miss"),
        outcome=(
            "CASE status "
            + " ".join(f"WHEN {_quote(status)} THEN {_pick(texts, 'r_text2')}" for status, texts in OUTCOMES.items())
            + " ELSE '' END"
        ),
    )


def _counts(cursor, plan_id: int) -> dict[str, int]:
    cursor.execute("SELECT status, count(*) FROM referrals_referral WHERE plan_id = %s GROUP BY status", [plan_id])
    return dict(cursor.fetchall())


def _people(plan) -> dict:
    """Prairie's partner practices with a referring user each, its care staff, its intake user."""
    from organizations.models import Partnership, Role, User

    partnerships = Partnership.objects.active().filter(plan_id=plan.pk).order_by("practice_id")
    practices = list(partnerships.values_list("practice_id", flat=True))
    if not practices:
        raise BenchError(f"{PLAN_NAME} has no active partner practice to refer from.")
    referrers = []
    for practice_id in practices:
        user = User.objects.filter(organization_id=practice_id, is_active=True).order_by("id").first()
        if user is None:
            raise BenchError(f"Practice {practice_id} has no active user to refer from.")
        referrers.append(user.pk)
    staff = list(
        User.objects.filter(organization_id=plan.pk, role__in=CARE_ROLES, is_active=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    if not staff:
        raise BenchError(f"{PLAN_NAME} has no active care staff to assign referrals to.")
    intake = User.objects.filter(organization_id=plan.pk, role=Role.INTAKE, is_active=True).order_by("id").first()
    return {
        "practices": practices,
        "practice_referrers": referrers,
        "staff": staff,
        "plan_referrer": intake.pk if intake else None,
    }


def ensure_referrals(*, target: int, say: Callable[[str], None]) -> Generation:
    """Top the plan's referrals up to `target`: open ones first (to OPEN_SHARE of the target, on
    members without an open referral), then linked ones, then closed ones. Then VACUUM (ANALYZE)."""
    from django.db import connection, transaction

    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    with connection.cursor() as cursor:
        counts = _counts(cursor, plan.pk)
    before = sum(counts.values())
    existing_open = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    need = max(target - before, 0)
    created = {"open": 0, "linked": 0, "closed": 0}
    created["open"] = min(need, max(round(target * OPEN_SHARE) - existing_open, 0))
    created["linked"] = min(need - created["open"], max(round(target * LINKED_SHARE) - counts.get("linked", 0), 0))
    created["closed"] = need - created["open"] - created["linked"]
    seconds = vacuum_seconds = 0.0
    if need:
        say(
            f"Generating {need:,} referrals for {PLAN_NAME} ({before:,} exist): {created['open']:,} open, "
            f"{created['linked']:,} linked, {created['closed']:,} closed ..."
        )
        params = {"plan": plan.pk, "exclude": f"{IMPORT_PREFIX}%", **_people(plan)}
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [SEED])
            for kind in ("open", "linked", "closed"):
                if created[kind]:
                    cursor.execute(_insert_sql(kind), {**params, "n": created[kind]})
                    if cursor.rowcount != created[kind]:
                        raise BenchError(f"Wanted {created[kind]:,} {kind} referrals, inserted {cursor.rowcount:,}.")
        seconds = time.perf_counter() - started
        say(f"Generated {need:,} referrals in {seconds:.1f}s; VACUUM (ANALYZE) referrals_referral ...")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) referrals_referral")
        vacuum_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        counts = _counts(cursor, plan.pk)
    return Generation(
        before=before,
        created=created,
        total=sum(counts.values()),
        by_status=counts,
        seconds=seconds,
        vacuum_seconds=vacuum_seconds,
    )


# The raw SQL baseline ----------------------------------------------------------------------------
# Each case's page also gets one hand-written SELECT: timed bare (execute + fetchall), and behind
# bench/raw_pages.py, which serves the same page from it through the same sign-in, middleware and
# template or JSON (the "raw-SQL page"). The target ratio is the product page to its raw-SQL page:
# the cost of the ORM and of the queue's code over hand-written SQL, on the same request.

_FROM = """
FROM referrals_referral r
JOIN members_member m ON m.id = r.member_id
LEFT JOIN organizations_organization p ON p.id = r.referring_practice_id
LEFT JOIN organizations_user u ON u.id = r.assigned_to_id"""
_ORDER = "ORDER BY r.queue_rank, r.submitted_at, r.id\nLIMIT %(limit)s"
# The queue page: selectors.ROW_FIELDS, then a row per open status with its count under the same
# filters but the status one (as referrals.selectors.status_counts).
_QUEUE_COLUMNS = """r.id, r.public_id, r.status, r.priority, r.queue_rank, r.program, r.source,
       r.submitted_at, r.status_changed_at, r.due_at, r.missed_deadlines,
       m.first_name AS member__first_name, m.last_name AS member__last_name,
       m.member_number AS member__member_number,
       p.name AS referring_practice__name,
       r.assigned_to_id, u.first_name AS assigned_to__first_name, u.last_name AS assigned_to__last_name"""
QUEUE_SQL = f"""
WITH page AS MATERIALIZED (
    SELECT {_QUEUE_COLUMNS}{_FROM}
    WHERE r.plan_id = %(plan)s AND {{where}}
    {_ORDER}
)
SELECT page.*, NULL::varchar AS count_status, NULL::bigint AS count_n FROM page
UNION ALL
SELECT {", ".join(["NULL"] * 18)}, r.status, count(*)
FROM referrals_referral r
WHERE r.plan_id = %(plan)s AND r.status IN ({_OPEN_SQL}) AND {{count_where}}
GROUP BY r.status
"""
# The API list: referrals.api.serializers.LIST_VALUES.
API_SQL = f"""
SELECT r.id, r.public_id, r.status, r.source, r.reason, r.urgency, r.priority, r.queue_rank, r.program,
       r.skill_needed, r.due_at, r.submitted_at, r.status_changed_at, r.outcome_reason,
       m.public_id AS member__public_id, m.member_number AS member__member_number,
       p.name AS referring_practice__name, r.assigned_to_id, u.first_name AS assigned_to__first_name,
       u.last_name AS assigned_to__last_name, u.username AS assigned_to__username,
       l.public_id AS linked_to__public_id{_FROM}
LEFT JOIN referrals_referral l ON l.id = r.linked_to_id
WHERE r.plan_id = %(plan)s AND {{where}}
{_ORDER}
"""


@dataclass(frozen=True)
class RawPage:
    """One case's hand-written SELECT: LIMIT size + 1 rows in queue order (the extra row says
    whether there is a next page), then, for the page, a row per open status with its count
    (count_status / count_n set, the rest NULL)."""

    sql: str
    params: tuple[tuple[str, object], ...]
    size: int
    after_cursor: bool  # a page reached by a cursor has a link back

    def as_params(self) -> dict:
        return dict(self.params)


KEYSET = "(r.queue_rank, r.submitted_at, r.id) > (%(rank)s, %(submitted)s::timestamptz, %(id)s)"


def _raw(plan_id: int, size: int, *, api: bool, where: list[str], cursor: str | None = None) -> RawPage:
    """The hand-written SELECT of one page: `where` are its filters (the status one first, if any),
    `cursor` the page's position (a forward cursor, as the deep pages are reached)."""
    params: dict[str, object] = {"plan": plan_id, "limit": size + 1}
    conditions = list(where)
    if cursor:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data.get("d") != "n":
            raise BenchError("Expected a forward cursor for the deep page.")
        params["rank"], params["submitted"], params["id"] = data["v"]
        conditions.append(KEYSET)
    if api:
        sql = API_SQL.format(where=" AND ".join(conditions))
    else:
        others = [c for c in where if not c.startswith("r.status ")] or ["TRUE"]
        sql = QUEUE_SQL.format(where=" AND ".join(conditions), count_where=" AND ".join(others))
    return RawPage(sql=sql, params=tuple(params.items()), size=size, after_cursor=bool(cursor))


def measure_raw(raw: RawPage, *, requests: int, warmup: int) -> tuple[list[float], list[str]]:
    """Timings (ms) of execute + fetchall through Django's connection (DEBUG off: a plain
    psycopg cursor underneath), and the public ids of the page's rows."""
    from django.db import connection

    sql, params = raw.sql, raw.as_params()
    with connection.cursor() as cursor:
        rows = []
        for _ in range(max(warmup, 1)):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return timings, [str(row[1]) for row in rows if row[1] is not None][: raw.size]


# Scenarios ---------------------------------------------------------------------------------------


@dataclass
class Case:
    scenario: Scenario
    size: int
    api: bool
    raw: RawPage
    pair: str = ""  # cases with the same pair differ only in page size: their query counts must match

    def register_raw_page(self) -> Scenario:
        """Registers this case's SELECT with bench/raw_pages.py; returns the same request (query
        string and all) to the raw-SQL page it serves."""
        from django.urls import reverse

        from bench import raw_pages

        key = hashlib.sha256(self.raw.sql.encode() + repr(self.raw.params).encode()).hexdigest()[:16]
        raw_pages.REGISTERED[key] = self.raw
        parts = urlsplit(self.scenario.urls[0])
        path = reverse("bench-raw-referrals" if self.api else "bench-raw-queue", args=[key])
        return Scenario(f"{self.scenario.name} (raw SQL)", "referral", self.scenario.user, [f"{path}?{parts.query}"])


@dataclass
class Result:
    case: Case
    measurement: Measurement
    raw_ms: list[float] = field(default_factory=list)  # the hand-written SELECT alone
    raw_page: Measurement | None = None  # the same page served from it

    @property
    def scenario(self) -> Scenario:
        return self.case.scenario


def _cursor_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("cursor")
    return values[0] if values else None


def _shown(client, url: str, api: bool) -> tuple:
    """What a page shows: the API's results, or the queue's row ids and per-status counts."""
    response = _get(client, url)
    if api:
        return tuple(json.dumps(row, sort_keys=True) for row in response.json()["results"])
    text = response.content.decode()
    return tuple(_CHECKBOX.findall(text)), tuple(_COUNT.findall(text))


def cases(client, plan_id: int) -> list[Case]:
    from django.urls import reverse

    queue, api = reverse("referral-queue"), reverse("api-referral-list")
    open_only = [f"r.status IN ({_OPEN_SQL})"]
    deep = f"page {DEEP_HOPS + 1}"
    result = []
    for size in SIZES:
        first = f"{queue}?{urlencode({'size': size})}"
        deeper = _follow_html(client, first, DEEP_HOPS)
        result += [
            Case(
                Scenario(f"queue page 1, size={size}", "referral", PLAN_USER, [first]),
                size,
                False,
                _raw(plan_id, size, api=False, where=open_only),
                "queue page 1",
            ),
            Case(
                Scenario(f"queue {deep}, size={size}", "referral", PLAN_USER, [deeper]),
                size,
                False,
                _raw(plan_id, size, api=False, where=open_only, cursor=_cursor_of(deeper)),
                f"queue {deep}",
            ),
        ]
    for size in SIZES:
        first = f"{api}?{urlencode({'page_size': size})}"
        deeper = _follow_api(client, first, DEEP_HOPS)
        result += [
            Case(
                Scenario(f"api page 1, page_size={size}", "referral", PLAN_USER, [first]),
                size,
                True,
                _raw(plan_id, size, api=True, where=open_only),
                "api page 1",
            ),
            Case(
                Scenario(f"api {deep}, page_size={size}", "referral", PLAN_USER, [deeper]),
                size,
                True,
                _raw(plan_id, size, api=True, where=open_only, cursor=_cursor_of(deeper)),
                f"api {deep}",
            ),
        ]
    default_size = 50  # the queue's own default (core.http.page_args)
    result += [
        Case(
            Scenario("queue status=triaged (size 50)", "referral", PLAN_USER, [f"{queue}?status=triaged"]),
            default_size,
            False,
            _raw(plan_id, default_size, api=False, where=["r.status = 'triaged'"]),
        ),
        Case(
            Scenario(
                "queue assigned=unassigned&due=overdue (50)",
                "referral",
                PLAN_USER,
                [f"{queue}?assigned=unassigned&due=overdue"],
            ),
            default_size,
            False,
            _raw(
                plan_id,
                default_size,
                api=False,
                where=[*open_only, "r.assigned_to_id IS NULL", "r.due_at < now()"],
            ),
        ),
    ]
    return result


def run(*, requests: int, warmup: int, say: Callable[[str], None]) -> list[Result]:
    from django.test.utils import override_settings

    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    client = _client(PLAN_USER)
    results = []
    with override_settings(ROOT_URLCONF="bench.urls"):  # the product's URLs and the raw-SQL pages
        say("Finding the queue's deep-page cursors ...")
        for case in cases(client, plan.pk):
            raw_scenario = case.register_raw_page()
            shown = _shown(client, case.scenario.urls[0], case.api)
            if shown != _shown(client, raw_scenario.urls[0], case.api):
                raise BenchError(f"{case.scenario.name}: the raw-SQL page shows other rows than the page does.")
            raw_ms, raw_ids = measure_raw(case.raw, requests=requests, warmup=warmup)
            page_ids = [json.loads(row)["id"] for row in shown] if case.api else list(shown[0])
            if raw_ids != page_ids:
                raise BenchError(f"{case.scenario.name}: the hand-written SELECT returns other rows than the page.")
            if len(page_ids) != case.size:
                raise BenchError(f"{case.scenario.name}: {len(page_ids)} rows on the page, expected {case.size}.")
            measurement = measure(client, case.scenario, requests=requests, warmup=warmup)
            raw_page = measure(client, raw_scenario, requests=requests, warmup=warmup)
            say(
                f"  {case.scenario.name:<42} median {statistics.median(measurement.timings_ms):8.1f} ms"
                f"   raw-SQL page {statistics.median(raw_page.timings_ms):6.1f} ms"
                f"   SELECT alone {statistics.median(raw_ms):6.2f} ms"
            )
            results.append(Result(case, measurement, raw_ms, raw_page))
    return results
