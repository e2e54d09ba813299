"""Deadline handlers for care gaps (loaded by core.apps at start-up)."""

from caregaps import services
from core import deadlines
from core.models import Deadline


@deadlines.handler("care_gap.reminders", label="Care gaps due within 30 days")
def care_gap_reminders(deadline: Deadline) -> None:
    """The plan's daily run: remind practices of gaps coming due; the next run is put on the
    clock while any gap is left to remind."""
    services.reminders_send(plan_id=deadline.payload["plan_id"])


@deadlines.handler("care_gap.practices", label="Care gaps follow attribution changes", max_attempts=10)
def care_gap_practices(deadline: Deadline) -> None:
    """The plan's nightly run: each gap's attributed practice as of the new date."""
    services.attributed_practices_nightly(plan_id=deadline.payload["plan_id"])
