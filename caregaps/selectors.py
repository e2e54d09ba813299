"""Every read of care gaps starts here, from the actor's scope (caregaps.querysets)."""

from __future__ import annotations

import uuid

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from caregaps.models import CareGap, GapEvent, Measure, Status
from members.selectors import audit_reads
from organizations.access import Actor


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
    return gap.events.order_by("at", "id")


REPORT_ORDER = ("-opened_at", "-id")


def report(actor: Actor, *, measure: str = "", status: str = "", due_before=None) -> QuerySet:
    """The gap report's rows (plain values, one query a page): the member, the measure, due date,
    status, and whether the member is in care management now (seed 000: engagement beside the gap)."""
    from caseloads.models import Enrollment

    qs = gaps(actor)
    if measure:
        qs = qs.filter(measure__code__iexact=measure)
    if status == "open":
        qs = qs.still_open()
    elif status:
        qs = qs.filter(status=status)
    if due_before:
        qs = qs.filter(due_date__lte=due_before)
    enrolled = Enrollment.objects.filter(member_id=OuterRef("member_id"), status="active")
    return qs.annotate(enrolled=Exists(enrolled)).values(
        "id",
        "public_id",
        "opened_at",
        "due_date",
        "status",
        "description",
        "scheduled_for",
        "enrolled",
        "member_id",
        "member__public_id",
        "member__plan_id",
        "member__first_name",
        "member__last_name",
        "member__member_number",
        "measure__code",
        "measure__name",
    )


def measure_summary(actor: Actor) -> list[dict]:
    """Per measure: gaps still to close, closed, excluded and the closure rate (closed over the
    gaps that count: all but the excluded). One GROUP BY."""
    rows = (
        gaps(actor)
        .values("measure__code", "measure__name")
        .annotate(
            total=Count("id"),
            closed=Count("id", filter=Q(status=Status.CLOSED)),
            excluded=Count("id", filter=Q(status=Status.EXCLUDED)),
        )
        .order_by("measure__name")
    )
    out = []
    for row in rows:
        counted = row["total"] - row["excluded"]
        row["still_open"] = counted - row["closed"]
        row["rate"] = round(100 * row["closed"] / counted) if counted else None
        out.append(row)
    return out
