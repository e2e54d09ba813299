"""The audit trail's only writer. Services call `record()` in the same transaction as the change;
read paths (pages, API, exports) call it once per response."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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


def record_many(events: Iterable[dict[str, Any]]) -> int:
    """Write several events in one INSERT (a list page that shows many member records)."""
    rows = [_event(**kwargs) for kwargs in events]
    AuditEvent.objects.bulk_create(rows)
    return len(rows)
