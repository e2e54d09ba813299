"""Durable deadlines: timed follow-ups kept as database rows, never as broker ETAs (DESIGN.md).

How a deadline fires
1. The event that causes it calls `schedule()` inside its own transaction, so the row exists
   exactly when the event does. The idempotency key makes a second call a no-op.
2. Every DEADLINE_SWEEP_SECONDS, Celery beat runs `sweep()`: one UPDATE … WHERE id IN (SELECT …
   FOR UPDATE SKIP LOCKED) at a time marks up to SWEEP_BATCH due rows QUEUED and returns their
   ids, each batch in its own short transaction, until no due row is left (or
   DEADLINE_SWEEP_MAX_ROWS were handed over); after each commit the ids go to the broker,
   FIRE_BATCH to a "fire these now" message. Concurrent sweeps skip each other's rows. The same
   statement takes back rows that were QUEUED longer than DEADLINE_REQUEUE_AFTER_SECONDS (the
   broker lost the message: Redis restarted, a worker was killed before acknowledging) and
   RUNNING rows whose lease ran out.
3. A worker runs `fire(id)` for each id of its message. It counts the attempt (one UPDATE,
   committed on its own, so an attempt that kills its worker still counts), then locks the row
   (SKIP LOCKED: a duplicate message for a row being fired right now is dropped, and the row
   comes back through step 2 if that firing dies) and re-reads its state; anything but PENDING
   or QUEUED means the work is done or moot.
   * Atomic handlers (the default) run inside that same transaction, so their database effects
     and the DONE mark commit together or not at all: exactly once, however often the message
     is delivered and whenever the worker dies. A handler that raises rolls all of it back; the
     failure is then written in a transaction of its own.
   * Lease handlers (long jobs such as a roster import, which commit progress as they go) mark
     the row RUNNING with a lease, run outside the lock, and must be idempotent themselves.
   * Batch handlers (`batch=True`, atomic) take all of a message's deadlines of their kind at
     once (`fire_many`): the attempts counted in one statement, then the work set-based and
     every DONE mark in one transaction, so a backlog costs a few statements per batch rather
     than per deadline. A batch that raises is rolled back whole and its deadlines fired one by
     one (a batch of one each), so one bad deadline fails alone.
4. A handler that raises is retried with back-off up to max_attempts, then the row is FAILED and
   logged.

Deadlines due now (an email to send, an import to run) are also handed to the broker right after
commit, so they do not wait for the next sweep; the sweep is the safety net, not the fast path.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.models import Deadline

logger = logging.getLogger(__name__)

State = Deadline.State
Handler = Callable[[Deadline], None]
FIRE_TASK = "core.tasks.fire_deadlines"
SWEEP_BATCH = 1000  # rows one claiming statement takes (a short transaction, a short lock)
FIRE_BATCH = 200  # deadline ids per broker message (a batch kind does them in one transaction)


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    label: str
    fn: Handler
    atomic: bool
    lease: dt.timedelta
    max_attempts: int
    batch: bool = False


_handlers: dict[str, HandlerSpec] = {}


def handler(
    kind: str,
    *,
    label: str,
    atomic: bool = True,
    lease: dt.timedelta | None = None,
    max_attempts: int = 5,
    batch: bool = False,
) -> Callable[[Handler], Handler]:
    """Register the function that does a kind of deadline's work. See the module docstring.

    `batch=True` (atomic handlers only): the function takes a list of deadlines of its kind and
    does their work set-based; a message's deadlines of that kind are then fired together. It
    may return the ids of deadlines it could not do yet (rows someone else holds right now):
    they go back to PENDING for the next sweep, their attempt given back."""

    def register(fn: Handler) -> Handler:
        if kind in _handlers and _handlers[kind].fn is not fn:
            raise RuntimeError(f"Deadline kind {kind!r} already has a handler.")
        if batch and not atomic:
            raise ValueError("Only atomic handlers can take a batch.")
        default_lease = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
        _handlers[kind] = HandlerSpec(kind, label, fn, atomic, lease or default_lease, max_attempts, batch)
        return fn

    return register


def label_for(kind: str) -> str:
    spec = _handlers.get(kind)
    return spec.label if spec else kind


def schedule(
    *,
    kind: str,
    key: str,
    due_at: dt.datetime,
    plan_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Deadline:
    """Create the deadline in the caller's transaction. A key that exists already is left as it is."""
    if kind not in _handlers:
        raise ValueError(f"No handler is registered for deadline kind {kind!r}.")
    deadline, created = Deadline.objects.get_or_create(
        key=key, defaults={"kind": kind, "due_at": due_at, "plan_id": plan_id, "payload": payload or {}}
    )
    if created and due_at <= timezone.now():
        transaction.on_commit(lambda: _send([(deadline.pk, deadline.kind)]))
    return deadline


def schedule_many(specs: list[dict[str, Any]]) -> int:
    """`schedule()` for many deadlines in one INSERT (a bulk upload). Each spec holds kind, key,
    due_at and optionally plan_id and payload; existing keys are left as they are."""
    rows = []
    for spec in specs:
        if spec["kind"] not in _handlers:
            raise ValueError(f"No handler is registered for deadline kind {spec['kind']!r}.")
        rows.append(
            Deadline(
                kind=spec["kind"],
                key=spec["key"],
                due_at=spec["due_at"],
                plan_id=spec.get("plan_id"),
                payload=spec.get("payload") or {},
            )
        )
    created = Deadline.objects.bulk_create(rows, ignore_conflicts=True)
    now = timezone.now()
    due = [d.key for d in rows if d.due_at <= now]
    if due:
        transaction.on_commit(
            lambda: _send(list(Deadline.objects.filter(key__in=due, state=State.PENDING).values_list("pk", "kind")))
        )
    return len(created)


def cancel(*, key: str) -> bool:
    """Make a deadline moot (the thing it waited for happened). True if one was still open."""
    return bool(
        Deadline.objects.filter(key=key, state__in=[State.PENDING, State.QUEUED]).update(
            state=State.CANCELLED, finished_at=timezone.now()
        )
    )


def cancel_prefix(*, prefix: str) -> int:
    return Deadline.objects.filter(key__startswith=prefix, state__in=[State.PENDING, State.QUEUED]).update(
        state=State.CANCELLED, finished_at=timezone.now()
    )


def sweep(*, limit: int | None = None) -> int:
    """Hand due deadlines to the broker; take back ones the broker lost. Returns how many.

    Claims SWEEP_BATCH rows at a time, each batch committed (and published) before the next is
    claimed, so workers start on the first batch while the sweep goes on, and no lock is held
    for longer than one batch. Stops when a batch comes back short or `limit` rows were handed
    over. By default the limit is DEADLINE_SWEEP_MAX_ROWS less what is in flight already (handed
    over within DEADLINE_REQUEUE_AFTER_SECONDS and not started): a backlog larger than the
    workers can start before its rows count as lost stays in the table, not in the broker, so
    a slow drain is not answered with duplicate messages."""
    if limit is None:
        stale = timezone.now() - dt.timedelta(seconds=settings.DEADLINE_REQUEUE_AFTER_SECONDS)
        in_flight = Deadline.objects.filter(state=State.QUEUED, queued_at__gte=stale).count()
        limit = max(settings.DEADLINE_SWEEP_MAX_ROWS - in_flight, 0)
    total = 0
    while total < limit:
        batch = min(SWEEP_BATCH, limit - total)
        claimed = _claim(batch)
        total += claimed
        if claimed < batch:
            break
    return total


def _claim(batch: int) -> int:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.DEADLINE_REQUEUE_AFTER_SECONDS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE core_deadline SET state = 'queued', queued_at = %(now)s, lease_until = NULL
            WHERE id IN (
                SELECT id FROM core_deadline
                WHERE (state = 'pending' AND due_at <= %(now)s)
                   OR (state = 'queued' AND queued_at < %(stale)s)
                   OR (state = 'running' AND lease_until < %(now)s)
                ORDER BY due_at
                LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id, kind
            """,
            {"now": now, "stale": stale, "limit": batch},
        )
        rows = cursor.fetchall()
        if rows:
            transaction.on_commit(lambda: _send(rows))
    return len(rows)


def _send(rows: list[tuple[int, str]]) -> None:
    """Publish 'fire' messages: deadlines of a batch kind FIRE_BATCH to a message, any other kind
    one to a message (a long lease job or a slow email must not hold others up behind it). A
    broker outage here loses nothing: the rows stay QUEUED and the sweep takes them back after
    DEADLINE_REQUEUE_AFTER_SECONDS."""
    by_kind: dict[str, list[int]] = {}
    for deadline_id, kind in rows:
        by_kind.setdefault(kind, []).append(deadline_id)
    try:
        for kind, ids in by_kind.items():
            spec = _handlers.get(kind)
            size = FIRE_BATCH if spec is not None and spec.batch else 1
            for start in range(0, len(ids), size):
                current_app.send_task(FIRE_TASK, args=[ids[start : start + size]])
    except Exception:
        logger.exception("Could not hand %d deadline(s) to the broker; the sweep will retry.", len(rows))


def send_ids(ids: list[int]) -> None:
    """Hand these deadlines to the broker now, repeats included (tests deliver a message twice)."""
    kinds = dict(Deadline.objects.filter(pk__in=ids).values_list("pk", "kind"))
    _send([(pk, kinds[pk]) for pk in ids if pk in kinds])


def fire_many(deadline_ids: list[int]) -> dict[str, int]:
    """Fire the deadlines of one broker message; returns how many ended how.

    Deadlines of a batch kind on their first attempt are fired together (`_fire_batch`); any
    other deadline, and one already tried (its batch failed, or a worker died during it), is
    fired on its own (`fire`), so a deadline that kills its worker is retried alone and costs
    the others nothing. Each group has its own transactions: a worker killed halfway loses
    nothing; the message is delivered again, and what was done is skipped."""
    outcomes: Counter[str] = Counter()
    rows = {pk: (kind, attempts) for pk, kind, attempts in _rows(deadline_ids)}
    groups: dict[str, list[int]] = {}
    for deadline_id in deadline_ids:
        kind, attempts = rows.get(deadline_id, ("", 0))
        spec = _handlers.get(kind)
        if spec is not None and spec.batch and attempts == 0:
            groups.setdefault(spec.kind, []).append(deadline_id)
        else:
            outcomes[fire(deadline_id)] += 1
    for kind, ids in groups.items():
        outcomes.update(_fire_batch(_handlers[kind], ids))
    return {outcome: n for outcome, n in outcomes.items() if n}


def _rows(deadline_ids: list[int]):
    return Deadline.objects.filter(pk__in=deadline_ids).values_list("pk", "kind", "attempts")


_COUNT_ATTEMPTS = """
    UPDATE core_deadline SET attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM core_deadline
        WHERE id = ANY(%(ids)s) AND state IN ('pending', 'queued') AND due_at <= %(now)s AND attempts = 0
        ORDER BY id
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id
"""


def _fire_batch(spec: HandlerSpec, deadline_ids: list[int]) -> Counter[str]:
    """Steps 1 and 2 of the module docstring for deadlines of one kind on their first attempt:
    the attempts counted in one statement, then the handler's work and every DONE mark in one
    transaction. If the batch raises, each deadline is fired on its own (its attempt already
    counted), so one bad deadline fails alone."""
    outcomes: Counter[str] = Counter()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_COUNT_ATTEMPTS, {"ids": deadline_ids, "now": now})
        counted = {row[0] for row in cursor.fetchall()}
    ready = [pk for pk in deadline_ids if pk in counted]
    outcomes["skipped"] += len(deadline_ids) - len(ready)
    if not ready:
        return outcomes
    try:
        with transaction.atomic():
            locked = list(
                Deadline.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ready, state__in=[State.PENDING, State.QUEUED], due_at__lte=now)
                .order_by("id")
            )
            deferred = _run(spec, locked) if locked else set()
            _done_or_deferred(locked, deferred)
    except Exception:
        logger.warning(
            "A batch of %d %s deadlines failed; firing them one by one.", len(ready), spec.kind, exc_info=True
        )
        for deadline_id in ready:
            outcomes[_work(spec, deadline_id, now)] += 1
        return outcomes
    outcomes["done"] += len(locked) - len(deferred)
    outcomes["deferred"] += len(deferred)
    outcomes["skipped"] += len(ready) - len(locked)
    return outcomes


def _run(spec: HandlerSpec, deadlines: list[Deadline]) -> set[int]:
    """Call the handler; returns the ids of deadlines it could not do yet (batch handlers may say
    so, for rows a person's transaction holds right now)."""
    if not spec.batch:
        spec.fn(deadlines[0])
        return set()
    return set(spec.fn(deadlines) or ())


def _done_or_deferred(deadlines: list[Deadline], deferred: set[int]) -> None:
    """Mark the deadlines DONE, except the deferred ones: those go back to PENDING, due now and
    with the attempt given back (nothing ran for them), for the next sweep."""
    done = [d.pk for d in deadlines if d.pk not in deferred]
    if done:
        Deadline.objects.filter(pk__in=done).update(
            state=State.DONE, finished_at=timezone.now(), lease_until=None, last_error=""
        )
    if deferred:
        Deadline.objects.filter(pk__in=deferred).update(state=State.PENDING, queued_at=None, attempts=F("attempts") - 1)


def _claimable(deadline_id: int, now) -> Deadline | None:
    return (
        Deadline.objects.select_for_update(skip_locked=True)
        .filter(pk=deadline_id, state__in=[State.PENDING, State.QUEUED], due_at__lte=now)
        .first()
    )


_COUNT_ATTEMPT = """
    UPDATE core_deadline SET attempts = attempts + 1
    WHERE id = (
        SELECT id FROM core_deadline
        WHERE id = %(id)s AND state IN ('pending', 'queued') AND due_at <= %(now)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING kind, attempts
"""


def fire(deadline_id: int) -> str:
    """Do one deadline's work if it is still due. Returns what happened (for logs and tests)."""
    now = timezone.now()
    # 1. Count the attempt in its own statement (committed at once), so an attempt that takes
    #    its worker down (out of memory, the hard time limit) still counts and a poison deadline
    #    ends FAILED instead of coming back forever.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_COUNT_ATTEMPT, {"id": deadline_id, "now": now})
        row = cursor.fetchone()
        if row is None:
            return "skipped"  # done, moot, not due, or being fired right now by another worker
        kind, attempts = row
        spec = _handlers.get(kind)
        if spec is None or attempts > spec.max_attempts:
            deadline = Deadline.objects.get(pk=deadline_id)
            deadline.attempts = attempts - 1  # this attempt never ran
            if spec is None:
                _finish(deadline, State.FAILED, error=f"No handler for kind {kind!r} in this worker.")
            else:
                _finish(deadline, State.FAILED, error=deadline.last_error or "The last attempt never finished.")
                logger.error("Deadline %s (%s) gave up after %d attempts.", deadline.key, kind, deadline.attempts)
            return "failed"
        if not spec.atomic:
            Deadline.objects.filter(pk=deadline_id).update(state=State.RUNNING, lease_until=now + spec.lease)
    if spec.atomic:
        return _work(spec, deadline_id, now)

    # 2'. Lease handlers run outside any lock and commit as they go.
    deadline = Deadline.objects.get(pk=deadline_id)
    try:
        spec.fn(deadline)
    except Exception as exc:
        with transaction.atomic():
            current = Deadline.objects.select_for_update().get(pk=deadline.pk)
            if current.state == State.RUNNING:
                _failed(current, spec, exc)
        return "failed"
    Deadline.objects.filter(pk=deadline.pk, state=State.RUNNING).update(
        state=State.DONE, finished_at=timezone.now(), lease_until=None
    )
    return "done"


def _work(spec: HandlerSpec, deadline_id: int, now) -> str:
    """2. An atomic handler's work and the DONE mark in one transaction, under the row lock (the
    attempt is counted already)."""
    try:
        with transaction.atomic():
            deadline = _claimable(deadline_id, now)
            if deadline is None:
                return "skipped"  # a duplicate message got here first
            deferred = _run(spec, [deadline])
            _done_or_deferred([deadline], deferred)
            return "deferred" if deferred else "done"
    except Exception as exc:
        # Everything the handler wrote is rolled back; record the failure on its own.
        with transaction.atomic():
            deadline = _claimable(deadline_id, now)
            if deadline is not None:
                _failed(deadline, spec, exc)
        return "failed"


def _finish(deadline: Deadline, state: str, *, error: str = "") -> None:
    deadline.state = state
    deadline.finished_at = timezone.now()
    deadline.lease_until = None
    deadline.last_error = error
    deadline.save(update_fields=["state", "finished_at", "lease_until", "last_error", "attempts"])


def _failed(deadline: Deadline, spec: HandlerSpec, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"
    if deadline.attempts >= spec.max_attempts:
        logger.error("Deadline %s (%s) failed for good: %s", deadline.key, deadline.kind, error)
        _finish(deadline, State.FAILED, error=error)
        return
    backoff = dt.timedelta(minutes=min(2 ** (deadline.attempts - 1), 60))
    logger.warning("Deadline %s (%s) failed, retrying in %s: %s", deadline.key, deadline.kind, backoff, error)
    deadline.state = State.PENDING
    deadline.due_at = timezone.now() + backoff
    deadline.lease_until = None
    deadline.last_error = error
    deadline.save(update_fields=["state", "due_at", "lease_until", "last_error", "attempts"])
