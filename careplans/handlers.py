"""Deadline handlers for care plans (loaded by core.apps at start-up)."""

from careplans import services
from core import deadlines
from core.models import Deadline


@deadlines.handler("careplan.review_due", label="Care plan review due")
def careplan_review_due(deadline: Deadline) -> None:
    services.review_due_notify(**deadline.payload, dedupe_key=deadline.key)


@deadlines.handler("record_request.overdue", label="Request for records overdue")
def record_request_overdue(deadline: Deadline) -> None:
    services.record_request_escalate(request_id=deadline.payload["request_id"], dedupe_key=deadline.key)
