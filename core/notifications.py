"""The inbox and its email: one service to notify people, one deadline kind to email them.

Emails carry no member information (they cross systems we do not control): a generic line and a
link to the inbox, where the person signs in to read the notice. Email is at-least-once: a worker
that dies between sending and committing sends again rather than losing a notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import deadlines
from core.models import Notification


@transaction.atomic
def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    plan_id: int | None = None,
    email: bool = False,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Put a notice in each recipient's inbox (once per dedupe key and person), and email it if asked."""
    created: list[Notification] = []
    for user in {u.pk: u for u in recipients if u is not None and u.is_active}.values():
        key = f"{dedupe_key}:{user.pk}" if dedupe_key else None
        if key and Notification.objects.filter(dedupe_key=key).exists():
            continue
        notification = Notification.objects.create(
            recipient=user,
            kind=kind,
            title=title[:200],
            body=body,
            url=url,
            plan_id=plan_id,
            email_wanted=email and bool(user.email),
            dedupe_key=key,
        )
        if notification.email_wanted:
            deadlines.schedule(
                kind="notification.email",
                key=f"notification-email:{notification.pk}",
                due_at=timezone.now(),
                plan_id=plan_id,
                payload={"notification_id": notification.pk},
            )
        created.append(notification)
    return created


@transaction.atomic
def email_address(*, to: str, kind: str, plan_id: int | None, dedupe_key: str, subject: str = "") -> None:
    """Email someone by address (a partner's point of contact without an account, a digest). The
    subject may say what kind of notice it is; neither it nor the body names a member."""
    deadlines.schedule(
        kind="notification.email",
        key=f"contact-email:{dedupe_key}",
        due_at=timezone.now(),
        plan_id=plan_id,
        payload={"to": to, "kind": kind, "subject": subject},
    )
