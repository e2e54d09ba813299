"""Care gaps: the plan's measure catalog, the gaps its quality engine finds, and each gap's history.

A gap's status is a state machine (ALLOWED below): the plan's engine opens and closes gaps; the
practice schedules the visit, submits closure evidence or asks for an exclusion; plan staff accept
or reject what the practice sent. Every move is a GapEvent (who, when, from, to, why).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from caregaps.querysets import CareGapQuerySet, MeasureQuerySet
from core.ids import uuid7
from members.models import Member
from organizations.models import Organization


class Measure(models.Model):
    """One quality measure in the plan's catalog (HEDIS-style): what it is and what closes it."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="measures")
    code = models.CharField(max_length=40, help_text="The plan's code for the measure, as gap files name it.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    closes_with = models.TextField(blank=True, help_text="What closes the gap: the service, test or documentation.")
    fhir_measures = ArrayField(
        models.CharField(max_length=100),
        default=list,
        blank=True,
        help_text="FHIR Measure ids this is (the last part of a MeasureReport's canonical, e.g. EXM130-FHIR).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_default=Now())

    objects = MeasureQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="measure_code_once_per_plan")]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    OPEN = "open", "Open"
    SCHEDULED = "scheduled", "Visit scheduled"
    EVIDENCE_SUBMITTED = "evidence", "Closure evidence submitted"
    EXCLUSION_REQUESTED = "exclusion", "Exclusion requested"
    CLOSED = "closed", "Closed"
    EXCLUDED = "excluded", "Excluded"


OPEN_STATUSES = (Status.OPEN, Status.SCHEDULED, Status.EVIDENCE_SUBMITTED, Status.EXCLUSION_REQUESTED)

# Who moves a gap where. The quality engine (an import) may close any open gap and reopen a
# closed one; the practice's and the plan's moves are the services' (caregaps.services).
ALLOWED: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.SCHEDULED, Status.EVIDENCE_SUBMITTED, Status.EXCLUSION_REQUESTED, Status.CLOSED}),
    Status.SCHEDULED: frozenset(
        {Status.OPEN, Status.SCHEDULED, Status.EVIDENCE_SUBMITTED, Status.EXCLUSION_REQUESTED, Status.CLOSED}
    ),
    Status.EVIDENCE_SUBMITTED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.EXCLUSION_REQUESTED: frozenset({Status.OPEN, Status.EXCLUDED, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
    Status.EXCLUDED: frozenset({Status.OPEN}),
}


class Source(models.TextChoices):
    CSV = "csv", "Gap file (CSV)"
    FHIR = "fhir", "FHIR gaps-in-care report"
    WORKFLOW = "workflow", "CareCoord workflow"


class CareGap(models.Model):
    """One member's gap on one measure, as the plan's quality engine reported it. `source_key`
    makes imports idempotent: the same gap reported again updates this row, never a second one."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="care_gaps")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="gaps")
    description = models.CharField(max_length=300, blank=True)
    due_date = models.DateField(null=True, blank=True, help_text="When the gap must be closed for the measure.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=8, choices=Source.choices)
    source_key = models.CharField(max_length=200, help_text="Idempotency: the source's identity for this gap.")
    scheduled_for = models.DateField(null=True, blank=True, help_text="The visit the practice booked to close it.")
    provider_npi = models.CharField(max_length=10, blank=True, help_text="The rendering provider's NPI, as reported.")
    provider_name = models.CharField(max_length=200, blank=True, help_text="The rendering provider, as reported.")
    practice = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The practice the member is attributed to today, kept by attributed_practices_refresh (on "
        "import, on roster changes and nightly): what the report's counts and filters narrow by. Who may see "
        "the gap is still decided on the attribution itself (caregaps.querysets).",
    )
    practice_until = models.DateField(
        null=True,
        blank=True,
        help_text="The end of that attribution (none: open-ended), so counts by practice stop with it on the day.",
    )
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the practice was reminded that the gap is due within 30 days."
    )
    opened_at = models.DateTimeField(db_default=Now())
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CareGapQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "source_key"], name="care_gap_once_per_source_key"),
            models.CheckConstraint(
                condition=Q(status__in=["closed", "excluded"], closed_at__isnull=False)
                | ~Q(status__in=["closed", "excluded"]) & Q(closed_at__isnull=True),
                name="care_gap_closed_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "measure", "status"], name="care_gap_plan_measure"),
            models.Index(fields=["member", "status"], name="care_gap_member"),
            # A practice's report: its counts per measure (read from the index alone) and its
            # newest gaps first; the plan's newest gaps first.
            models.Index(
                fields=["practice", "measure", "status"],
                include=["plan", "practice_until"],
                name="care_gap_practice_measure",
            ),
            models.Index(fields=["practice", "-opened_at", "-id"], name="care_gap_practice_recent"),
            models.Index(fields=["plan", "-opened_at", "-id"], name="care_gap_plan_recent"),
            # The daily reminder's scan: open gaps not yet reminded, by due date.
            models.Index(
                fields=["plan", "due_date"],
                name="care_gap_to_remind",
                condition=Q(status="open", reminded_at__isnull=True, due_date__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure} ({self.get_status_display().lower()})"


class GapEvent(models.Model):
    """One move on a gap's history, with what came with it (evidence, a reason)."""

    id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    gap = models.ForeignKey(CareGap, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_default=Now())
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    actor_label = models.CharField(max_length=150, help_text="Who, as shown: a person, or the import that did it.")
    from_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Status.choices)
    note = models.TextField(blank=True)
    service_date = models.DateField(null=True, blank=True, help_text="Closure evidence: the date of service.")
    code = models.CharField(
        max_length=40, blank=True, help_text="Closure evidence: the CPT, HCPCS, LOINC or ICD-10 code."
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_status=F("to_status")) | Q(to_status="scheduled"), name="gap_event_moves"
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class EvidenceFile(models.Model):
    """A document sent with closure evidence (a lab result, a visit note). Stored outside any web
    root under a neutral name; served only by a view that checks the gap is visible (core.uploads)."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    gap = models.ForeignKey(CareGap, on_delete=models.CASCADE, related_name="files")
    event = models.ForeignKey(GapEvent, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="care-gap-evidence/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class ReportReview(models.Model):
    """When a person last marked the gap report reviewed: "new since last review" is every gap
    opened after it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    reviewed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} reviewed {self.reviewed_at:%Y-%m-%d %H:%M}"
