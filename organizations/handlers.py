"""Deadline handlers for partnerships (loaded by core.apps at start-up)."""

import datetime as dt

from django.urls import reverse

from core import deadlines, notifications
from core.models import Deadline
from organizations.models import Partnership, Role, User


@deadlines.handler("partnership.review_reminder", label="Partnership annual review")
def partnership_review_reminder(deadline: Deadline) -> None:
    """Remind both sides' points of contact (and the plan's admins) that the annual review of
    roles and responsibilities is coming up, or is due today."""
    partnership = Partnership.objects.select_related("plan", "practice").get(pk=deadline.payload["partnership_id"])
    review_on = dt.date.fromisoformat(deadline.payload["review_on"])
    if partnership.status != Partnership.Status.ACTIVE or partnership.next_review_on != review_on:
        return  # ended, or reviewed since: the reminder is moot
    due = deadline.payload["stage"] == "due"
    title = (
        f"Partnership review due today: {partnership.plan} – {partnership.practice}"
        if due
        else f"Partnership review by {review_on:%b %-d, %Y}: {partnership.plan} – {partnership.practice}"
    )
    contacts = list(partnership.contacts.all())
    recipients = [c.user for c in contacts if c.user is not None]
    recipients += list(User.objects.filter(organization=partnership.plan, role=Role.PLAN_ADMIN, is_active=True))
    notifications.notify(
        recipients=recipients,
        kind="partnership.review",
        title=title,
        body="Roles and responsibilities are reviewed at least annually or when processes change.",
        url=reverse("partnership-detail", args=[partnership.public_id]),
        plan_id=partnership.plan_id,
        email=True,
        dedupe_key=deadline.key,
    )
    for contact in contacts:
        if contact.user is None and contact.email:
            notifications.email_address(
                to=contact.email,
                kind="partnership.review",
                plan_id=partnership.plan_id,
                dedupe_key=f"{deadline.key}:{contact.pk}",
            )
