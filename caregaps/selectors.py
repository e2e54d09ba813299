"""Every read of care gaps starts here, from the actor's scope (caregaps.querysets)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from caregaps.models import CareGap, EvidenceFile, GapEvent, Measure, ReportReview, Status
from core.audit import Action
from members.selectors import audit_reads
from organizations.access import Actor
from organizations.models import Organization


def gaps(actor: Actor) -> QuerySet[CareGap]:
    actor.require("organizations.view_care_gaps")
    return CareGap.objects.visible_to(actor)


def measures(actor: Actor) -> QuerySet[Measure]:
    actor.require("organizations.view_care_gaps")
    return Measure.objects.visible_to(actor)


def access_gap(actor: Actor, gap_id: uuid.UUID | str) -> CareGap:
    """One gap: 404 outside the actor's scope (the same as a missing id), 403 for an insider
    without the permission; the read is audited against the member."""
    gap = get_object_or_404(CareGap.objects.visible_to(actor).select_related("member", "measure"), public_id=gap_id)
    actor.require("organizations.view_care_gaps")
    audit_reads(actor, [gap.member], via="care gap")
    return gap


def gap_history(gap: CareGap) -> QuerySet[GapEvent]:
    """The gap's moves, each with the documents sent with it (two queries)."""
    return gap.events.order_by("at", "id").prefetch_related("files")


def access_evidence_file(actor: Actor, gap: CareGap, file_id: uuid.UUID | str) -> EvidenceFile:
    """A document of a gap the caller already reached through access_gap: 404 if it is another's."""
    return get_object_or_404(EvidenceFile, gap=gap, public_id=file_id)


REPORT_ORDER = ("-opened_at", "-id")


@dataclass(frozen=True)
class GapFilters:
    """What the report, its exports and the API narrow gaps by (all optional)."""

    measure: str = ""  # a catalog code
    status: str = ""  # a Status, or "open" for every status still to close
    due_before: dt.date | None = None
    practice: Organization | None = None  # plan staff: members attributed to this practice today
    provider: str = ""  # the rendering provider: an NPI, or part of the name
    new_since: dt.datetime | None = None  # opened after this (the viewer's last review)

    @property
    def who(self) -> GapFilters:
        """Only the filters on whose gaps they are (practice, provider): what the counts follow."""
        return GapFilters(practice=self.practice, provider=self.provider)


def narrowing_practices(actor: Actor) -> QuerySet[Organization] | None:
    """The practices a plan may narrow its report to; None for anyone else (a practice's report is
    its own patients already)."""
    if not actor.is_plan_staff:
        return None
    return Organization.objects.visible_to(actor).filter(kind=Organization.Kind.PRACTICE).order_by("name")


def filtered(actor: Actor, f: GapFilters, *, counting: bool = False) -> QuerySet[CareGap]:
    """The actor's gaps narrowed by the filters; `counting`: for counts only (CareGap.objects
    .counted_for: the attributed practice from the gap's own columns), never for rows shown."""
    if counting:
        actor.require("organizations.view_care_gaps")
        qs = CareGap.objects.counted_for(actor)
    else:
        qs = gaps(actor)
    if f.measure:
        qs = qs.filter(measure__code__iexact=f.measure)
    if f.status == "open":
        qs = qs.still_open()
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.due_before:
        qs = qs.filter(due_date__lte=f.due_before)
    if f.practice is not None:
        qs = qs.attributed_to(f.practice.pk, on=actor.organization.local_date(), counting=counting)
    if f.provider:
        qs = (
            qs.filter(provider_npi=f.provider)
            if f.provider.isdigit()
            else qs.filter(provider_name__icontains=f.provider)
        )
    if f.new_since is not None:
        qs = qs.filter(opened_at__gt=f.new_since)
    return qs


def report(actor: Actor, f: GapFilters = GapFilters()) -> QuerySet:
    """The gap report's rows (plain values, one query a page): the member, the measure, due date,
    status and the rendering provider. Whether each member is in care management now (seed 000:
    engagement beside the gap) is added to a page of rows by mark_enrolled."""
    return filtered(actor, f).values(
        "id",
        "public_id",
        "opened_at",
        "due_date",
        "status",
        "description",
        "scheduled_for",
        "provider_npi",
        "provider_name",
        "member_id",
        "member__public_id",
        "member__plan_id",
        "member__first_name",
        "member__last_name",
        "member__member_number",
        "measure__code",
        "measure__name",
    )


def mark_enrolled(rows: list[dict]) -> list[dict]:
    """Set `enrolled` on report rows: the member has an active care-management enrollment. One
    query for the rows' members, their ids as one array (an export chunk holds thousands). As an
    EXISTS in the page's query, PostgreSQL hashed every active enrollment of the plan for a page
    of 25."""
    from caseloads.models import Enrollment

    members = {r["member_id"] for r in rows}
    enrolled = (
        set(Enrollment.objects.filter(member_id__any=members, status="active").values_list("member_id", flat=True))
        if members
        else set()
    )
    for r in rows:
        r["enrolled"] = r["member_id"] in enrolled
    return rows


def audit_rows(actor: Actor, rows: list[dict], *, via: str, action: str = Action.READ) -> None:
    """Audit the members of report rows shown or exported: one event per member, however many of
    their gaps the rows hold."""
    members = {r["member_id"]: r for r in rows}
    audit_reads(
        actor,
        [{"public_id": r["member__public_id"], "plan_id": r["member__plan_id"], "id": pk} for pk, r in members.items()],
        via=via,
        action=action,
    )


def _rate(row: dict) -> dict:
    """Closure rate: closed over the gaps that count (all but the excluded)."""
    counted = row["total"] - row["excluded"]
    row["still_open"] = counted - row["closed"]
    row["rate"] = round(100 * row["closed"] / counted) if counted else None
    return row


COUNTS = {
    "total": Count("id"),
    "closed": Count("id", filter=Q(status=Status.CLOSED)),
    "excluded": Count("id", filter=Q(status=Status.EXCLUDED)),
}


def measure_summary(actor: Actor, f: GapFilters = GapFilters()) -> list[dict]:
    """Per measure: gaps still to close, closed, excluded and the closure rate, for the gaps the
    practice and provider filters leave. One GROUP BY measure and status (read from an index
    alone), and the measures' names."""
    counts: dict[int, dict] = {}
    for measure_id, status, n in (
        filtered(actor, f.who, counting=True)
        .values("measure_id", "status")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("measure_id", "status", "n")
    ):
        row = counts.setdefault(measure_id, {"total": 0, "closed": 0, "excluded": 0})
        row["total"] += n
        if status in (Status.CLOSED, Status.EXCLUDED):
            row[status] += n
    names = Measure.objects.filter(pk__in=counts).values_list("pk", "code", "name")
    rows = [{"measure__code": code, "measure__name": name, **counts[pk]} for pk, code, name in names]
    return [_rate(row) for row in sorted(rows, key=lambda r: (r["measure__name"], r["measure__code"]))]


def by_practice(actor: Actor, f: GapFilters = GapFilters()) -> list[dict]:
    """Per practice the members are attributed to (a practice sees its own row): the same counts
    and rate, for the gaps the measure filter leaves. One GROUP BY on each gap's attributed
    practice (as of the last refresh: the night's, or the roster import's); members attributed to
    no practice are a row of their own, as are those whose attribution has ended (its end copied
    on the gap) until the refresh says where they went."""
    qs = filtered(actor, GapFilters(measure=f.measure), counting=True)
    if actor.is_plan_staff:
        ended = Q(practice_until__lt=actor.organization.local_date())
        qs = qs.annotate(attributed=Case(When(ended, then=Value(None)), default=F("practice_id")))
    else:  # counted_for has left only the practice's own, in force
        qs = qs.annotate(attributed=F("practice_id"))
    rows = []
    for row in qs.values("attributed").annotate(**COUNTS).order_by():
        row["practice_id"] = row.pop("attributed")
        rows.append(row)
    rows = [_rate(row) for row in rows]
    names = dict(Organization.objects.filter(pk__in=[r["practice_id"] for r in rows]).values_list("pk", "name"))
    public = dict(Organization.objects.filter(pk__in=names).values_list("pk", "public_id"))
    for row in rows:
        row["name"] = names.get(row["practice_id"], "Not attributed to a practice")
        row["public_id"] = public.get(row["practice_id"])
    return sorted(rows, key=lambda r: (r["practice_id"] is None, r["name"]))


@dataclass
class Month:
    start: dt.date
    opened: int
    closed: int
    excluded: int
    rate: int | None  # closure rate at the month's end, over every gap opened by then


def trends(actor: Actor, f: GapFilters = GapFilters(), *, months: int = 12) -> list[Month]:
    """Closure over time: per month (in the viewer's organization's zone) the gaps opened, closed
    and excluded, and the closure rate at each month's end (closed by then over gaps opened by
    then less the excluded). By each gap's current status and the date it closed, so a gap closed
    and reopened counts as open. Two GROUP BY queries."""
    tz = actor.organization.tz
    qs = filtered(actor, GapFilters(measure=f.measure, practice=f.practice, provider=f.provider), counting=True)
    today = actor.organization.local_date()
    back = today.month - 1 - (months - 1)  # months since January of this year, for the first month shown
    first = dt.date(today.year + back // 12, back % 12 + 1, 1)
    opened = dict(
        qs.annotate(month=TruncMonth("opened_at", tzinfo=tz))
        .values("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
    )
    ended = {
        (month, status): n
        for month, status, n in qs.filter(status__in=[Status.CLOSED, Status.EXCLUDED])
        .annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .values("month", "status")
        .annotate(n=Count("id"))
        .values_list("month", "status", "n")
    }
    opened = {_day(k): v for k, v in opened.items()}
    ended = {(_day(k), s): v for (k, s), v in ended.items()}
    # What happened before the chart's first month still counts in the running totals.
    total = sum(v for k, v in opened.items() if k < first)
    closed = sum(v for (k, s), v in ended.items() if k < first and s == Status.CLOSED)
    excluded = sum(v for (k, s), v in ended.items() if k < first and s == Status.EXCLUDED)
    out = []
    month = first
    for _ in range(months):
        o, c, x = opened.get(month, 0), ended.get((month, Status.CLOSED), 0), ended.get((month, Status.EXCLUDED), 0)
        total, closed, excluded = total + o, closed + c, excluded + x
        counted = total - excluded
        out.append(Month(month, o, c, x, round(100 * closed / counted) if counted else None))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def _day(moment: dt.datetime | dt.date) -> dt.date:
    return moment.date() if isinstance(moment, dt.datetime) else moment


def last_review(actor: Actor) -> dt.datetime | None:
    if actor.user is None:
        return None
    return ReportReview.objects.filter(user=actor.user).values_list("reviewed_at", flat=True).first()
