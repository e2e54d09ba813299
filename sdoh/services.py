"""Every write for social needs: recording a screening, the needs it finds, their outcomes, and
the yearly re-screen.

A screening is scored by sdoh.instruments and stored with its result in one transaction; answers
that do not fit the instrument are refused whole, each problem named by its question. Each
positive domain's need is opened on the member, or, if the member has that need open already,
the open one stands (a database rule: one open need per category). The member's next screening
is due a year later (RESCREEN_AFTER): a durable deadline that puts a task on the care manager's
worklist; a newer screening moves it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Mapping
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from caseloads.selectors import care_manager_of
from core import audit, deadlines, notifications
from core.audit import Action
from members.models import Member
from members.roster import Rejected, Result, RowError, dict_rows, parse_date
from organizations.access import Actor
from organizations.models import Organization, Role, User
from organizations.services import business_calendar
from sdoh import instruments, selectors
from sdoh.models import CommunityService, Need, Screening, SocialReferral, SocialReferralEvent

RESCREEN_AFTER = dt.timedelta(days=365)
RESCREEN_AT = dt.time(8, 0)  # plan time


def _require_member(actor: Actor, member: Member) -> Member:
    """The member as the actor may see them: 404-equivalent outside the scope."""
    if not Member.objects.visible_to(actor).filter(pk=member.pk).exists():
        raise PermissionDenied("This member is not one of yours.")
    return member


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _result_json(result: instruments.ScreeningResult) -> list[dict]:
    return [
        {
            "code": d.code,
            "title": d.title,
            "positive": d.positive,
            "score": d.score,
            "evidence": [_jsonable(e) for e in d.evidence],
        }
        for d in result.domains
    ]


def _safety_score(result: instruments.ScreeningResult) -> int | None:
    scores = [d.score for d in result.domains if d.score is not None]
    return scores[0] if scores else None


@transaction.atomic
def screening_record(
    *,
    actor: Actor,
    member: Member,
    instrument: str,
    answers: Mapping[str, Any],
    screened_on: dt.date | None = None,
    source: str = Screening.Source.FORM,
) -> Screening:
    """Score and store one screening of a member the actor may see (plan care staff or the
    member's practice). Raises ValidationError keyed by question code (nothing stored) when the
    answers do not fit; opens the needs it finds; moves the re-screen deadline."""
    actor.require("organizations.screen_members")
    _require_member(actor, member)
    plan = member.plan
    today = plan.local_date()
    screened_on = screened_on or today
    if screened_on > today:
        raise ValidationError({"screened_on": ["cannot be in the future."]})
    try:
        result = instruments.score(instrument, answers)
    except instruments.InstrumentError as exc:
        raise ValidationError({"instrument": [str(exc)]}) from None
    except instruments.AnswerError as exc:
        raise ValidationError(
            {e.question_code: [f"{e.question_text}: {e.message}" if e.question_text else e.message] for e in exc.errors}
        ) from None
    Member.objects.select_for_update().get(pk=member.pk)  # one screening of a member at a time: needs stay single
    screening = Screening.objects.create(
        plan=plan,
        member=member,
        instrument=instrument,
        screened_on=screened_on,
        source=source,
        answers={code: list(values) for code, values in result.answers.items()},
        result=_result_json(result),
        positive=bool(result.positive_domains),
        safety_score=_safety_score(result),
        entered_by=actor.user,
        entered_by_organization=actor.organization,
    )
    opened = _open_needs(member, screening, result)
    _schedule_rescreen(member, screened_on)
    audit.record(
        actor=actor,
        action=Action.CREATE,
        object_type="screening",
        object_id=screening.public_id,
        plan_id=plan.pk,
        member_id=member.pk,
        summary=f"{screening.get_instrument_display()} screening: "
        + (", ".join(n.title for n in opened) if opened else "no new needs"),
    )
    if opened and actor.is_practice_staff:
        _tell_care_manager(member, screening, opened)
    return screening


def _open_needs(member: Member, screening: Screening, result: instruments.ScreeningResult) -> list[Need]:
    """A need per category found, unless the member has that need open already."""
    have = set(Need.objects.filter(member=member, status__in=Need.STILL_OPEN).values_list("category", flat=True))
    opened = []
    for need in result.needs:
        if need.category.code in have:
            continue
        category = need.category
        try:
            with transaction.atomic():
                opened.append(
                    Need.objects.create(
                        plan_id=member.plan_id,
                        member=member,
                        screening=screening,
                        category=category.code,
                        title=category.title,
                        gravity_code=category.gravity_code or "",
                        suggested_problem=category.problem,
                        suggested_goal=category.goal,
                        evidence=[_jsonable(e) for e in need.evidence],
                    )
                )
        except IntegrityError:  # opened by someone else a moment ago: theirs stands
            continue
    return opened


def _schedule_rescreen(member: Member, screened_on: dt.date) -> None:
    deadlines.cancel_prefix(prefix=f"sdoh-rescreen:{member.pk}:")
    due = screened_on + RESCREEN_AFTER
    deadlines.schedule(
        kind="sdoh.rescreen",
        key=f"sdoh-rescreen:{member.pk}:{due.isoformat()}",
        due_at=dt.datetime.combine(due, RESCREEN_AT, tzinfo=member.plan.tz),
        plan_id=member.plan_id,
        payload={"member_id": member.pk, "last_screened_on": screened_on.isoformat()},
    )


def _tell_care_manager(member: Member, screening: Screening, opened: list[Need]) -> None:
    manager = care_manager_of(member)
    if manager is None:
        return
    notifications.notify(
        recipients=[manager],
        kind="sdoh.needs",
        title=f"{member.full_name}: social needs found by {screening.entered_by_organization.name} "
        f"({', '.join(n.title.lower() for n in opened)})",
        url=reverse("screening-detail", args=[screening.public_id]),
        plan_id=member.plan_id,
    )


def rescreen_due(*, member_id: int, last_screened_on: str) -> None:
    """A year since the last screening: a task for the member's care manager, once."""
    from caseloads import services as caseload_services

    member = Member.objects.select_related("plan").get(pk=member_id)
    latest = Screening.objects.filter(member=member).order_by("-screened_on").values_list("screened_on", flat=True)
    if latest and latest[0].isoformat() > last_screened_on:
        return  # screened again since: that screening has its own deadline
    manager = care_manager_of(member)
    if manager is None:
        return
    caseload_services.task_create(
        actor=Actor.system(),
        member=member,
        owner=manager,
        title=f"Re-screen {member.full_name} for social needs (last screened {last_screened_on})",
        due_date=member.plan.local_date() + dt.timedelta(days=14),
        origin="social_needs",
        origin_key=f"sdoh-rescreen:{member.pk}:{last_screened_on}",
    )


@transaction.atomic
def need_record_outcome(*, actor: Actor, need: Need, status: str, note: str = "") -> Need:
    """In progress, resolved or declined by the member (seed 001); a closed need needs a note."""
    actor.require("organizations.work_social_needs")
    need = Need.objects.select_for_update().get(pk=need.pk)
    if status not in Need.Status.values or status == Need.Status.OPEN:
        raise ValidationError({"status": ["Choose in progress, resolved or declined by the member."]})
    if need.status not in Need.STILL_OPEN:
        raise ValidationError({"status": [f"This need is {need.get_status_display().lower()} already."]})
    note = (note or "").strip()
    if status != Need.Status.IN_PROGRESS and not note:
        raise ValidationError({"note": ["Say what happened: the care team reads it."]})
    need.status, need.outcome_note, need.outcome_by, need.outcome_at = status, note, actor.user, timezone.now()
    need.save(update_fields=["status", "outcome_note", "outcome_by", "outcome_at"])
    audit.record(
        actor=actor,
        action=Action.UPDATE,
        object_type="social_need",
        object_id=need.public_id,
        plan_id=need.plan_id,
        member_id=need.member_id,
        summary=f"{need.title}: {need.get_status_display().lower()}",
    )
    return need


@transaction.atomic
def need_add_to_care_plan(*, actor: Actor, need: Need):
    """The suggestion becomes a social problem with its goal (in the member's words) on the
    member's care plan, started if there is none. Plan-internal until someone shares it."""
    from careplans import services as careplan_services

    actor.require("organizations.work_social_needs")
    need = Need.objects.select_for_update().select_related("member").get(pk=need.pk)
    if need.problem_id:
        raise ValidationError("This need is on the care plan already.")
    care_plan = careplan_services.careplan_start(actor=actor, member=need.member)
    problem = careplan_services.problem_save(
        actor=actor,
        care_plan=care_plan,
        values={"domain": "social", "description": need.suggested_problem, "shareable": False},
    )
    careplan_services.goal_save(
        actor=actor, care_plan=care_plan, values={"problem": problem, "member_words": need.suggested_goal}
    )
    need.problem = problem
    need.save(update_fields=["problem"])
    return problem


# The community resource directory --------------------------------------------------------------

RESOURCE_COLUMNS = (
    "organization",
    "service",
    "categories",
    "description",
    "eligibility",
    "languages",
    "hours",
    "zip_codes",
    "phone",
    "email",
    "website",
    "last_verified",
)
RESOURCE_REQUIRED = ("organization", "service", "categories", "zip_codes", "last_verified")
_ZIP = re.compile(r"^\d{5}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _split(value: str) -> list[str]:
    """Several values in one cell, separated by ';' (or '|')."""
    return [v.strip() for v in re.split(r"[;|]", value) if v.strip()]


def _resource_row(row_no: int, v: dict[str, str], today: dt.date) -> tuple[dict, list[RowError]]:
    errors = []
    for column in RESOURCE_REQUIRED:
        if not v.get(column):
            errors.append(RowError(row_no, column, "is required"))
    for column, size in (("organization", 200), ("service", 200), ("hours", 200), ("phone", 30)):
        if len(v.get(column, "")) > size:
            errors.append(RowError(row_no, column, f"is longer than {size} characters"))
    categories = _split(v.get("categories", "").lower())
    bad = [c for c in categories if c not in instruments.NEED_CATEGORIES]
    if bad:
        errors.append(
            RowError(
                row_no,
                "categories",
                f"{', '.join(bad)}: not a need category (use {', '.join(instruments.NEED_CATEGORIES)})",
            )
        )
    zips = _split(v.get("zip_codes", ""))
    if [z for z in zips if not _ZIP.match(z)]:
        errors.append(RowError(row_no, "zip_codes", "each ZIP code must be 5 digits, separated by ';'"))
    languages = _split(v.get("languages", "").lower()) or ["en"]
    if [lang for lang in languages if not _LANGUAGE.match(lang)]:
        errors.append(RowError(row_no, "languages", "use ISO 639-1 codes (en; es; vi …) separated by ';'"))
    verified = parse_date(v["last_verified"]) if v.get("last_verified") else None
    if v.get("last_verified") and verified is None:
        errors.append(RowError(row_no, "last_verified", f"{v['last_verified']!r} is not a date (YYYY-MM-DD)"))
    elif verified and verified > today:
        errors.append(RowError(row_no, "last_verified", "cannot be in the future"))
    email = v.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(RowError(row_no, "email", f"{email!r} is not an email address"))
    website = v.get("website", "")
    if website and not website.startswith(("http://", "https://")):
        errors.append(RowError(row_no, "website", "must start with http:// or https://"))
    values = {
        "organization_name": v.get("organization", ""),
        "name": v.get("service", ""),
        "categories": categories,
        "description": v.get("description", ""),
        "eligibility": v.get("eligibility", ""),
        "languages": languages,
        "hours": v.get("hours", ""),
        "zip_codes": zips,
        "phone": v.get("phone", ""),
        "email": email,
        "website": website,
        "last_verified": verified,
        "is_active": True,
    }
    return values, errors


def _directory_organizations(names: list[str]) -> dict[str, Organization]:
    """The community organizations in CareCoord that directory entries name, by lower-cased name:
    an entry is linked (takes referrals here, may be a transport vendor) only where exactly one
    community organization has that name; two of the same name link neither."""
    found: dict[str, list[Organization]] = {}
    lowered = {n.lower() for n in names if n}
    community = Organization.objects.filter(kind=Organization.Kind.COMMUNITY).annotate(lowered=Lower("name"))
    for org in community.filter(lowered__in=lowered):
        found.setdefault(org.lowered, []).append(org)
    return {name: orgs[0] for name, orgs in found.items() if len(orgs) == 1}


@transaction.atomic
def resources_import_csv(*, actor: Actor, stream: IO[bytes]) -> Result:
    """Check and apply a directory file for the actor's plan: all or nothing, every bad row
    reported (row, column, reason); a service is identified by organization and service name, so
    the same file again changes nothing. Columns: RESOURCE_COLUMNS; several categories, languages
    or ZIP codes in one cell separated by ';'."""
    actor.require("organizations.manage_resources")
    if not actor.is_plan_staff:
        raise PermissionDenied("The plan keeps its resource directory.")
    plan = actor.organization
    result = Result()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        rows = list(dict_rows(text, result, columns=RESOURCE_COLUMNS, required=RESOURCE_REQUIRED))
    except (UnicodeDecodeError, csv.Error) as exc:
        rows = []
        result.errors.append(RowError(1, "file", f"is not a readable UTF-8 CSV file ({exc})"))
    result.total_rows = len(rows)
    today = plan.local_date()
    wanted: dict[tuple[str, str], dict] = {}
    seen: dict[tuple[str, str], int] = {}
    for row_no, v in rows:
        values, errors = _resource_row(row_no, v, today)
        key = (values["organization_name"].lower(), values["name"].lower())
        if not errors and key in seen:
            errors.append(RowError(row_no, "service", f"the same organization and service is on row {seen[key]}"))
        if errors:
            result.errors.extend(errors)
            continue
        seen[key] = row_no
        wanted[key] = values
    if result.errors:
        result.error_count = len(result.errors)
        raise Rejected(result)
    existing = {
        (s.organization_name.lower(), s.name.lower()): s
        for s in CommunityService.objects.filter(plan=plan).select_for_update()
    }
    orgs = _directory_organizations([v["organization_name"] for v in wanted.values()])
    new, changed = [], []
    # A file lists services; whether an entry is shown is kept by hand (unlisting), so a file sent
    # again does not list again what plan staff took out of searches.
    fields = [f for f in next(iter(wanted.values()), {}) if f not in ("organization_name", "is_active")]
    fields.append("organization")
    for key, values in wanted.items():
        values = {**values, "organization": orgs.get(key[0])}
        service = existing.get(key)
        if service is None:
            new.append(CommunityService(plan=plan, **values))
        elif any(getattr(service, f) != values[f] for f in fields):
            for f in fields:
                setattr(service, f, values[f])
            changed.append(service)
        else:
            result.unchanged += 1
    CommunityService.objects.bulk_create(new)
    if changed:
        CommunityService.objects.bulk_update(changed, [*fields, "updated_at"])
    result.created, result.updated = len(new), len(changed)
    audit.record(
        actor=actor,
        action=Action.UPDATE,
        object_type="resource_directory",
        plan_id=plan.pk,
        summary=f"Directory import: {result.created} added, {result.updated} changed, {result.unchanged} unchanged",
    )
    return result


@transaction.atomic
def resource_save(*, actor: Actor, service: CommunityService | None, values: dict[str, str]) -> CommunityService:
    """Add a directory entry or change one (plan staff), by the same rules as a directory file's
    row: `values` are its columns (RESOURCE_COLUMNS; several values separated by ';'), plus
    "is_active" ("on" keeps the entry in searches). Errors name the column."""
    actor.require("organizations.manage_resources")
    if not actor.is_plan_staff or (service is not None and service.plan_id != actor.organization.pk):
        raise PermissionDenied("The plan keeps its resource directory.")
    plan = actor.organization
    row = {column: (values.get(column) or "").strip() for column in RESOURCE_COLUMNS}
    fields, errors = _resource_row(0, row, plan.local_date())
    problems: dict[str, list[str]] = {}
    for error in errors:
        problems.setdefault(error.field, []).append(error.message)
    same = CommunityService.objects.filter(
        plan=plan, organization_name__iexact=fields["organization_name"], name__iexact=fields["name"]
    )
    if service is not None:
        same = same.exclude(pk=service.pk)
    if not problems and same.exists():
        problems["service"] = [f"{fields['organization_name']} already lists a service by this name."]
    if problems:
        raise ValidationError(problems)
    fields["is_active"] = values.get("is_active") in (True, "on", "true", "1")
    fields["organization"] = _directory_organizations([fields["organization_name"]]).get(
        fields["organization_name"].lower()
    )
    created = service is None
    if created:
        service = CommunityService(plan=plan)
    for name, value in fields.items():
        setattr(service, name, value)
    service.save()
    audit.record(
        actor=actor,
        action=Action.CREATE if created else Action.UPDATE,
        object_type="community_service",
        object_id=service.public_id,
        plan_id=plan.pk,
        summary=f"Directory entry {'added' if created else 'changed'}: {service.name} ({service.organization_name})",
    )
    return service


@transaction.atomic
def resource_verify(*, actor: Actor, service: CommunityService) -> CommunityService:
    """Plan staff checked the entry is still right today."""
    actor.require("organizations.manage_resources")
    if service.plan_id != actor.organization.pk:
        raise PermissionDenied("The plan keeps its resource directory.")
    service.last_verified = actor.organization.local_date()
    service.save(update_fields=["last_verified", "updated_at"])
    return service


# Closed-loop social referrals -----------------------------------------------------------------

RESPOND_WITHIN_BUSINESS_DAYS = 5
# Who moves a referral where: the organization answers, the plan cancels while it is open.
ORG_MOVES = {
    SocialReferral.Status.REQUESTED: {
        SocialReferral.Status.RECEIVED,
        SocialReferral.Status.ACCEPTED,
        SocialReferral.Status.REJECTED,
    },
    SocialReferral.Status.RECEIVED: {SocialReferral.Status.ACCEPTED, SocialReferral.Status.REJECTED},
    SocialReferral.Status.ACCEPTED: {SocialReferral.Status.COMPLETED, SocialReferral.Status.FAILED},
}


def consent_covers(member: Member, organization: Organization) -> bool:
    """A release in force names the organization for social services (seed 004: share only where
    the member agreed)."""
    from members.models import ReleaseOfInformation

    return (
        ReleaseOfInformation.objects.filter(member=member)
        .covering(organization_id=organization.pk, purpose=ReleaseOfInformation.Purpose.SOCIAL_SERVICES)
        .exists()
    )


def _practice_shared(member: Member) -> Organization | None:
    """The member's practice today, if a release in force covers it for care coordination."""
    from members.models import Attribution, ReleaseOfInformation
    from members.querysets import current_on

    attribution = (
        Attribution.objects.filter(current_on(member.plan.local_date()), member=member)
        .select_related("practice")
        .first()
    )
    if attribution is None:
        return None
    covered = (
        ReleaseOfInformation.objects.filter(member=member)
        .covering(organization_id=attribution.practice_id, purpose=ReleaseOfInformation.Purpose.CARE_COORDINATION)
        .exists()
    )
    return attribution.practice if covered else None


def _event(referral: SocialReferral, actor: Actor, before: str, after: str, note: str = "") -> None:
    SocialReferralEvent.objects.create(
        referral=referral,
        actor_label=str(actor.user) if actor.user is not None else "CareCoord",
        actor_organization=actor.organization.name if actor.organization is not None else "",
        from_status=before,
        to_status=after,
        note=note,
    )


def _tell(referral: SocialReferral, title: str, *, email: bool = False, dedupe_key: str | None = None) -> None:
    """Each change returns to whoever referred and the member's care manager and, where shared,
    the practice."""
    from organizations.selectors import practice_contacts_of

    url = reverse("social-referral-detail", args=[referral.public_id])
    manager = care_manager_of(referral.member)  # the member's care manager hears, whoever referred
    recipients = [referral.requested_by, *([manager] if manager and manager.pk != referral.requested_by_id else [])]
    if referral.share_with_practice:
        practice = _practice_shared(referral.member)
        if practice is not None:
            recipients += [
                c.user
                for contacts in practice_contacts_of({(referral.plan_id, practice.pk)}).values()
                for c in contacts
                if c.user is not None
            ]
    notifications.notify(
        recipients=recipients,
        kind="sdoh.referral",
        title=title,
        url=url,
        plan_id=referral.plan_id,
        email=email,
        dedupe_key=dedupe_key,
    )


@transaction.atomic
def social_referral_create(
    *,
    actor: Actor,
    member: Member,
    organization: Organization,
    request_note: str,
    need: Need | None = None,
    service: CommunityService | None = None,
    kind: str = SocialReferral.Kind.SERVICE,
    pickup: str = "",
    share_with_practice: bool = False,
) -> SocialReferral:
    """Refer a member to a community organization (care manager or member advocate), only where a
    release in force covers sharing with it; the organization has 5 business days to answer."""
    actor.require("organizations.make_social_referrals")
    if not actor.is_plan_staff or member.plan_id != actor.organization.pk:
        raise PermissionDenied("The member's plan makes social referrals.")
    errors: dict[str, list[str]] = {}
    if organization.kind != Organization.Kind.COMMUNITY:
        errors["organization"] = ["must be a community organization."]
    elif not consent_covers(member, organization):
        errors["organization"] = [
            f"No release in force lets {member.full_name}'s information go to {organization.name} for social "
            "services. Record the member's consent first."
        ]
    if not (request_note or "").strip():
        errors["request_note"] = ["Say what the member needs."]
    if kind == SocialReferral.Kind.TRANSPORT:
        if not pickup.strip():
            errors["pickup"] = ["A ride needs where from, where to and when."]
        vendors = selectors.transport_vendors(member.plan_id)
        if "organization" not in errors and not vendors.filter(pk=organization.pk).exists():
            errors["organization"] = [
                f"{organization.name} is not a transport vendor: the directory lists no transportation service of it."
            ]
    if need is not None and need.member_id != member.pk:
        errors["need"] = ["is another member's."]
    if service is not None and service.organization_id not in (None, organization.pk):
        errors["service"] = ["is another organization's service."]
    if share_with_practice and _practice_shared(member) is None:
        errors["share_with_practice"] = ["No release in force covers the member's practice for care coordination."]
    if errors:
        raise ValidationError(errors)
    referral = SocialReferral.objects.create(
        plan_id=member.plan_id,
        member=member,
        need=need,
        organization=organization,
        service=service,
        kind=kind,
        request_note=request_note.strip(),
        pickup=pickup.strip(),
        share_with_practice=share_with_practice,
        requested_by=actor.user,
    )
    _event(referral, actor, "", SocialReferral.Status.REQUESTED, referral.request_note)
    if need is not None and need.status == Need.Status.OPEN:
        Need.objects.filter(pk=need.pk).update(status=Need.Status.IN_PROGRESS)
    due = business_calendar(member.plan).add_business_days(timezone.now(), RESPOND_WITHIN_BUSINESS_DAYS)
    deadlines.schedule(
        kind="sdoh.referral_response",
        key=f"social-referral:{referral.pk}:response",
        due_at=due,
        plan_id=member.plan_id,
        payload={"referral_id": referral.pk},
    )
    _tell_organization(
        referral,
        f"New {referral.get_kind_display().lower()} referral from {member.plan.name}",
        dedupe_key=f"social-referral-in:{referral.pk}",
        email=True,
    )
    _audit(actor, referral, Action.CREATE, f"Referred to {organization.name}")
    return referral


def _tell_organization(referral: SocialReferral, title: str, *, dedupe_key: str, email: bool = False) -> None:
    """The receiving organization's staff hear (no member named in the title)."""
    notifications.notify(
        recipients=list(User.objects.filter(organization_id=referral.organization_id, is_active=True)),
        kind="sdoh.referral_in",
        title=title,
        url=reverse("social-referral-detail", args=[referral.public_id]),
        plan_id=referral.plan_id,
        email=email,
        dedupe_key=dedupe_key,
    )


def _audit(actor: Actor, referral: SocialReferral, action: str, summary: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="social_referral",
        object_id=referral.public_id,
        plan_id=referral.plan_id,
        member_id=referral.member_id,
        summary=summary,
    )


def _org_may(actor: Actor, referral: SocialReferral) -> None:
    actor.require("organizations.answer_social_referrals")
    if actor.organization is None or actor.organization.pk != referral.organization_id:
        raise PermissionDenied("Only the organization the referral was sent to answers it.")


@transaction.atomic
def social_referral_move(*, actor: Actor, referral: SocialReferral, to: str, reason: str = "") -> SocialReferral:
    """The organization's answer: received (opened), accepted, declined (with a reason), service
    delivered or not (with what happened)."""
    _org_may(actor, referral)
    referral = SocialReferral.objects.select_for_update().select_related("member", "organization").get(pk=referral.pk)
    if to not in ORG_MOVES.get(referral.status, set()):
        raise ValidationError(
            {
                "status": [
                    f"The referral is {referral.get_status_display().lower()}; it cannot become "
                    f"{SocialReferral.Status(to).label.lower()}."
                ]
            }
        )
    reason = (reason or "").strip()
    if to in (SocialReferral.Status.REJECTED, SocialReferral.Status.FAILED) and not reason:
        raise ValidationError({"reason": ["Say why: the care manager reads it."]})
    before = referral.status
    referral.status, referral.status_reason = to, reason or referral.status_reason
    now = timezone.now()
    fields = ["status", "status_reason"]
    if before in SocialReferral.AWAITING and to != SocialReferral.Status.RECEIVED:
        referral.responded_at = now
        fields.append("responded_at")
        deadlines.cancel(key=f"social-referral:{referral.pk}:response")
    if to in (SocialReferral.Status.REJECTED, SocialReferral.Status.COMPLETED, SocialReferral.Status.FAILED):
        referral.closed_at = now
        fields.append("closed_at")
    referral.save(update_fields=fields)
    _event(referral, actor, before, to, reason)
    if to != SocialReferral.Status.RECEIVED:
        _tell(
            referral,
            f"{referral.member.full_name}: {referral.organization.name} — {referral.get_status_display().lower()}",
        )
    if to == SocialReferral.Status.COMPLETED and referral.need_id:
        Need.objects.filter(pk=referral.need_id, status__in=Need.STILL_OPEN).update(
            status=Need.Status.RESOLVED,
            outcome_note=f"{referral.organization.name}: service delivered. {reason}".strip(),
            outcome_at=now,
            outcome_by=actor.user,
        )
    _audit(actor, referral, Action.UPDATE, f"{SocialReferral.Status(before).label} → {SocialReferral.Status(to).label}")
    return referral


@transaction.atomic
def social_referral_cancel(*, actor: Actor, referral: SocialReferral, reason: str) -> SocialReferral:
    actor.require("organizations.make_social_referrals")
    if not actor.is_plan_staff or referral.plan_id != actor.organization.pk:
        raise PermissionDenied("The plan that referred cancels.")
    referral = SocialReferral.objects.select_for_update().get(pk=referral.pk)
    if referral.status not in SocialReferral.OPEN:
        raise ValidationError({"status": [f"The referral is {referral.get_status_display().lower()} already."]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why; the organization reads it."]})
    before = referral.status
    referral.status, referral.status_reason, referral.closed_at = (
        SocialReferral.Status.CANCELLED,
        reason.strip(),
        timezone.now(),
    )
    referral.save(update_fields=["status", "status_reason", "closed_at"])
    deadlines.cancel(key=f"social-referral:{referral.pk}:response")
    _event(referral, actor, before, referral.status, referral.status_reason)
    # The organization stops work on it: its staff hear (no member named in the title).
    _tell_organization(
        referral,
        f"A referral from {actor.organization.name} was cancelled",
        dedupe_key=f"social-referral-cancelled:{referral.pk}",
    )
    _audit(actor, referral, Action.UPDATE, f"{SocialReferral.Status(before).label} → Cancelled")
    return referral


def social_referral_may_move(actor: Actor, referral: SocialReferral) -> bool:
    """Whether this person moves this referral at all (whatever its state): staff of the
    organization it was sent to who answer referrals, or the referring plan's staff who make them."""
    org = actor.organization
    if org is None:
        return False
    if org.pk == referral.organization_id:
        return actor.can("organizations.answer_social_referrals")
    return actor.is_plan_staff and org.pk == referral.plan_id and actor.can("organizations.make_social_referrals")


def social_referral_allowed(actor: Actor, referral: SocialReferral) -> list[str]:
    """The moves this person may make on the referral now: the receiving organization answers
    (ORG_MOVES), the referring plan cancels while it is open; nobody else moves it."""
    if not social_referral_may_move(actor, referral):
        return []
    if actor.organization.pk == referral.organization_id:
        return sorted(ORG_MOVES.get(referral.status, set()))
    return [SocialReferral.Status.CANCELLED] if referral.status in SocialReferral.OPEN else []


def social_referral_transition(*, actor: Actor, referral: SocialReferral, to: str, reason: str = "") -> SocialReferral:
    """One entry for every move (the API's): cancelling is the plan's, the rest the organization's."""
    if to == SocialReferral.Status.CANCELLED:
        return social_referral_cancel(actor=actor, referral=referral, reason=reason)
    return social_referral_move(actor=actor, referral=referral, to=to, reason=reason)


def social_referral_escalate(*, referral_id: int, dedupe_key: str) -> None:
    """No answer in 5 business days: the care manager and the plan's supervisors hear (email too)."""
    referral = SocialReferral.objects.select_related("member", "organization").get(pk=referral_id)
    if referral.status not in SocialReferral.AWAITING:
        return
    SocialReferral.objects.filter(pk=referral.pk).update(escalated_at=timezone.now())
    supervisors = User.objects.filter(organization_id=referral.plan_id, role=Role.SUPERVISOR, is_active=True)
    notifications.notify(
        recipients=[referral.requested_by, *supervisors],
        kind="sdoh.referral_overdue",
        title=f"No answer in {RESPOND_WITHIN_BUSINESS_DAYS} business days: {referral.organization.name}, "
        f"referral for {referral.member.full_name}",
        url=reverse("social-referral-detail", args=[referral.public_id]),
        plan_id=referral.plan_id,
        email=True,
        dedupe_key=dedupe_key,
    )
    SocialReferralEvent.objects.create(
        referral=referral,
        actor_label="CareCoord",
        actor_organization="",
        from_status=referral.status,
        to_status=referral.status,
        note=f"No answer within {RESPOND_WITHIN_BUSINESS_DAYS} business days: escalated.",
    )
