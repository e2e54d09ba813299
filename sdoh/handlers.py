"""Deadline handlers for social needs (loaded by core.apps at start-up)."""

from core import deadlines
from core.models import Deadline
from sdoh import services


@deadlines.handler("sdoh.rescreen", label="Social-needs re-screen due")
def rescreen_due(deadline: Deadline) -> None:
    services.rescreen_due(**deadline.payload)


@deadlines.handler("sdoh.referral_response", label="Community referral unanswered")
def referral_response_due(deadline: Deadline) -> None:
    services.social_referral_escalate(referral_id=deadline.payload["referral_id"], dedupe_key=deadline.key)
