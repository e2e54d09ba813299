"""Deadline handlers for referrals (loaded by core.apps at start-up)."""

import datetime as dt

from django.urls import reverse

from core import deadlines, notifications
from core.models import Deadline
from organizations.models import Role, User
from referrals import services
from referrals.models import Referral, ReferralEvent


@deadlines.handler("referral.step_due", label="Referral step due")
def referral_step_due(deadline: Deadline) -> None:
    """A step's time is up. If it is still owed, say so on the timeline, count it, and tell the
    plan's supervisors; the queue shows it overdue until the step is done."""
    step = deadline.payload["step"]
    referral = Referral.objects.select_related("member").get(pk=deadline.payload["referral_id"])
    if referral.status not in services.STEP_OWED[step]:
        return
    if step == "first_outreach" and referral.attempts.exists():
        return
    due = dt.datetime.fromisoformat(deadline.payload["due_at"])
    label = services.STEP_LABELS[step]
    ReferralEvent.objects.create(
        referral=referral,
        plan_id=referral.plan_id,
        kind=ReferralEvent.Kind.DEADLINE_MISSED,
        reason=f"{label} was due {due:%b %-d, %H:%M}",
    )
    Referral.objects.filter(pk=referral.pk).update(missed_deadlines=referral.missed_deadlines + 1)
    supervisors = User.objects.filter(organization_id=referral.plan_id, role=Role.SUPERVISOR, is_active=True)
    notifications.notify(
        recipients=supervisors,
        kind="referral.overdue",
        title=f"Overdue: {label.lower()} for {referral.member.full_name}",
        url=reverse("referral-detail", args=[referral.public_id]),
        plan_id=referral.plan_id,
        email=True,
        dedupe_key=deadline.key,
    )


@deadlines.handler("referral.digest", label="Daily referral email")
def referral_digest(deadline: Deadline) -> None:
    services.digest_email_for(**deadline.payload)
