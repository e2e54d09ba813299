"""Deadline handlers for transition episodes (loaded by core.apps at start-up)."""

from core import deadlines
from core.models import Deadline
from transitions import episodes


@deadlines.handler("transitions.step_due", label="Transition step due")
def step_due(deadline: Deadline) -> None:
    episodes.step_due(step_id=deadline.payload["step_id"])


@deadlines.handler("transitions.step_escalate", label="Transition step escalated")
def step_escalate(deadline: Deadline) -> None:
    episodes.step_escalate(step_id=deadline.payload["step_id"])


@deadlines.handler("transitions.episode_close", label="Transition episode window ends")
def episode_close(deadline: Deadline) -> None:
    episodes.episode_close(episode_id=deadline.payload["episode_id"])
