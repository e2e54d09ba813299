"""Every write to organizations, staff and partnerships. Keyword-only, atomic, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit, deadlines
from core.calendar import BusinessCalendar, one_year_after
from organizations.access import Actor
from organizations.models import (
    ROLES_BY_KIND,
    Organization,
    Partnership,
    PartnershipContact,
    PartnershipReview,
    User,
)
from organizations.roles import place_in_role_group, sync_role_permissions

REVIEW_REMINDER_DAYS = 30
STAFF_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "title",
    "team",
    "phone",
    "credential",
    "languages",
    "caseload_capacity",
)


def business_calendar(plan: Organization) -> BusinessCalendar:
    return BusinessCalendar.for_timezone(plan.timezone, plan.holidays.values_list("date", flat=True))


@transaction.atomic
def organization_create(*, kind: str, name: str, **fields: Any) -> Organization:
    organization = Organization(kind=kind, name=name, **fields)
    organization.full_clean()
    organization.save()
    sync_role_permissions(organization)
    return organization


def _check_role(organization: Organization, role: str) -> None:
    if role not in ROLES_BY_KIND[organization.kind]:
        raise ValidationError({"role": f"A {organization.get_kind_display().lower()} has no role {role!r}."})


@transaction.atomic
def staff_create(
    *,
    actor: Actor,
    organization: Organization,
    username: str,
    role: str,
    password: str | None = None,
    **fields: Any,
) -> User:
    actor.require("organizations.manage_staff", on=organization)
    _check_role(organization, role)
    unknown = set(fields) - set(STAFF_FIELDS)
    if unknown:
        raise TypeError(f"Unknown staff fields: {sorted(unknown)}")
    user = User(username=username, organization=organization, role=role, **fields)
    user.set_password(password) if password else user.set_unusable_password()
    user.full_clean()
    user.save()
    place_in_role_group(user)
    audit.record(
        actor=actor,
        action=audit.Action.CREATE,
        object_type="staff",
        object_id=user.public_id,
        plan_id=organization.pk if organization.is_plan else None,
        summary=f"Added {username} as {user.get_role_display()}",
    )
    return user


@transaction.atomic
def staff_update(
    *, actor: Actor, user: User, role: str | None = None, is_active: bool | None = None, **fields: Any
) -> User:
    actor.require("organizations.manage_staff", on=user.organization)
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = [name for name, value in fields.items() if name in STAFF_FIELDS and getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    if role is not None and role != user.role:
        _check_role(user.organization, role)
        user.role = role
        changed.append("role")
    if is_active is not None and is_active != user.is_active:
        if not is_active and actor.user is not None and user.pk == actor.user.pk:
            raise ValidationError({"is_active": "You cannot deactivate your own account."})
        user.is_active = is_active
        changed.append("is_active")
    if not changed:
        return user
    user.full_clean()
    user.save()
    if "role" in changed:
        place_in_role_group(user)
    organization = user.organization
    audit.record(
        actor=actor,
        action=audit.Action.UPDATE,
        object_type="staff",
        object_id=user.public_id,
        plan_id=organization.pk if organization.is_plan else None,
        summary=f"Changed {user.username}",
        detail={"fields": sorted(changed)},
    )
    return user


def _schedule_review_deadlines(partnership: Partnership) -> None:
    calendar = business_calendar(partnership.plan)
    review_on = partnership.next_review_on
    # The key names the review round, so recording a review that keeps the same next date still
    # gets fresh reminders instead of finding the cancelled ones under the same key.
    round_ = partnership.reviews.order_by("-id").values_list("id", flat=True).first() or 0
    base = f"partnership-review:{partnership.pk}:{review_on.isoformat()}:r{round_}"
    payload = {"partnership_id": partnership.pk, "review_on": review_on.isoformat()}
    reminder_day = review_on - dt.timedelta(days=REVIEW_REMINDER_DAYS)
    deadlines.schedule(
        kind="partnership.review_reminder",
        key=f"{base}:reminder",
        due_at=max(calendar.at_opening_by(reminder_day), timezone.now()),  # 30 days' notice at least
        plan_id=partnership.plan_id,
        payload={**payload, "stage": "reminder"},
    )
    deadlines.schedule(
        kind="partnership.review_reminder",
        key=f"{base}:due",
        due_at=max(calendar.at_opening(review_on), timezone.now()),
        plan_id=partnership.plan_id,
        payload={**payload, "stage": "due"},
    )


@transaction.atomic
def partnership_create(
    *,
    actor: Actor,
    plan: Organization,
    practice: Organization,
    effective_from: dt.date,
    next_review_on: dt.date | None = None,
    agreement_summary: str = "",
) -> Partnership:
    actor.require("organizations.manage_partnerships", on=plan)
    if plan.kind != Organization.Kind.PLAN or practice.kind != Organization.Kind.PRACTICE:
        raise ValidationError("A partnership joins a health plan and a practice.")
    partnership = Partnership(
        plan=plan,
        practice=practice,
        effective_from=effective_from,
        next_review_on=next_review_on or one_year_after(effective_from),
        agreement_summary=agreement_summary,
    )
    partnership.full_clean()
    partnership.save()
    _schedule_review_deadlines(partnership)
    audit.record(
        actor=actor,
        action=audit.Action.CREATE,
        object_type="partnership",
        object_id=partnership.public_id,
        plan_id=plan.pk,
        summary=f"Partnership with {practice.name}",
    )
    return partnership


def _require_own_side(actor: Actor, partnership: Partnership, side: str) -> None:
    """Each side of a partnership edits its own points of contact only."""
    if actor.is_system:
        return
    actor.require("organizations.manage_partnerships")
    own_id = partnership.plan_id if side == PartnershipContact.Side.PLAN else partnership.practice_id
    if actor.organization is None or actor.organization.pk != own_id:
        raise PermissionDenied("You can change only your own organization's points of contact.")


@transaction.atomic
def partnership_contact_save(
    *,
    actor: Actor,
    partnership: Partnership,
    side: str,
    name: str,
    contact: PartnershipContact | None = None,
    user: User | None = None,
    title: str = "",
    phone: str = "",
    email: str = "",
    is_primary: bool = False,
) -> PartnershipContact:
    """Add or change one side's point of contact."""
    _require_own_side(actor, partnership, side)
    partnership = Partnership.objects.select_for_update().get(pk=partnership.pk)  # one primary at a time
    if contact is not None:
        contact = PartnershipContact.objects.select_for_update().get(pk=contact.pk)
        if contact.partnership_id != partnership.pk or contact.side != side:
            raise PermissionDenied("You can change only your own organization's points of contact.")
    if user is not None and user.organization_id != (
        partnership.plan_id if side == PartnershipContact.Side.PLAN else partnership.practice_id
    ):
        raise ValidationError({"user": "A point of contact must work for the organization on that side."})
    if is_primary:
        partnership.contacts.filter(side=side, is_primary=True).exclude(pk=getattr(contact, "pk", None)).update(
            is_primary=False
        )
    contact = contact or PartnershipContact(partnership=partnership, side=side)
    for field, value in {
        "name": name,
        "user": user,
        "title": title,
        "phone": phone,
        "email": email,
        "is_primary": is_primary,
    }.items():
        setattr(contact, field, value)
    contact.full_clean()
    contact.save()
    audit.record(
        actor=actor,
        action=audit.Action.UPDATE,
        object_type="partnership",
        object_id=partnership.public_id,
        plan_id=partnership.plan_id,
        summary=f"Point of contact ({side}): {name}",
    )
    return contact


@transaction.atomic
def partnership_contact_remove(*, actor: Actor, contact: PartnershipContact) -> None:
    partnership = contact.partnership
    _require_own_side(actor, partnership, contact.side)
    contact.delete()
    audit.record(
        actor=actor,
        action=audit.Action.DELETE,
        object_type="partnership",
        object_id=partnership.public_id,
        plan_id=partnership.plan_id,
        summary=f"Removed point of contact {contact.name}",
    )


@transaction.atomic
def partnership_review_record(
    *,
    actor: Actor,
    partnership: Partnership,
    reviewed_on: dt.date,
    notes: str = "",
    next_review_on: dt.date | None = None,
) -> PartnershipReview:
    """Record the annual review (seed 000) and set the next one, at most a year later."""
    actor.require("organizations.review_partnerships", on=partnership.plan)
    partnership = Partnership.objects.select_for_update().select_related("plan").get(pk=partnership.pk)
    if reviewed_on > partnership.plan.local_date():
        raise ValidationError({"reviewed_on": "A review cannot be recorded before it happens."})
    latest = one_year_after(reviewed_on)
    next_review_on = next_review_on or latest
    if not reviewed_on < next_review_on <= latest:
        raise ValidationError({"next_review_on": "The next review must come after this one and within a year."})
    review = PartnershipReview.objects.create(
        partnership=partnership,
        reviewed_on=reviewed_on,
        reviewed_by=actor.user,
        notes=notes,
        next_review_on=next_review_on,
    )
    deadlines.cancel_prefix(prefix=f"partnership-review:{partnership.pk}:")
    partnership.next_review_on = next_review_on
    partnership.save(update_fields=["next_review_on"])
    _schedule_review_deadlines(partnership)
    audit.record(
        actor=actor,
        action=audit.Action.UPDATE,
        object_type="partnership",
        object_id=partnership.public_id,
        plan_id=partnership.plan_id,
        summary=f"Annual review recorded; next by {next_review_on:%Y-%m-%d}",
    )
    return review
