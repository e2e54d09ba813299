"""Durable deadlines: timed follow-ups kept as database rows, never as broker ETAs (DESIGN.md).

How a deadline fires
1. The event that causes it calls `schedule()` inside its own transaction, so the row exists
   exactly when the event does. The idempotency key makes a second call a no-op.
2. Every DEADLINE_SWEEP_SECONDS, Celery beat runs `sweep()`: one UPDATE … WHERE id IN (SELECT …
   FOR UPDATE SKIP LOCKED) marks due rows QUEUED and returns their ids, and after commit each id
   goes to the broker as a short "fire this now" message. Concurrent sweeps skip each other's rows.
   The same statement takes back rows that were QUEUED longer than DEADLINE_REQUEUE_AFTER_SECONDS
   (the broker lost the message: Redis restarted, a worker was killed before acknowledging) and
   RUNNING rows whose lease ran out.
3. A worker runs `fire(id)`. It counts the attempt (committed on its own, so an attempt that kills
   its worker still counts), then locks the row (SKIP LOCKED: a duplicate message for a row being
   fired right now is dropped, and the row comes back through step 2 if that firing dies) and
   re-reads its state; anything but PENDING or QUEUED means the work is done or moot.
   * Atomic handlers (the default) run inside that same transaction, so their database effects
     and the DONE mark commit together or not at all: exactly once, however often the message
     is delivered and whenever the worker dies.
   * Lease handlers (long jobs such as a roster import, which commit progress as they go) mark
     the row RUNNING with a lease, run outside the lock, and must be idempotent themselves.
4. A handler that raises is retried with back-off up to max_attempts, then the row is FAILED and
   logged.

Deadlines due now (an email to send, an import to run) are also handed to the broker right after
commit, so they do not wait for the next sweep; the sweep is the safety net, not the fast path.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.models import Deadline

logger = logging.getLogger(__name__)

State = Deadline.State
Handler = Callable[[Deadline], None]
FIRE_TASK = "core.tasks.fire_deadline"


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    label: str
    fn: Handler
    atomic: bool
    lease: dt.timedelta
    max_attempts: int


_handlers: dict[str, HandlerSpec] = {}


def handler(
    kind: str,
    *,
    label: str,
    atomic: bool = True,
    lease: dt.timedelta | None = None,
    max_attempts: int = 5,
) -> Callable[[Handler], Handler]:
    """Register the function that does a kind of deadline's work. See the module docstring."""

    def register(fn: Handler) -> Handler:
        if kind in _handlers and _handlers[kind].fn is not fn:
            raise RuntimeError(f"Deadline kind {kind!r} already has a handler.")
        default_lease = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
        _handlers[kind] = HandlerSpec(kind, label, fn, atomic, lease or default_lease, max_attempts)
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
        transaction.on_commit(lambda: _send([deadline.pk]))
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
            lambda: _send(list(Deadline.objects.filter(key__in=due, state=State.PENDING).values_list("pk", flat=True)))
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


def sweep(*, limit: int = 1000) -> int:
    """Hand due deadlines to the broker; take back ones the broker lost. Returns how many."""
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
            RETURNING id
            """,
            {"now": now, "stale": stale, "limit": limit},
        )
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            transaction.on_commit(lambda: _send(ids))
    return len(ids)


def _send(ids: list[int]) -> None:
    """Publish 'fire' messages. A broker outage here loses nothing: the rows stay QUEUED and the
    sweep takes them back after DEADLINE_REQUEUE_AFTER_SECONDS."""
    try:
        for deadline_id in ids:
            current_app.send_task(FIRE_TASK, args=[deadline_id])
    except Exception:
        logger.exception("Could not hand %d deadline(s) to the broker; the sweep will retry.", len(ids))


def _claimable(deadline_id: int, now) -> Deadline | None:
    return (
        Deadline.objects.select_for_update(skip_locked=True)
        .filter(pk=deadline_id, state__in=[State.PENDING, State.QUEUED], due_at__lte=now)
        .first()
    )


def fire(deadline_id: int) -> str:
    """Do one deadline's work if it is still due. Returns what happened (for logs and tests)."""
    now = timezone.now()
    # 1. Count the attempt in its own short transaction, so an attempt that takes its worker down
    #    (out of memory, the hard time limit) still counts and a poison deadline ends FAILED
    #    instead of coming back forever.
    with transaction.atomic():
        deadline = _claimable(deadline_id, now)
        if deadline is None:
            return "skipped"
        spec = _handlers.get(deadline.kind)
        if spec is None:
            _finish(deadline, State.FAILED, error=f"No handler for kind {deadline.kind!r} in this worker.")
            return "failed"
        if deadline.attempts >= spec.max_attempts:
            _finish(deadline, State.FAILED, error=deadline.last_error or "The last attempt never finished.")
            logger.error("Deadline %s (%s) gave up after %d attempts.", deadline.key, deadline.kind, deadline.attempts)
            return "failed"
        deadline.attempts += 1
        if not spec.atomic:
            deadline.state = State.RUNNING
            deadline.lease_until = now + spec.lease
        deadline.save(update_fields=["state", "lease_until", "attempts"])

    if spec.atomic:
        # 2. The work and the DONE mark in one transaction, under the row lock.
        with transaction.atomic():
            deadline = _claimable(deadline_id, now)
            if deadline is None:
                return "skipped"  # a duplicate message got here first
            try:
                with transaction.atomic():
                    spec.fn(deadline)
            except Exception as exc:
                _failed(deadline, spec, exc)
                return "failed"
            _finish(deadline, State.DONE)
            return "done"

    # 2'. Lease handlers run outside any lock and commit as they go.
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
