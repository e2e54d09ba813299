"""Every write for care gaps. So far: the measure catalog and the import of gap files (CSV).

Gap files follow the roster rule (README, "Roster imports are all or nothing"): every row is
checked first and every bad row reported (row number, column, reason); one bad row and nothing is
applied, since a half-applied gap list would show a practice the wrong work. A gap is identified by
member, measure and due date (`source_key`), so the same file again changes nothing; a gap the
engine now reports closed is closed, with the move on its history; what a practice did on an open
gap (a booked visit, evidence sent) is kept when the engine reports it open again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, NamedTuple

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from caregaps.models import (
    ALLOWED,
    OPEN_STATUSES,
    CareGap,
    EvidenceFile,
    GapEvent,
    Measure,
    ReportReview,
    Source,
    Status,
)
from core import audit, deadlines, uploads
from core.audit import Action
from core.notifications import Notice, notify_many
from members.models import Attribution, Member
from members.querysets import current_on
from members.roster import Rejected, Result, RowError, dict_rows, hold_member_periods, parse_date
from organizations.access import Actor
from organizations.models import Organization
from organizations.selectors import practice_contacts_of

# code, name, description, what closes it. The plan may edit, add and retire measures.
CATALOG: tuple[tuple[str, str, str, str], ...] = (
    (
        "CCS",
        "Cervical cancer screening",
        "Women 21–64 screened for cervical cancer.",
        "Cervical cytology (3 years) or HPV testing (5 years), with the date.",
    ),
    (
        "BCS",
        "Breast cancer screening",
        "Women 50–74 with a mammogram in the last two years.",
        "A mammogram: date of service and result.",
    ),
    (
        "COL",
        "Colorectal cancer screening",
        "Adults 45–75 screened for colorectal cancer.",
        "Colonoscopy (10 years), FIT (1 year), stool DNA (3 years) or CT colonography (5 years).",
    ),
    (
        "CBP",
        "Controlling high blood pressure",
        "Members with hypertension whose last blood pressure this year was below 140/90.",
        "The most recent blood pressure reading of the year, below 140/90.",
    ),
    (
        "GSD",
        "Glycemic status for diabetes",
        "Members with diabetes whose last HbA1c (or GMI) this year was below 8%.",
        "The most recent HbA1c or GMI result of the year.",
    ),
    (
        "WCV",
        "Well-child visits",
        "Children and adolescents 3–21 with a well-care visit this year.",
        "A well-care visit with a PCP or OB/GYN.",
    ),
    (
        "PPC",
        "Prenatal and postpartum care",
        "A prenatal visit in the first trimester and a postpartum visit 7–84 days after delivery.",
        "The prenatal and the postpartum visit, with dates.",
    ),
    (
        "FUH",
        "Follow-up after hospitalization for mental illness",
        "A follow-up visit with a mental-health provider within 7 (and 30) days of discharge.",
        "The follow-up visit with a mental-health provider, with its date.",
    ),
    (
        "MRP",
        "Medication reconciliation post-discharge",
        "Medications reconciled within 30 days of a discharge.",
        "The reconciliation, documented in the outpatient record, with its date.",
    ),
    (
        "AWV",
        "Annual wellness visit",
        "An annual wellness visit this year.",
        "The wellness visit: date of service.",
    ),
    (
        "PERSIST",
        "Condition persistency",
        "Chronic conditions documented last year and not yet this year (seed 002).",
        "A visit this year that assesses and documents the condition.",
    ),
)

COLUMNS = ("member_id", "measure", "description", "due_date", "status", "provider_npi", "provider_name")
REQUIRED = ("member_id", "measure")
FILE_STATUSES = {"open": Status.OPEN, "closed": Status.CLOSED}
MAX_DESCRIPTION = 300


# The eCQM (FHIR Measure) ids each catalog measure answers to, for FHIR gaps-in-care reports.
FHIR_MEASURES = {
    "BCS": ["EXM125-FHIR", "CMS125"],
    "CCS": ["EXM124-FHIR", "CMS124"],
    "COL": ["EXM130-FHIR", "CMS130"],
    "CBP": ["EXM165-FHIR", "CMS165"],
    "GSD": ["EXM122-FHIR", "CMS122"],
}


@transaction.atomic
def measure_catalog_seed(*, plan: Organization) -> int:
    """Put the standard measures in the plan's catalog (those it has already are left as they are).
    Returns how many were added."""
    have = set(Measure.objects.for_plan(plan.pk).values_list("code", flat=True))
    made = Measure.objects.bulk_create(
        [
            Measure(
                plan=plan,
                code=code,
                name=name,
                description=description,
                closes_with=closes_with,
                fhir_measures=FHIR_MEASURES.get(code, []),
            )
            for code, name, description, closes_with in CATALOG
            if code not in have
        ],
        ignore_conflicts=True,  # a catalog being seeded at the same moment by someone else
    )
    return len(made)


class Provider(NamedTuple):
    """The rendering provider a gap file or report names (both optional)."""

    npi: str = ""
    name: str = ""

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.npi and not (len(self.npi) == 10 and self.npi.isdigit()):
            out.append(("provider_npi", f"{self.npi!r} is not an NPI (10 digits)"))
        if len(self.name) > 200:
            out.append(("provider_name", "is longer than 200 characters"))
        return out


def gap_key(member_number: str, measure_code: str, due: dt.date | None) -> str:
    """A gap's identity whatever file or report brings it: member, measure, due date."""
    return f"gap:{member_number}:{measure_code}:{due.isoformat() if due else ''}"


@transaction.atomic
def gaps_import_csv(*, actor: Actor, stream: IO[bytes]) -> Result:
    """Check and apply one gap file for the actor's plan; raises Rejected (nothing applied) if any
    row is bad. Columns: member_id, measure (a catalog code), description, due_date (YYYY-MM-DD or
    MM/DD/YYYY), status (open or closed; blank is open)."""
    actor.require("organizations.import_care_gaps")
    plan = actor.organization
    result = Result()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    rows = []
    try:
        rows = list(dict_rows(text, result, columns=COLUMNS, required=REQUIRED))
    except (UnicodeDecodeError, csv.Error) as exc:
        result.errors.append(RowError(1, "file", f"is not a readable UTF-8 CSV file ({exc})"))
    result.total_rows = len(rows)
    numbers = {values["member_id"] for _, values in rows}
    members = dict(
        Member.objects.for_plan(plan.pk).filter(member_number__in=numbers).values_list("member_number", "pk")
    )
    measures = {m.code.upper(): m for m in Measure.objects.for_plan(plan.pk).filter(is_active=True)}
    wanted: dict[str, tuple[int, int, Measure, str, dt.date | None, str]] = {}
    for row_no, values in rows:
        errors = []
        number, code = values["member_id"], values["measure"].upper()
        if not number:
            errors.append(RowError(row_no, "member_id", "is required"))
        elif number not in members:
            errors.append(RowError(row_no, "member_id", f"{number!r} is not a member of {plan.name}"))
        if not code:
            errors.append(RowError(row_no, "measure", "is required"))
        elif code not in measures:
            errors.append(RowError(row_no, "measure", f"{values['measure']!r} is not a measure in the plan's catalog"))
        description = values.get("description", "")
        if len(description) > MAX_DESCRIPTION:
            errors.append(RowError(row_no, "description", f"is longer than {MAX_DESCRIPTION} characters"))
        due = None
        if values.get("due_date"):
            due = parse_date(values["due_date"])
            if due is None:
                errors.append(
                    RowError(row_no, "due_date", f"{values['due_date']!r} is not a date (use YYYY-MM-DD or MM/DD/YYYY)")
                )
        status = FILE_STATUSES.get((values.get("status") or "open").lower())
        if status is None:
            errors.append(RowError(row_no, "status", f"{values['status']!r} is not open or closed"))
        provider = Provider(values.get("provider_npi", ""), values.get("provider_name", ""))
        errors += [RowError(row_no, column, message) for column, message in provider.problems()]
        if errors:
            result.errors.extend(errors)
            continue
        key = gap_key(number, code, due)
        if key in wanted:
            result.errors.append(
                RowError(row_no, "measure", f"the same gap (member, measure, due date) is on row {wanted[key][0]}")
            )
            continue
        wanted[key] = (row_no, members[number], measures[code], description, due, status, provider)
    if result.errors:
        result.error_count = len(result.errors)
        raise Rejected(result)
    _apply(actor, plan, wanted, result, source=Source.CSV)
    return result


def _apply(actor: Actor, plan: Organization, wanted: dict, result: Result, *, source: str) -> None:
    _hold_attributions(plan)
    now = timezone.now()
    existing = {g.source_key: g for g in CareGap.objects.select_for_update().filter(plan=plan, source_key__in=wanted)}
    new, changed, events = [], [], []
    label = actor.user.get_username() if actor.user is not None else "system"
    for key, (_row_no, member_id, measure, description, due, status, provider) in wanted.items():
        gap = existing.get(key)
        if gap is None:
            gap = CareGap(
                plan=plan,
                member_id=member_id,
                measure=measure,
                description=description,
                due_date=due,
                status=status,
                source=source,
                source_key=key,
                closed_at=now if status == Status.CLOSED else None,
                provider_npi=provider.npi,
                provider_name=provider.name,
            )
            new.append(gap)
            events.append((gap, "", status, f"Reported by the plan's quality engine: {Source(source).label}."))
            continue
        # The engine closes an open gap, and reopens one it closed; a practice's work on an open
        # gap and a plan's exclusion stand.
        moves = (status == Status.CLOSED and gap.status in OPEN_STATUSES) or (
            status == Status.OPEN and gap.status == Status.CLOSED
        )
        if not moves and gap.description == description and (gap.provider_npi, gap.provider_name) == provider:
            result.unchanged += 1
            continue
        if moves:
            events.append((gap, gap.status, status, f"Reported by the plan's quality engine: {Source(source).label}."))
            gap.status = status
            gap.closed_at = now if status == Status.CLOSED else None
        gap.description = description
        gap.provider_npi, gap.provider_name = provider
        gap.updated_at = now
        changed.append(gap)
    CareGap.objects.bulk_create(new)
    if changed:
        CareGap.objects.bulk_update(
            changed, ["status", "closed_at", "description", "provider_npi", "provider_name", "updated_at"]
        )
    GapEvent.objects.bulk_create(
        GapEvent(
            plan=plan, gap=gap, actor=actor.user, actor_label=label, from_status=before, to_status=after, note=note
        )
        for gap, before, after, note in events
    )
    result.created, result.updated = len(new), len(changed)
    attributed_practices_schedule(plan)  # every import keeps the nightly refresh on the clock
    if new:
        attributed_practices_refresh(plan_id=plan.pk, member_ids=[g.member_id for g in new])
        _tell_practices(plan, [g.member_id for g in new])
    if any(g.due_date and g.status == Status.OPEN for g in new):
        reminders_schedule(plan)
    audit.record_many(
        actor=actor,
        action=Action.CREATE,
        object_type="care_gap",
        objects=[(g.public_id, plan.pk, g.member_id) for g in new],
        summaries=[f"Care gap reported: {g.measure.code}" for g in new],
    )
    audit.record_many(
        actor=actor,
        action=Action.UPDATE,
        object_type="care_gap",
        objects=[(g.public_id, plan.pk, g.member_id) for g in changed],
        summaries=[f"Care gap {g.get_status_display().lower()}: {g.measure.code}" for g in changed],
    )


# The attributed practice on each gap ----------------------------------------------------------

# Each gap's member's attribution on the plan's date today (the attribution scope of
# members.querysets, in SQL): only the rows whose practice differs are written.
_REFRESH_PRACTICES = """
UPDATE caregaps_caregap g SET practice_id = x.practice_id, practice_until = x.end_date
FROM (
    SELECT g2.id, a.practice_id, a.end_date
    FROM caregaps_caregap g2
    LEFT JOIN LATERAL (
        SELECT a.practice_id, a.end_date FROM members_attribution a
        WHERE a.member_id = g2.member_id AND a.plan_id = g2.plan_id
          AND a.start_date <= %(today)s AND (a.end_date IS NULL OR a.end_date >= %(today)s)
        ORDER BY a.start_date DESC LIMIT 1
    ) a ON true
    WHERE g2.plan_id = %(plan)s {members}
) x
WHERE g.id = x.id AND (g.practice_id, g.practice_until) IS DISTINCT FROM (x.practice_id, x.end_date)
"""

PRACTICES_AT = dt.time(0, 5)  # the nightly refresh, in the plan's time zone: just after the date turns


def attributed_practices_refresh(*, plan_id: int, member_ids: Iterable[int] | None = None) -> int:
    """Set each gap's `practice` to the practice its member is attributed to today (plan time),
    and `practice_until` to that attribution's end, for the given members or the whole plan;
    set-based, writing only what changed. Called when gaps are made, when a roster import changes
    attributions, and nightly (attributions begin by date). Returns how many gaps changed."""
    plan = Organization.objects.get(pk=plan_id)
    params: dict = {"plan": plan_id, "today": plan.local_date()}
    members = ""
    if member_ids is not None:
        params["members"] = sorted(set(member_ids))
        if not params["members"]:
            return 0
        members = "AND g2.member_id = ANY(%(members)s)"
    with connection.cursor() as cursor:
        # After a roster import that is still writing attributions has committed (the UPDATE's
        # own statement then sees them): a refresh never writes back what an import just moved.
        hold_member_periods(cursor, plan_id)
        cursor.execute(_REFRESH_PRACTICES.format(members=members), params)
        return cursor.rowcount


def attributions_changed(*, plan_id: int, member_ids: list[int], **_signal) -> None:
    """A roster import moved members between practices (members.signals): their gaps follow, in
    the import's transaction (0.14 s for 100,000 moved members beside 100,000 gaps), and the
    nightly refresh is on the clock for attributions that begin later."""
    attributed_practices_refresh(plan_id=plan_id, member_ids=member_ids)
    if CareGap.objects.for_plan(plan_id).exists():
        attributed_practices_schedule(Organization.objects.get(pk=plan_id))


def attributed_practices_schedule(plan: Organization) -> None:
    """Put the plan's next nightly refresh on the clock (00:05 tomorrow, plan time). Idempotent:
    called whenever gaps are made, and by each run while the plan has gaps."""
    _daily_run(plan, kind="care_gap.practices", key="care-gap-practices", at=PRACTICES_AT)


def _daily_run(plan: Organization, *, kind: str, key: str, at: dt.time) -> None:
    """The plan's run of `kind` tomorrow at `at`, plan time (one deadline per plan and day)."""
    tomorrow = plan.local_date() + dt.timedelta(days=1)
    deadlines.schedule(
        kind=kind,
        key=f"{key}:{plan.pk}:{tomorrow.isoformat()}",
        due_at=dt.datetime.combine(tomorrow, at, tzinfo=plan.tz),
        plan_id=plan.pk,
        payload={"plan_id": plan.pk},
    )


@transaction.atomic
def attributed_practices_nightly(*, plan_id: int) -> int:
    """The nightly run: attributions that began or ended with the new date move their gaps."""
    changed = attributed_practices_refresh(plan_id=plan_id)
    plan = Organization.objects.get(pk=plan_id)
    if CareGap.objects.for_plan(plan_id).exists():
        attributed_practices_schedule(plan)
    return changed


def _hold_attributions(plan: Organization) -> None:
    """Gap writes that copy attributions take the member-periods lock first, before any gap row
    is locked: the same order as a roster import, which holds it and then updates gaps."""
    with connection.cursor() as cursor:
        hold_member_periods(cursor, plan.pk)


def _tell_practices(plan: Organization, member_ids: list[int]) -> None:
    """A new report: each practice with new gaps for its patients hears how many, once per import
    (its contacts in the inbox, the designated point of contact by email too; no member named)."""
    practice_of = dict(
        Attribution.objects.filter(current_on(plan.local_date()), plan=plan, member_id__in=member_ids).values_list(
            "member_id", "practice_id"
        )
    )
    counts = Counter(practice_of[m] for m in member_ids if m in practice_of)
    if not counts:
        return
    contacts = [
        contact
        for contacts in practice_contacts_of({(plan.pk, practice_id) for practice_id in counts}).values()
        for contact in contacts
        if contact.user is not None
    ]
    url = reverse("caregap-report")
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    notify_many(
        Notice(
            [c.user],
            "care_gaps",
            f"{counts[c.partnership.practice_id]} new care gap(s) from {plan.name}",
            url=url,
            plan_id=plan.pk,
            email=c.is_primary,
            dedupe_key=f"care-gaps:{plan.pk}:{c.partnership.practice_id}:{stamp}",
        )
        for c in contacts
    )


@dataclass(frozen=True)
class WorkflowGap:
    """A gap one of CareCoord's own workflows found (a missed 7-day follow-up after a mental-health
    stay, a missed medication reconciliation), keyed by what made it."""

    member: Member
    measure_code: str
    due_date: dt.date
    source_key: str
    description: str


def gaps_from_workflows(*, plan: Organization, gaps: list[WorkflowGap]) -> int:
    """Record workflow gaps set-based (inside the workflow's transaction); a key seen before is
    left alone, and a measure the plan's catalog lacks (or retired) makes no gap. Returns how many
    were opened."""
    if not gaps:
        return 0
    measures = {m.code: m for m in Measure.objects.for_plan(plan.pk).filter(is_active=True)}
    wanted = [g for g in gaps if g.measure_code in measures]
    if not wanted:
        return 0
    _hold_attributions(plan)
    have = set(
        CareGap.objects.for_plan(plan.pk)
        .filter(source_key__in=[g.source_key for g in wanted])
        .values_list("source_key", flat=True)
    )
    made = CareGap.objects.bulk_create(
        CareGap(
            plan=plan,
            member=g.member,
            measure=measures[g.measure_code],
            description=g.description[:300],
            due_date=g.due_date,
            source=Source.WORKFLOW,
            source_key=g.source_key,
        )
        for g in wanted
        if g.source_key not in have
    )
    GapEvent.objects.bulk_create(
        GapEvent(
            plan=plan,
            gap=gap,
            actor_label="CareCoord",
            to_status=Status.OPEN,
            note=f"Opened by CareCoord: {gap.description}",
        )
        for gap in made
    )
    audit.record_many(
        actor=Actor.system(),
        action=Action.CREATE,
        object_type="care_gap",
        objects=[(g.public_id, plan.pk, g.member_id) for g in made],
        summaries=[f"Care gap opened by a workflow: {g.measure.code}" for g in made],
    )
    if made:
        attributed_practices_refresh(plan_id=plan.pk, member_ids=[g.member_id for g in made])
        attributed_practices_schedule(plan)
        reminders_schedule(plan)
    return len(made)


# FHIR gaps-in-care reports (Da Vinci DEQM) ------------------------------------------------------

GAP_STATUS_URL = "http://hl7.org/fhir/uv/deqm/StructureDefinition/deqm-gapStatus"
FHIR_GAP_STATUSES = {"open-gap": Status.OPEN, "prospective-gap": Status.OPEN, "closed-gap": Status.CLOSED}


def _fhir_resources(document: object) -> list[dict]:
    """The resources of a gaps report: a Bundle (document or collection), a Parameters holding
    Bundles (the $care-gaps answer), or a single resource."""
    if not isinstance(document, dict):
        return []
    kind = document.get("resourceType")
    if kind == "Parameters":
        return [r for p in document.get("parameter") or [] for r in _fhir_resources(p.get("resource"))]
    if kind == "Bundle":
        return [r for e in document.get("entry") or [] for r in _fhir_resources(e.get("resource"))]
    return [document]


NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def _fhir_provider(patient: dict, by_ref: dict[str, dict]) -> Provider:
    """The patient's general practitioner, where the report carries the Practitioner: its NPI
    identifier and its name as written."""
    for ref in patient.get("generalPractitioner") or []:
        practitioner = by_ref.get(ref.get("reference", ""))
        if practitioner is None or practitioner.get("resourceType") != "Practitioner":
            continue
        npi = next(
            (i.get("value", "") for i in practitioner.get("identifier") or [] if i.get("system") == NPI_SYSTEM), ""
        )
        names = practitioner.get("name") or [{}]
        name = names[0].get("text") or " ".join([*names[0].get("given", []), names[0].get("family", "")]).strip()
        return Provider(npi, (name or ref.get("display", ""))[:200])
    return Provider()


def _measure_id(canonical: str) -> str:
    return canonical.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1]


@transaction.atomic
def gaps_import_fhir(*, actor: Actor, document: object) -> Result:
    """Check and apply a FHIR gaps-in-care report for the actor's plan: each DetectedIssue (code
    CAREGAP) with its gap status, its patient (a Patient in the report whose identifier is a
    member id of the plan) and its MeasureReport (the measure, and the period whose end is the due
    date). All or nothing, like gap files; errors name the resource ("row" is its place in the
    report, "field" the resource and element)."""
    actor.require("organizations.import_care_gaps")
    plan = actor.organization
    result = Result()
    resources = _fhir_resources(document)
    if not resources:
        result.errors.append(RowError(1, "resourceType", "expected a Bundle, a Parameters or a DetectedIssue"))
        result.error_count = 1
        raise Rejected(result)
    by_ref = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources if r.get("id")}
    issues = [(n, r) for n, r in enumerate(resources, 1) if r.get("resourceType") == "DetectedIssue"]
    if not issues:
        result.errors.append(RowError(1, "DetectedIssue", "the report holds no DetectedIssue (no gap to import)"))
    result.total_rows = len(issues)
    identifiers = {
        i.get("value")
        for r in resources
        if r.get("resourceType") == "Patient"
        for i in r.get("identifier") or []
        if i.get("value")
    }
    members = dict(
        Member.objects.for_plan(plan.pk).filter(member_number__in=identifiers).values_list("member_number", "pk")
    )
    by_fhir_id = {
        fhir_id: m for m in Measure.objects.for_plan(plan.pk).filter(is_active=True) for fhir_id in m.fhir_measures
    }
    wanted: dict[str, tuple] = {}
    for n, issue in issues:
        where = f"DetectedIssue/{issue.get('id', '?')}"
        errors = []
        statuses = [
            c.get("code")
            for x in issue.get("modifierExtension") or []
            if x.get("url") == GAP_STATUS_URL
            for c in (x.get("valueCodeableConcept") or {}).get("coding") or []
        ]
        status = FHIR_GAP_STATUSES.get(statuses[0]) if statuses else None
        if status is None:
            errors.append(
                RowError(
                    n,
                    f"{where}.modifierExtension",
                    f"gap status {statuses[:1] or 'missing'} is not open-gap, prospective-gap or closed-gap",
                )
            )
        patient = by_ref.get((issue.get("patient") or {}).get("reference", ""))
        number = None
        if patient is None:
            errors.append(
                RowError(
                    n, f"{where}.patient", f"{(issue.get('patient') or {}).get('reference')!r} is not in the report"
                )
            )
        else:
            found = [i.get("value") for i in patient.get("identifier") or [] if i.get("value") in members]
            if not found:
                errors.append(
                    RowError(
                        n,
                        f"{where}.patient",
                        f"no identifier of Patient/{patient.get('id')} is a member id of {plan.name}",
                    )
                )
            else:
                number = found[0]
        reports = [
            by_ref.get(d.get("reference", ""))
            for e in issue.get("evidence") or []
            for d in e.get("detail") or []
            if d.get("reference", "").startswith("MeasureReport/")
        ]
        report = next((r for r in reports if r is not None), None)
        measure, due = None, None
        if report is None:
            errors.append(RowError(n, f"{where}.evidence", "names no MeasureReport that is in the report"))
        else:
            measure = by_fhir_id.get(_measure_id(report.get("measure", "")))
            if measure is None:
                errors.append(
                    RowError(n, f"{where}.evidence", f"measure {report.get('measure')!r} is not in the plan's catalog")
                )
            end = (report.get("period") or {}).get("end", "")
            due = parse_date(end[:10]) if end else None
            if end and due is None:
                errors.append(RowError(n, f"MeasureReport/{report.get('id')}.period", f"end {end!r} is not a date"))
        if errors:
            result.errors.extend(errors)
            continue
        # The same gap twice in one report: the later DetectedIssue wins.
        provider = _fhir_provider(patient, by_ref)
        if provider.problems():
            provider = Provider()  # a malformed NPI in a report is dropped, not a reason to refuse the gap
        wanted[gap_key(number, measure.code, due)] = (n, members[number], measure, "", due, status, provider)
    if result.errors:
        result.error_count = len(result.errors)
        raise Rejected(result)
    _apply(actor, plan, wanted, result, source=Source.FHIR)
    return result


# The practice's actions and the plan's adjudication ---------------------------------------------

PRACTICE_FROM = (Status.OPEN, Status.SCHEDULED)
MAX_SCHEDULE_AHEAD = dt.timedelta(days=366)


def _move(*, actor: Actor, gap: CareGap, to: str, note: str = "", **evidence) -> GapEvent:
    """Lock the gap, check the move against ALLOWED, apply it, write its history and audit rows.
    Returns the history row (its `gap` is the updated gap)."""
    gap = CareGap.objects.select_for_update().select_related("measure").get(pk=gap.pk)
    if to not in ALLOWED[gap.status]:
        raise ValidationError(
            {"status": [f"The gap is {gap.get_status_display().lower()}; it cannot become {Status(to).label.lower()}."]}
        )
    before = gap.status
    gap.status = to
    gap.closed_at = timezone.now() if to in (Status.CLOSED, Status.EXCLUDED) else None
    if "scheduled_for" in evidence:
        gap.scheduled_for = evidence.pop("scheduled_for")
    gap.save(update_fields=["status", "closed_at", "scheduled_for", "updated_at"])
    event = GapEvent.objects.create(
        plan_id=gap.plan_id,
        gap=gap,
        actor=actor.user,
        actor_label=actor.user.get_username() if actor.user is not None else "system",
        from_status=before,
        to_status=to,
        note=note,
        **evidence,
    )
    audit.record(
        actor=actor,
        action=Action.UPDATE,
        object_type="care_gap",
        object_id=gap.public_id,
        plan_id=gap.plan_id,
        member_id=gap.member_id,
        summary=f"Care gap {gap.measure.code}: {Status(before).label.lower()} → {Status(to).label.lower()}",
    )
    return event


def _practice_may(actor: Actor, gap: CareGap) -> None:
    actor.require("organizations.work_care_gaps")
    if gap.status not in PRACTICE_FROM:
        raise ValidationError({"status": [f"The gap is {gap.get_status_display().lower()}; there is nothing to do."]})


@transaction.atomic
def gap_schedule(*, actor: Actor, gap: CareGap, scheduled_for: dt.date | None, note: str = "") -> CareGap:
    """The practice booked the visit (or test) that will close the gap."""
    _practice_may(actor, gap)
    today = gap.plan.local_date()
    if scheduled_for is None:
        raise ValidationError({"scheduled_for": ["is required."]})
    if scheduled_for < today:
        raise ValidationError({"scheduled_for": ["cannot be in the past."]})
    if scheduled_for > today + MAX_SCHEDULE_AHEAD:
        raise ValidationError({"scheduled_for": ["is more than a year ahead."]})
    return _move(actor=actor, gap=gap, to=Status.SCHEDULED, note=note.strip(), scheduled_for=scheduled_for).gap


EVIDENCE_MAX_FILES = 5


@transaction.atomic
def gap_submit_evidence(
    *,
    actor: Actor,
    gap: CareGap,
    service_date: dt.date | None,
    code: str,
    note: str = "",
    files: list[UploadedFile] | tuple = (),
) -> CareGap:
    """The practice says the gap is closed: the service, its date and code, for the plan to check,
    with documents if it has them (PDF, PNG or JPEG, 10 MB each; all stored or none)."""
    _practice_may(actor, gap)
    errors: dict[str, list[str]] = {}
    if service_date is None:
        errors["service_date"] = ["is required."]
    elif service_date > gap.plan.local_date():
        errors["service_date"] = ["cannot be in the future."]
    code = (code or "").strip()
    if not code:
        errors["code"] = ["is required: the CPT, HCPCS, LOINC or ICD-10 code of the service."]
    elif len(code) > 40:
        errors["code"] = ["is longer than 40 characters."]
    files = [f for f in files if f]
    if len(files) > EVIDENCE_MAX_FILES:
        errors["files"] = [f"at most {EVIDENCE_MAX_FILES} files."]
    if errors:
        raise ValidationError(errors)
    types = [uploads.check(upload, field="files") for upload in files]  # every file checked before any is stored
    event = _move(
        actor=actor, gap=gap, to=Status.EVIDENCE_SUBMITTED, note=note.strip(), service_date=service_date, code=code
    )
    for upload, content_type in zip(files, types, strict=True):
        stored = EvidenceFile(
            plan_id=gap.plan_id,
            gap=event.gap,
            event=event,
            original_name=upload.name[:255],
            content_type=content_type,
            size_bytes=upload.size,
            sha256=uploads.sha256(upload),
            uploaded_by=actor.user,
        )
        stored.file.save(f"{stored.public_id}", upload, save=False)  # a name that says nothing
        stored.save()
    return event.gap


@transaction.atomic
def gap_request_exclusion(*, actor: Actor, gap: CareGap, reason: str) -> CareGap:
    """The practice says the measure does not apply to this patient (hospice, a prior procedure…)."""
    _practice_may(actor, gap)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the measure does not apply to this patient."]})
    return _move(actor=actor, gap=gap, to=Status.EXCLUSION_REQUESTED, note=reason.strip()).gap


@transaction.atomic
def gap_adjudicate(*, actor: Actor, gap: CareGap, accept: bool, reason: str = "") -> CareGap:
    """Plan staff accept the practice's evidence (closed) or exclusion (excluded), or reject it with
    a reason (the gap is open again)."""
    actor.require("organizations.adjudicate_care_gaps")
    if gap.status not in (Status.EVIDENCE_SUBMITTED, Status.EXCLUSION_REQUESTED):
        raise ValidationError({"status": ["Only submitted evidence or an exclusion request is adjudicated."]})
    if not accept and not (reason or "").strip():
        raise ValidationError({"reason": ["Say why it is rejected; the practice will read it."]})
    accepted = Status.CLOSED if gap.status == Status.EVIDENCE_SUBMITTED else Status.EXCLUDED
    return _move(actor=actor, gap=gap, to=accepted if accept else Status.OPEN, note=(reason or "").strip()).gap


# Reminders: gaps due within 30 days -------------------------------------------------------------

REMIND_WITHIN = dt.timedelta(days=30)
REMIND_AT = dt.time(7, 0)  # in the plan's time zone


def reminders_schedule(plan: Organization) -> None:
    """Make sure the plan's next daily reminder run is on the clock (07:00 tomorrow, plan time).
    Idempotent: called by every import that brings gaps with due dates, and by each run while
    there are gaps left to remind."""
    _daily_run(plan, kind="care_gap.reminders", key="care-gap-reminders", at=REMIND_AT)


@transaction.atomic
def reminders_send(*, plan_id: int) -> int:
    """Tell each practice how many of its patients' open gaps fall due within 30 days (or are past
    due) and have not been reminded: once per gap, one notice per practice contact (no member
    named; the designated point of contact by email too). Returns how many gaps were reminded."""
    plan = Organization.objects.get(pk=plan_id)
    today = plan.local_date()
    due = (
        CareGap.objects.for_plan(plan.pk)
        .select_for_update(skip_locked=True)
        .filter(status=Status.OPEN, reminded_at__isnull=True, due_date__lte=today + REMIND_WITHIN)
    )
    attributed = Attribution.objects.filter(current_on(today), plan=plan)
    rows = list(
        due.filter(member_id__in=attributed.values("member_id"))
        .annotate(attributed_to=Subquery(attributed.filter(member_id=OuterRef("member_id")).values("practice_id")[:1]))
        .values_list("pk", "attributed_to")
    )
    if rows:
        CareGap.objects.filter(pk__in=[pk for pk, _ in rows]).update(reminded_at=timezone.now())
        counts = Counter(practice_id for _, practice_id in rows)
        url = f"{reverse('caregap-report')}?status=open&due_before={(today + REMIND_WITHIN).isoformat()}"
        notify_many(
            Notice(
                [c.user],
                "care_gaps.due_soon",
                f"{counts[c.partnership.practice_id]} care gap(s) for your patients due within 30 days ({plan.name})",
                url=url,
                plan_id=plan.pk,
                email=c.is_primary,
                dedupe_key=f"care-gaps-due:{plan.pk}:{c.partnership.practice_id}:{today.isoformat()}",
            )
            for contacts in practice_contacts_of({(plan.pk, p) for p in counts}).values()
            for c in contacts
            if c.user is not None
        )
    if (
        CareGap.objects.for_plan(plan.pk)
        .filter(status=Status.OPEN, reminded_at__isnull=True, due_date__isnull=False)
        .exists()
    ):
        reminders_schedule(plan)
    attributed_practices_schedule(plan)  # a second keeper of the nightly refresh's chain
    return len(rows)


def report_mark_reviewed(*, actor: Actor) -> ReportReview:
    """The person has gone through the report: "new since last review" starts again from now."""
    actor.require("organizations.view_care_gaps")
    review, _ = ReportReview.objects.update_or_create(user=actor.user, defaults={"reviewed_at": timezone.now()})
    return review
