"""Deadline handlers of the shared kernel (loaded by core.apps at start-up)."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from core import deadlines
from core.models import Deadline, Notification


@deadlines.handler("notification.email", label="Send a notice by email")
def send_notification_email(deadline: Deadline) -> None:
    payload = deadline.payload
    if "notification_id" in payload:
        notification = Notification.objects.select_related("recipient").get(pk=payload["notification_id"])
        if notification.emailed_at is not None:
            return
        to, link = notification.recipient.email, settings.SITE_URL + reverse("inbox")
    else:
        notification, to, link = None, payload["to"], settings.SITE_URL + reverse("login")
    send_mail(
        subject=payload.get("subject") or "CareCoord: you have a new notice",
        message=(
            "You have a new notice in CareCoord.\n\n"
            f"Sign in to read it: {link}\n\n"
            "This email carries no member information on purpose."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[to],
    )
    if notification is not None:
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
