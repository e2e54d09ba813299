"""Every write to member data. Keyword-only, atomic, permission-checked, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core import audit, deadlines
from members import roster
from members.models import CareTeamMember, Member, ReleaseOfInformation, RosterImport, age_on
from organizations.access import Actor
from organizations.models import Organization, Partnership, User

logger = logging.getLogger(__name__)

MEMBER_EDITABLE = (
    "first_name",
    "middle_name",
    "last_name",
    "preferred_language",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
)


def _audit_member(actor: Actor, member: Member, action: str, summary: str, **detail: Any) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="member",
        object_id=member.public_id,
        plan_id=member.plan_id,
        member_id=member.pk,
        summary=summary,
        detail=detail,
    )


@transaction.atomic
def member_update(*, actor: Actor, member: Member, changes: dict[str, Any]) -> Member:
    """Change demographics and contact details (plan staff). Unknown fields are refused."""
    actor.require("organizations.change_members")
    unknown = set(changes) - set(MEMBER_EDITABLE)
    if unknown:
        raise ValidationError({name: "cannot be changed here" for name in sorted(unknown)})
    member = Member.objects.select_for_update().get(pk=member.pk)
    changed = sorted(name for name, value in changes.items() if getattr(member, name) != value)
    if not changed:
        return member
    for name in changed:
        setattr(member, name, changes[name])
    member.full_clean(exclude=["plan", "search_name"])
    member.updated_at = timezone.now()
    member.save(update_fields=[*changed, "updated_at"])
    _audit_member(actor, member, audit.Action.UPDATE, "Demographics changed", fields=changed)
    return member


@transaction.atomic
def care_team_add(
    *,
    actor: Actor,
    member: Member,
    role: str,
    name: str,
    organization: Organization | None = None,
    user: User | None = None,
    specialty: str = "",
    phone: str = "",
    email: str = "",
    is_point_of_contact: bool = False,
    start_date: dt.date | None = None,
) -> CareTeamMember:
    actor.require("organizations.manage_care_team")
    Member.objects.select_for_update().get(pk=member.pk)  # serialize point-of-contact changes
    if not (phone or email or organization or user):
        raise ValidationError({"phone": "Give a phone number, an email, an organization or a staff member."})
    if is_point_of_contact:
        _clear_point_of_contact(member)
    entry = CareTeamMember(
        member=member,
        plan_id=member.plan_id,
        role=role,
        name=name,
        organization=organization,
        user=user,
        specialty=specialty,
        phone=phone,
        email=email,
        is_point_of_contact=is_point_of_contact,
        start_date=start_date or member.plan.local_date(),
    )
    entry.full_clean()
    entry.save()
    _audit_member(
        actor,
        member,
        audit.Action.CREATE,
        f"Care team: added {name} ({entry.get_role_display()})",
        care_team_member=str(entry.public_id),
    )
    return entry


def _clear_point_of_contact(member: Member) -> None:
    CareTeamMember.objects.filter(member=member, is_point_of_contact=True, end_date__isnull=True).update(
        is_point_of_contact=False
    )


@transaction.atomic
def care_team_set_point_of_contact(*, actor: Actor, entry: CareTeamMember) -> CareTeamMember:
    actor.require("organizations.manage_care_team")
    member = Member.objects.select_for_update().get(pk=entry.member_id)
    entry = CareTeamMember.objects.get(pk=entry.pk)  # re-read under the member's lock
    if entry.end_date is not None:
        raise ValidationError("An ended care team entry cannot be the point of contact.")
    _clear_point_of_contact(member)
    CareTeamMember.objects.filter(pk=entry.pk).update(is_point_of_contact=True)
    entry.refresh_from_db()
    _audit_member(
        actor,
        member,
        audit.Action.UPDATE,
        f"Care team: {entry.name} is the point of contact",
        care_team_member=str(entry.public_id),
    )
    return entry


@transaction.atomic
def care_team_end(*, actor: Actor, entry: CareTeamMember, end_date: dt.date, reason: str) -> CareTeamMember:
    actor.require("organizations.manage_care_team")
    Member.objects.select_for_update().get(pk=entry.member_id)  # serialize with point-of-contact changes
    entry = CareTeamMember.objects.select_related("member").get(pk=entry.pk)
    if entry.end_date is not None:
        raise ValidationError("This care team entry has already ended.")
    if end_date < entry.start_date:
        raise ValidationError({"end_date": "cannot be before the start date"})
    if not reason.strip():
        raise ValidationError({"reason": "is required"})
    entry.end_date, entry.end_reason, entry.is_point_of_contact = end_date, reason.strip(), False
    entry.save(update_fields=["end_date", "end_reason", "is_point_of_contact"])
    _audit_member(
        actor,
        entry.member,
        audit.Action.UPDATE,
        f"Care team: ended {entry.name}",
        care_team_member=str(entry.public_id),
        reason=entry.end_reason,
    )
    return entry


@transaction.atomic
def release_record(
    *,
    actor: Actor,
    member: Member,
    recipient_kind: str,
    recipient_name: str,
    purposes: list[str],
    signed_by: str,
    signer_name: str,
    signed_on: dt.date,
    effective_from: dt.date | None = None,
    expires_on: dt.date | None = None,
    recipient_organization: Organization | None = None,
    includes_substance_use: bool = False,
) -> ReleaseOfInformation:
    """Record a release of information signed by the member or their guardian."""
    actor.require("organizations.manage_consents")
    errors: dict[str, str] = {}
    if signed_on > member.plan.local_date():
        errors["signed_on"] = "cannot be in the future"
    age_at_signing = age_on(member.date_of_birth, signed_on)
    if signed_by == ReleaseOfInformation.Signer.MEMBER and age_at_signing < 18:
        errors["signed_by"] = f"the member was {age_at_signing} when this was signed; a guardian must sign"
    if not purposes:
        errors["purposes"] = "choose at least one purpose"
    if errors:
        raise ValidationError(errors)
    release = ReleaseOfInformation(
        member=member,
        plan_id=member.plan_id,
        recipient_kind=recipient_kind,
        recipient_organization=recipient_organization,
        recipient_name=recipient_name,
        purposes=sorted(set(purposes)),
        includes_substance_use=includes_substance_use,
        signed_by=signed_by,
        signer_name=signer_name,
        signed_on=signed_on,
        effective_from=effective_from or signed_on,
        expires_on=expires_on,
        recorded_by=actor.user,
    )
    release.full_clean()
    release.save()
    _audit_member(
        actor,
        member,
        audit.Action.CREATE,
        f"Release of information to {recipient_name}",
        release=str(release.public_id),
        purposes=release.purposes,
        substance_use=includes_substance_use,
    )
    return release


@transaction.atomic
def release_revoke(*, actor: Actor, release: ReleaseOfInformation, reason: str) -> ReleaseOfInformation:
    """Revocation takes effect at once: coverage checks read revoked_at."""
    actor.require("organizations.manage_consents")
    release = ReleaseOfInformation.objects.select_for_update().select_related("member").get(pk=release.pk)
    if release.revoked_at is not None:
        raise ValidationError("This release was already revoked.")
    if not reason.strip():
        raise ValidationError({"reason": "is required"})
    release.revoked_at, release.revoked_by, release.revocation_reason = timezone.now(), actor.user, reason.strip()
    release.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
    _audit_member(
        actor,
        release.member,
        audit.Action.UPDATE,
        f"Release to {release.recipient_name} revoked",
        release=str(release.public_id),
        reason=release.revocation_reason,
    )
    return release


def has_care_coordination_consent(*, member: Member) -> bool:
    """A release in force for care coordination, to anyone: the seed-004 condition for outreach
    ("a release of information must be signed by the member or their guardian prior to any
    outreach")."""
    return (
        ReleaseOfInformation.objects.filter(member=member)
        .in_force()
        .filter(purposes__contains=[ReleaseOfInformation.Purpose.CARE_COORDINATION])
        .exists()
    )


@transaction.atomic
def care_team_set_care_manager(*, actor: Actor, member: Member, user: User) -> CareTeamMember:
    """Make `user` the member's plan care manager and designated point of contact (the single
    point of contact, seed 001), ending the previous care manager's place on the team."""
    Member.objects.select_for_update().get(pk=member.pk)
    today = member.plan.local_date()
    current = CareTeamMember.objects.filter(member=member, role=CareTeamMember.Role.CARE_MANAGER, end_date__isnull=True)
    for entry in current.exclude(user=user):
        entry.end_date = max(today, entry.start_date)
        entry.end_reason = f"Care manager changed to {user}"
        entry.is_point_of_contact = False
        entry.save(update_fields=["end_date", "end_reason", "is_point_of_contact"])
    entry = current.filter(user=user).first()
    _clear_point_of_contact(member)
    if entry is None:
        entry = CareTeamMember.objects.create(
            member=member,
            plan_id=member.plan_id,
            role=CareTeamMember.Role.CARE_MANAGER,
            name=user.get_full_name() or user.username,
            user=user,
            phone=user.phone,
            email=user.email,
            is_point_of_contact=True,
            start_date=today,
        )
    else:
        CareTeamMember.objects.filter(pk=entry.pk).update(is_point_of_contact=True)
    _audit_member(
        actor,
        member,
        audit.Action.UPDATE,
        f"Care manager: {entry.name}, the point of contact",
        care_team_member=str(entry.public_id),
    )
    return entry


@transaction.atomic
def care_team_release_care_manager(*, actor: Actor, member: Member, user: User, reason: str) -> bool:
    """End `user`'s place as the member's plan care manager (a referral closed without
    enrollment). True if there was one to end."""
    Member.objects.select_for_update().get(pk=member.pk)
    entry = CareTeamMember.objects.filter(
        member=member, role=CareTeamMember.Role.CARE_MANAGER, user=user, end_date__isnull=True
    ).first()
    if entry is None:
        return False
    entry.end_date = max(member.plan.local_date(), entry.start_date)
    entry.end_reason, entry.is_point_of_contact = reason[:200], False
    entry.save(update_fields=["end_date", "end_reason", "is_point_of_contact"])
    _audit_member(actor, member, audit.Action.UPDATE, f"Care team: ended {entry.name}", reason=entry.end_reason)
    return True


def consent_covers(*, member: Member, organization: Organization, purpose: str, substance_use: bool = False) -> bool:
    """Whether a release in force today lets the plan share with `organization` for `purpose`."""
    return (
        ReleaseOfInformation.objects.filter(member=member)
        .covering(organization_id=organization.pk, purpose=purpose, substance_use=substance_use)
        .exists()
    )


# Roster import ---------------------------------------------------------------------------------


def progress_key(roster_import: RosterImport) -> str:
    return f"roster-import-progress:{roster_import.pk}"


@transaction.atomic
def roster_import_start(*, actor: Actor, upload: UploadedFile) -> RosterImport:
    """Store the uploaded file and queue its import (a durable deadline, due now)."""
    actor.require("organizations.import_roster")
    if upload.size > settings.ROSTER_IMPORT_MAX_BYTES:
        raise ValidationError({"file": f"is larger than {settings.ROSTER_IMPORT_MAX_BYTES // (1024 * 1024)} MB"})
    if upload.size == 0:
        raise ValidationError({"file": "is empty"})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    roster_import = RosterImport(
        plan=actor.organization,
        uploaded_by=actor.user,
        original_name=upload.name[:255],
        sha256=digest.hexdigest(),
        size_bytes=upload.size,
    )
    roster_import.file.save(f"{roster_import.public_id}.csv", upload, save=False)
    roster_import.save()
    deadlines.schedule(
        kind="roster.import",
        key=f"roster-import:{roster_import.pk}",
        due_at=timezone.now(),
        plan_id=roster_import.plan_id,
        payload={"import_id": roster_import.pk},
    )
    audit.record(
        actor=actor,
        action=audit.Action.IMPORT,
        object_type="roster_import",
        object_id=roster_import.public_id,
        plan_id=roster_import.plan_id,
        summary=f"Uploaded {roster_import.original_name}",
        detail={"sha256": roster_import.sha256, "bytes": roster_import.size_bytes},
    )
    return roster_import


def roster_import_run(*, import_id: int) -> RosterImport:
    """Run one import to its end. Safe to call again: a finished import is left alone, and an
    unfinished one (its worker died) starts over, since nothing of it was committed."""
    roster_import = RosterImport.objects.select_related("plan", "uploaded_by").get(pk=import_id)
    if roster_import.is_finished:
        return roster_import
    uploader = roster_import.uploaded_by
    practices = dict(
        Partnership.objects.active()
        .filter(plan_id=roster_import.plan_id)
        .exclude(practice__npi="")
        .values_list("practice__npi", "practice_id")
    )
    with roster_import.file.open("rb") as handle:
        total = max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)
    RosterImport.objects.filter(pk=import_id).update(
        status=RosterImport.Status.VALIDATING, started_at=timezone.now(), total_rows=total, processed_rows=0
    )

    def progress(rows: int, phase: str) -> None:
        cache.set(progress_key(roster_import), {"rows": rows, "phase": phase}, timeout=3600)

    def finish(result: roster.Result, **outcome: Any) -> None:
        RosterImport.objects.filter(pk=import_id).update(
            total_rows=result.total_rows,
            processed_rows=result.total_rows,
            error_count=result.error_count,
            errors=[e.as_dict() for e in result.errors],
            finished_at=timezone.now(),
            **outcome,
        )

    def applied(result: roster.Result) -> None:
        # Inside the import's transaction: the members and the "succeeded" mark commit together.
        finish(
            result,
            status=RosterImport.Status.SUCCEEDED,
            created_count=result.created,
            updated_count=result.updated,
            unchanged_count=result.unchanged,
        )

    try:
        with roster_import.file.open("rb") as handle:
            roster.load(
                handle,
                plan_id=roster_import.plan_id,
                practices_by_npi=practices,
                actor_id=uploader.pk,
                actor_label=uploader.get_username(),
                organization_id=uploader.organization_id,
                import_public_id=str(roster_import.public_id),
                today=roster_import.plan.local_date(),
                on_progress=progress,
                on_applied=applied,
            )
    except roster.Rejected as rejected:
        finish(
            rejected.result,
            status=RosterImport.Status.REJECTED,
            message=f"{rejected.result.error_count} problem(s) found; nothing was applied.",
        )
    cache.delete(progress_key(roster_import))
    roster_import.refresh_from_db()
    return roster_import


def roster_import_fail(*, import_id: int, message: str) -> None:
    RosterImport.objects.filter(pk=import_id).exclude(status__in=RosterImport.FINISHED).update(
        status=RosterImport.Status.FAILED, message=message[:500], finished_at=timezone.now()
    )
