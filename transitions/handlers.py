"""Deadline handlers for transition episodes (loaded by core.apps at start-up)."""

from core import deadlines
from core.models import Deadline
from transitions import episodes


@deadlines.handler("transitions.step_due", label="Transition step due", batch=True)
def step_due(batch: list[Deadline]) -> set[int]:
    """Returns the deadlines whose steps were busy (tried again on the next sweep)."""
    busy = episodes.steps_due(step_ids=[deadline.payload["step_id"] for deadline in batch])
    return {deadline.pk for deadline in batch if deadline.payload["step_id"] in busy}


@deadlines.handler("transitions.step_escalate", label="Transition step escalated")
def step_escalate(deadline: Deadline) -> None:
    episodes.step_escalate(step_id=deadline.payload["step_id"])


@deadlines.handler("transitions.episode_close", label="Transition episode window ends")
def episode_close(deadline: Deadline) -> None:
    episodes.episode_close(episode_id=deadline.payload["episode_id"])
