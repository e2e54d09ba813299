"""The inbox and its email: one service to notify people, one deadline kind to email them.

Emails carry no member information (they cross systems we do not control): a generic line and a
link to the inbox, where the person signs in to read the notice. Email is at-least-once: a worker
that dies between sending and committing sends again rather than losing a notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import deadlines
from core.models import Notification


@dataclass(frozen=True)
class Notice:
    """One notice for some people: what `notify()` takes, for `notify_many()`."""

    recipients: Iterable[Any]
    kind: str
    title: str
    body: str = ""
    url: str = ""
    plan_id: int | None = None
    email: bool = False
    dedupe_key: str | None = None


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
    return notify_many(
        [Notice(recipients, kind, title, body=body, url=url, plan_id=plan_id, email=email, dedupe_key=dedupe_key)]
    )


@transaction.atomic(savepoint=False)  # all or nothing with the caller: no SAVEPOINT round trips
def notify_many(notices: Iterable[Notice]) -> list[Notification]:
    """`notify()` for many notices in a fixed number of statements (a batch of deadlines): one
    read of the dedupe keys already used, one INSERT of the notices, one of their email deadlines."""
    rows: list[Notification] = []
    keys: set[str] = set()
    for notice in notices:
        for user in {u.pk: u for u in notice.recipients if u is not None and u.is_active}.values():
            key = f"{notice.dedupe_key}:{user.pk}" if notice.dedupe_key else None
            if key in keys:
                continue  # the same notice twice in one batch
            if key is not None:
                keys.add(key)
            rows.append(
                Notification(
                    recipient=user,
                    kind=notice.kind,
                    title=notice.title[:200],
                    body=notice.body,
                    url=notice.url,
                    plan_id=notice.plan_id,
                    email_wanted=notice.email and bool(user.email),
                    dedupe_key=key,
                )
            )
    if keys:
        used = set(Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
        rows = [n for n in rows if n.dedupe_key not in used]
    created = Notification.objects.bulk_create(rows)
    now = timezone.now()
    deadlines.schedule_many(
        [
            {
                "kind": "notification.email",
                "key": f"notification-email:{n.pk}",
                "due_at": now,
                "plan_id": n.plan_id,
                "payload": {"notification_id": n.pk},
            }
            for n in created
            if n.email_wanted
        ]
    )
    return created


@transaction.atomic
def email_address(*, to: str, kind: str, plan_id: int | None, dedupe_key: str, subject: str = "") -> None:
    """Email someone by address (a partner's point of contact without an account, a digest). The
    subject may say what kind of notice it is; neither it nor the body names a member."""
    deadlines.schedule(
        **email_address_deadline(to=to, kind=kind, plan_id=plan_id, dedupe_key=dedupe_key, subject=subject)
    )


def email_address_deadline(*, to: str, kind: str, plan_id: int | None, dedupe_key: str, subject: str = "") -> dict:
    """The deadline `email_address()` schedules, as a spec for `deadlines.schedule_many()`."""
    return {
        "kind": "notification.email",
        "key": f"contact-email:{dedupe_key}",
        "due_at": timezone.now(),
        "plan_id": plan_id,
        "payload": {"to": to, "kind": kind, "subject": subject},
    }
