"""The audit trail's only writer. Services call `record()` in the same transaction as the change;
read paths (pages, API, exports) call it once per response."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import connection

from core import context
from core.models import AuditEvent

if TYPE_CHECKING:
    from organizations.access import Actor

Action = AuditEvent.Action


def _event(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str = "",
    plan_id: int | None = None,
    member_id: int | None = None,
    summary: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    user = actor.user
    return AuditEvent(
        actor=user,
        actor_label=user.get_username() if user is not None else "system",
        organization_id=actor.organization.pk if actor.organization is not None else None,
        plan_id=plan_id,
        member_id=member_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:300],
        detail=detail or {},
        request_id=context.request_id.get(),
    )


def record(**kwargs: Any) -> AuditEvent:
    """Write one audit event. Keyword arguments as `_event`."""
    event = _event(**kwargs)
    event.save()
    return event


def record_many(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    objects: list[tuple[str, int | None, int | None]],
    summaries: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """One event per object, as one statement (a list page showing many member records, a batch of
    workflow tasks).

    `objects` holds (object_id, plan_id, member_id) per event, `summaries` (if given) one summary
    per event; everything else is shared. The per-event columns travel as arrays that PostgreSQL
    unnests: no row objects in Python.
    """
    if not objects:
        return 0
    if summaries is not None and len(summaries) != len(objects):
        raise ValueError("record_many: one summary per object")
    shared = _event(actor=actor, action=action, object_type=object_type, detail=detail)
    object_ids, plan_ids, member_ids = (list(column) for column in zip(*objects, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO core_auditevent (actor_id, actor_label, organization_id, action, object_type, summary,
                                         detail, request_id, object_id, plan_id, member_id)
            SELECT %s, %s, %s, %s, %s, s, %s::jsonb, %s, o, p, m
            FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[]) AS t(o, p, m, s)
            """,
            [
                shared.actor_id,
                shared.actor_label,
                shared.organization_id,
                action,
                object_type,
                json.dumps(shared.detail),
                shared.request_id,
                [str(o) for o in object_ids],
                plan_ids,
                member_ids,
                [s[:300] for s in summaries] if summaries is not None else [""] * len(objects),
            ],
        )
    return len(objects)
