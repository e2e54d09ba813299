"""One worker sweeps and acts on 100,000 due deadlines (issue 5: "100,000 deadlines in under 2
minutes").

The deadlines are the ones a transition of care makes: for each of N/5 generated inpatient
discharges of Prairie members (encounter, open episode, its five steps owned as episode_open()
owns them, plan steps by the member's care manager, practice steps by the practice's designated
contact), one `transitions.step_due` deadline per step, all due an hour ago: what a day's
discharges look like to a sweep after an outage, or a whole plan's steps coming due at once. They
are generated set-based in SQL with a fresh tag each run (the steps of earlier runs are missed
already, so they cannot be reused) and left in the database afterwards.

Acting on one is the real handler (transitions.episodes.steps_due, a batch at a time): the step is marked missed, the
care manager (or the supervisors) told with a worklist task, the practice's contacts told (its
designated contact by email), and the escalation deadline scheduled a business day on.

How it is timed: a private redis-server on a free port (so no developer's worker can take the
messages, and none of theirs reach this one) and one `celery worker -c CONCURRENCY` (the
deployment's worker: `make run` and docker-compose run -c 2) against the benchmark database. The
clock starts when the sweep task is sent to that worker (what beat does every minute; one sweep
hands over up to DEADLINE_SWEEP_MAX_ROWS) and stops when the database shows every generated
deadline finished. The emails the handlers asked for are deadlines of their own (due at once);
the time until they are sent too is shown beside it. Afterwards the effects are counted: each
step missed once, one worklist task per plan step, one notice per step and recipient.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.environment import IN_MEMORY_BROKER, PLAN_NAME, BenchError

KIND = "transitions.step_due"
TAG_PREFIX = "bench-sweep-"
SAMPLE_EPISODES = 20  # fired in-process first, one by one, to count queries per deadline
STEPS = (  # kind, side: transitions.episodes.STEPS
    ("outreach", "plan"),
    ("discharge_info", "plan"),
    ("follow_up", "practice"),
    ("med_rec", "practice"),
    ("engagement", "plan"),
)

# One statement per table, each reading the rows the previous one made (by the run's tag in the
# visit key). Members: Prairie members attributed to a practice today, the first N by id; a member
# can have episodes of several runs, as a member readmitted often would.
_INSERT_ENCOUNTERS = """
INSERT INTO transitions_encounter (
    public_id, plan_id, member_id, facility_id, sending_facility, visit_key, patient_class, admission_type,
    hospital_service, diagnosis_codes, status, admitted_at, discharged_at, location, discharge_disposition,
    diagnosis, last_event, created_at, updated_at)
SELECT gen_random_uuid(), m.plan_id, m.id, %(facility)s, %(sending)s, %(tag)s || '-' || m.id, 'I', 'E', 'MED',
       ARRAY['I50.9'], 'discharged', now() - interval '6 days', now() - interval '3 days', '4W', 'Home',
       'I50.9 Heart failure', 'A03', now(), now()
FROM members_member m
WHERE m.plan_id = %(plan)s
  AND EXISTS (SELECT 1 FROM members_attribution a WHERE a.member_id = m.id AND a.end_date IS NULL)
ORDER BY m.id
LIMIT %(n)s
"""

_INSERT_EPISODES = """
INSERT INTO transitions_episode (
    public_id, plan_id, member_id, encounter_id, practice_id, care_manager_id, admitted_at, discharged_at,
    is_mental_health, status, next_due_at, lace_parts, discharge_info, opened_at)
SELECT gen_random_uuid(), e.plan_id, e.member_id, e.id,
       (SELECT a.practice_id FROM members_attribution a
        WHERE a.member_id = e.member_id AND a.end_date IS NULL ORDER BY a.start_date DESC LIMIT 1),
       (SELECT en.care_manager_id FROM caseloads_enrollment en
        WHERE en.member_id = e.member_id AND en.status = 'active' ORDER BY en.id DESC LIMIT 1),
       e.admitted_at, e.discharged_at, false, 'open', now() - interval '1 hour', '{}'::jsonb, '', now()
FROM transitions_encounter e
WHERE e.plan_id = %(plan)s AND e.sending_facility = %(sending)s AND e.visit_key LIKE %(tag_like)s
"""

_INSERT_STEPS = """
INSERT INTO transitions_episodestep (
    public_id, plan_id, episode_id, kind, side, owner_id, due_at, status, met_note, escalation)
SELECT gen_random_uuid(), ep.plan_id, ep.id, s.kind, s.side,
       CASE WHEN s.side = 'plan' THEN ep.care_manager_id ELSE (
           SELECT c.user_id FROM organizations_partnershipcontact c
           JOIN organizations_partnership p ON p.id = c.partnership_id
           WHERE p.plan_id = ep.plan_id AND p.practice_id = ep.practice_id AND p.status = 'active'
             AND c.side = 'practice' AND c.is_primary
           ORDER BY c.id LIMIT 1)
       END,
       now() - interval '1 hour', 'open', '', 0
FROM transitions_episode ep
JOIN transitions_encounter e ON e.id = ep.encounter_id
CROSS JOIN (VALUES {steps}) AS s (kind, side)
WHERE e.plan_id = %(plan)s AND e.sending_facility = %(sending)s AND e.visit_key LIKE %(tag_like)s
"""

_INSERT_DEADLINES = """
INSERT INTO core_deadline (public_id, kind, key, plan_id, due_at, state, payload, attempts, last_error, created_at)
SELECT gen_random_uuid(), %(kind)s, 'episode-step:' || st.id || ':due:' || %(tag)s, st.plan_id, st.due_at,
       'pending', jsonb_build_object('step_id', st.id), 0, '', now()
FROM transitions_episodestep st
JOIN transitions_episode ep ON ep.id = st.episode_id
JOIN transitions_encounter e ON e.id = ep.encounter_id
WHERE e.plan_id = %(plan)s AND e.sending_facility = %(sending)s AND e.visit_key LIKE %(tag_like)s
"""

_CANCEL_LEFTOVERS = """
UPDATE core_deadline SET state = 'cancelled', finished_at = now()
WHERE kind = %(kind)s AND key LIKE %(key_like)s AND state IN ('pending', 'queued', 'running')
"""

_STATES = """
SELECT state, count(*) FROM core_deadline WHERE kind = %(kind)s AND key LIKE %(key_like)s GROUP BY state
"""

_OPEN_EMAILS = """
SELECT count(*) FROM core_deadline WHERE kind = 'notification.email' AND state IN ('pending', 'queued', 'running')
"""

_EFFECTS = """
SELECT
    (SELECT count(*) FROM transitions_episodestep st JOIN transitions_episode ep ON ep.id = st.episode_id
     JOIN transitions_encounter e ON e.id = ep.encounter_id
     WHERE e.visit_key LIKE %(tag_like)s AND st.status = 'missed' AND st.escalation = 1),
    (SELECT count(*) FROM transitions_episodestep st JOIN transitions_episode ep ON ep.id = st.episode_id
     JOIN transitions_encounter e ON e.id = ep.encounter_id WHERE e.visit_key LIKE %(tag_like)s),
    (SELECT count(*) FROM caseloads_task t WHERE t.origin_key IN (
        SELECT 'episode-step:' || st.id FROM transitions_episodestep st
        JOIN transitions_episode ep ON ep.id = st.episode_id JOIN transitions_encounter e ON e.id = ep.encounter_id
        WHERE e.visit_key LIKE %(tag_like)s)),
    (SELECT count(*) FROM core_notification n WHERE n.dedupe_key LIKE 'overdue:%%' AND n.created_at >= %(since)s),
    (SELECT count(*) FROM core_deadline d WHERE d.kind = 'transitions.step_escalate' AND d.created_at >= %(since)s),
    (SELECT count(*) FROM (
        SELECT n.dedupe_key FROM core_notification n WHERE n.dedupe_key LIKE 'overdue:%%'
        AND n.created_at >= %(since)s GROUP BY n.dedupe_key HAVING count(*) > 1) AS twice)
"""


@dataclass
class Generated:
    tag: str
    episodes: int
    deadlines: int
    seconds: float


@dataclass
class Sample:
    deadlines: int
    queries: list[int]
    ms: list[float]

    @property
    def median_queries(self) -> float:
        return statistics.median(self.queries)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.ms)


@dataclass
class SweepRun:
    generated: Generated
    sample: Sample
    concurrency: int
    sweep_row_limit: int
    seconds: float  # sweep sent → every generated deadline finished
    emails_seconds: float  # … and every email they asked for sent
    sweeps: int
    states: dict[str, int] = field(default_factory=dict)
    missed_steps: int = 0
    steps: int = 0
    tasks: int = 0
    notices: int = 0
    escalations: int = 0
    noticed_twice: int = 0

    @property
    def per_second(self) -> float:
        return self.generated.deadlines / self.seconds if self.seconds else 0.0

    @property
    def done(self) -> int:
        return self.states.get("done", 0)


def _plan_and_feed():
    from organizations.models import Organization
    from transitions.models import AdtFeed

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    feed = AdtFeed.objects.filter(plans__plan=plan, is_active=True).first()
    if feed is None:
        raise BenchError(f"{PLAN_NAME} receives no ADT feed; seed_demo makes one (STBRIGID).")
    return plan, feed


def generate(*, episodes: int, label: str) -> Generated:
    """`episodes` discharges with five due step deadlines each, in one transaction."""
    from django.db import connection, transaction

    plan, feed = _plan_and_feed()
    tag = f"{TAG_PREFIX}{label}-{time.strftime('%Y%m%d%H%M%S')}"
    params = {
        "plan": plan.pk,
        "facility": feed.facility_id,
        "sending": feed.sending_facility,
        "tag": tag,
        "tag_like": f"{tag}-%",
        "n": episodes,
        "kind": KIND,
    }
    steps = ", ".join(f"('{kind}', '{side}')" for kind, side in STEPS)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT_ENCOUNTERS, params)
        made = cursor.rowcount
        if made < episodes:
            raise BenchError(f"{PLAN_NAME} has only {made:,} attributed members; {episodes:,} are needed (--members).")
        cursor.execute(_INSERT_EPISODES, params)
        cursor.execute(_INSERT_STEPS.format(steps=steps), params)
        cursor.execute(_INSERT_DEADLINES, params)
        deadlines = cursor.rowcount
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in ("transitions_encounter", "transitions_episode", "transitions_episodestep", "core_deadline"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return Generated(tag=tag, episodes=made, deadlines=deadlines, seconds=seconds)


def _sample(generated: Generated) -> Sample:
    """Fire the sample's deadlines in this process, one by one, counting each one's queries."""
    from django.db import connection

    from bench.counting import QueryCounter
    from core import deadlines
    from core.models import Deadline

    ids = list(
        Deadline.objects.filter(kind=KIND, key__endswith=f":due:{generated.tag}")
        .order_by("id")
        .values_list("id", flat=True)
    )
    queries, ms = [], []
    for deadline_id in ids:
        with QueryCounter(connection) as captured:
            started = time.perf_counter()
            outcome = deadlines.fire(deadline_id)
            ms.append((time.perf_counter() - started) * 1000)
        if outcome != "done":
            raise BenchError(f"Sample deadline {deadline_id} was {outcome}, not done.")
        queries.append(captured.count)
    return Sample(deadlines=len(ids), queries=queries, ms=ms)


def _states(generated: Generated) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_STATES, {"kind": KIND, "key_like": f"%:due:{generated.tag}"})
        return dict(cursor.fetchall())


def _open_emails() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_OPEN_EMAILS)
        return cursor.fetchone()[0]


def _worker_env(database_url: str, broker_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "DEADLINE_", "EMAIL_", "REDIS_", "CACHE_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "DJANGO_SETTINGS_MODULE": "carecoord.settings",
            # The emails the handlers send stay in the worker's memory (locmem); none leave the machine.
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def run(*, deadlines: int, concurrency: int, timeout: float, say: Callable[[str], None]) -> SweepRun:
    from celery import Celery
    from django.conf import settings
    from django.db import connection

    from tests.support import CeleryProcess, RedisServer

    if deadlines % len(STEPS):
        raise BenchError(f"--deadlines must be a multiple of {len(STEPS)} (five steps per discharge).")
    with connection.cursor() as cursor:
        # An interrupted run leaves its deadlines due; they would be swept with this run's.
        cursor.execute(_CANCEL_LEFTOVERS, {"kind": KIND, "key_like": f"%:due:{TAG_PREFIX}%"})
        if cursor.rowcount:
            say(f"Cancelled {cursor.rowcount:,} deadlines an interrupted earlier run left open.")
    say(f"Generating {SAMPLE_EPISODES} discharges to fire in-process (query count per deadline) ...")
    sample = _sample(generate(episodes=SAMPLE_EPISODES, label="sample"))
    episodes = deadlines // len(STEPS)
    say(f"Generating {episodes:,} discharges with {deadlines:,} due step deadlines ...")
    generated = generate(episodes=episodes, label="run")
    say(f"Generated in {generated.seconds:.1f}s.")

    redis = RedisServer()
    redis.start()
    worker = None
    try:
        database_url = os.environ["DATABASE_URL"]
        env = _worker_env(database_url, redis.url)
        worker = CeleryProcess("worker", env, app="carecoord", concurrency=concurrency)
        worker.wait_ready(timeout=120)
        # Celery reads CELERY_BROKER_URL from the environment before its own arguments, and
        # bench.environment set that to an in-memory broker for everything else; for this phase, the worker's Redis.
        os.environ["CELERY_BROKER_URL"] = redis.url
        broker = Celery(broker=redis.url)
        since = _now(connection)
        say(f"Worker ready (-c {concurrency}); sweeping ...")
        started = time.perf_counter()
        broker.send_task("core.tasks.sweep_deadlines")
        sweeps, next_sweep = 1, started + settings.DEADLINE_SWEEP_SECONDS
        seconds = emails_seconds = 0.0
        while True:
            time.sleep(0.25)
            now = time.perf_counter()
            if now - started > timeout:
                raise BenchError(
                    f"Not finished after {timeout:.0f}s: {_states(generated)}. Worker log:\n{worker.output()[-2000:]}"
                )
            if now >= next_sweep:  # what beat would do meanwhile
                broker.send_task("core.tasks.sweep_deadlines")
                sweeps += 1
                next_sweep += settings.DEADLINE_SWEEP_SECONDS
            states = _states(generated)
            finished = sum(n for state, n in states.items() if state in ("done", "failed", "cancelled"))
            if not seconds and finished >= generated.deadlines:
                seconds = now - started
                say(f"  {generated.deadlines:,} deadlines finished in {seconds:.1f}s; waiting for their emails ...")
            if seconds and not _open_emails():
                emails_seconds = now - started
                break
        broker.close()
    finally:
        os.environ["CELERY_BROKER_URL"] = IN_MEMORY_BROKER
        if worker is not None:
            worker.stop()
        redis.kill()
    result = SweepRun(
        generated=generated,
        sample=sample,
        concurrency=concurrency,
        sweep_row_limit=settings.DEADLINE_SWEEP_MAX_ROWS,
        seconds=seconds,
        emails_seconds=emails_seconds,
        sweeps=sweeps,
        states=_states(generated),
    )
    with connection.cursor() as cursor:
        cursor.execute(_EFFECTS, {"tag_like": f"{generated.tag}-%", "since": since})
        (
            result.missed_steps,
            result.steps,
            result.tasks,
            result.notices,
            result.escalations,
            result.noticed_twice,
        ) = cursor.fetchone()
    return result


def _now(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]
