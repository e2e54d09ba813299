"""Deadline handlers of the shared kernel (loaded by core.apps at start-up)."""

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import timezone

from core import deadlines
from core.models import Deadline, Notification

DEFAULT_SUBJECT = "CareCoord: you have a new notice"


@deadlines.handler("notification.email", label="Send a notice by email", batch=True)
def send_notification_emails(batch: list[Deadline]) -> None:
    """One email per deadline, all sent over one connection to the mail server. A notice already
    emailed is skipped. If sending fails part-way the batch is rolled back and its deadlines
    retried one by one, so some recipients may get a notice twice: email is at-least-once."""
    notification_ids = [d.payload["notification_id"] for d in batch if "notification_id" in d.payload]
    notifications = Notification.objects.select_related("recipient").in_bulk(notification_ids)
    messages, emailed = [], []
    for deadline in batch:
        payload = deadline.payload
        if "notification_id" in payload:
            notification = notifications.get(payload["notification_id"])
            if notification is None or notification.emailed_at is not None:
                continue
            to, link = notification.recipient.email, settings.SITE_URL + reverse("inbox")
            emailed.append(notification.pk)
        else:
            to, link = payload["to"], settings.SITE_URL + reverse("login")
        messages.append(
            EmailMessage(
                subject=payload.get("subject") or DEFAULT_SUBJECT,
                body=(
                    "You have a new notice in CareCoord.\n\n"
                    f"Sign in to read it: {link}\n\n"
                    "This email carries no member information on purpose."
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[to],
            )
        )
    if messages:
        with get_connection() as connection:
            connection.send_messages(messages)
    if emailed:
        Notification.objects.filter(pk__in=emailed).update(emailed_at=timezone.now())
