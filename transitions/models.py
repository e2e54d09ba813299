"""ADT in: the facility feeds, every message as received, and the hospital encounters they tell of."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.ids import uuid7
from members.models import Member
from organizations.models import Organization
from transitions.querysets import (
    AdtMessageQuerySet,
    AppointmentQuerySet,
    EncounterQuerySet,
    EpisodeQuerySet,
    EpisodeStepQuerySet,
)


class AdtFeed(models.Model):
    """A facility's HL7 v2 feed. MSH-4 of each message names the facility; `sending_facility`
    is compared with its first component (namespace id) or second (universal id, e.g. an OID)."""

    facility = models.OneToOneField(
        Organization,
        on_delete=models.PROTECT,
        related_name="adt_feed",
        limit_choices_to={"kind": Organization.Kind.FACILITY},
    )
    sending_facility = models.CharField("MSH-4 sending facility", max_length=100, unique=True)
    tls_client_subject = models.CharField(
        "MLLP client certificate",
        max_length=200,
        blank=True,
        help_text="The certificate the facility's MLLP sender presents under mutual TLS (mllp_listen "
        "--tls-client-ca): sha256:<fingerprint> for that very certificate (best: no other certificate, "
        "whatever it is called, matches), or its common name. Set, the facility's messages are taken "
        "over MLLP only on such a connection.",
    )
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.facility} ({self.sending_facility})"


class AdtFeedPlan(models.Model):
    """A plan that receives a facility's feed. `payer_code` is how the facility names this plan:
    in IN1-3 (insurance company id) or IN1-2 (plan id), and as PID-3's assigning authority."""

    feed = models.ForeignKey(AdtFeed, on_delete=models.CASCADE, related_name="plans")
    plan = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": Organization.Kind.PLAN}
    )
    payer_code = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["feed", "plan"], name="adt_feed_plan_once")]

    def __str__(self) -> str:
        return f"{self.feed} → {self.plan}"


class Transport(models.TextChoices):
    HTTP = "http", "HTTP"
    MLLP = "mllp", "MLLP"


class MessageStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    NEEDS_REVIEW = "needs_review", "Needs review"
    DISMISSED = "dismissed", "Dismissed"
    DUPLICATE = "duplicate", "Duplicate (nothing changed)"
    REJECTED = "rejected", "Rejected"


# Review is the only move a person makes (STYLE.md §4); ingest sets the first status once.
REVIEW_ALLOWED: dict[str, frozenset[str]] = {
    MessageStatus.NEEDS_REVIEW: frozenset({MessageStatus.APPLIED, MessageStatus.DISMISSED}),
}
# The statuses that hold a (sending facility, control id): a later message with the same key is
# a duplicate. Rejected and duplicate rows do not hold it, so a corrected resend can apply.
KEY_HOLDERS = (MessageStatus.APPLIED, MessageStatus.NEEDS_REVIEW, MessageStatus.DISMISSED)


class MatchMethod(models.TextChoices):
    NONE = "", "Not matched"
    PID_ID = "pid_id", "Member id in PID-3"
    INSURANCE = "insurance", "Member id in IN1"
    NAME_DOB = "name_dob", "Name and date of birth"
    REVIEW = "review", "Matched by plan staff"


class Encounter(models.Model):
    """One hospital or ED stay as the ADT messages describe it (episode-lite: the transition
    episodes and deadlines build on this). Key: plan + sending facility + visit number (PV1-19)."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered (ED / outpatient)"
        ADMITTED = "admitted", "Admitted"
        DISCHARGED = "discharged", "Discharged"
        CANCELLED = "cancelled", "Admission cancelled"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="encounters")
    facility = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, related_name="encounters")
    sending_facility = models.CharField(max_length=100)
    visit_key = models.CharField(max_length=200, help_text="PV1-19 visit number, else patient id + admit time.")
    patient_class = models.CharField(max_length=8, blank=True, help_text="PV1-2: I, E, O, …")
    admission_type = models.CharField(max_length=8, blank=True, help_text="PV1-4: E emergency, U urgent, R routine…")
    hospital_service = models.CharField(max_length=20, blank=True, help_text="PV1-10: MED, SUR, PSY, …")
    diagnosis_codes = ArrayField(
        models.CharField(max_length=20), default=list, blank=True, help_text="DG1-3 codes (ICD-10), principal first."
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    admitted_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    discharge_disposition = models.CharField(max_length=100, blank=True)
    diagnosis = models.CharField(max_length=300, blank=True)
    last_event = models.CharField(max_length=3)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True)

    objects = EncounterQuerySet.as_manager()

    class Meta:
        ordering = ["-admitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sending_facility", "visit_key"], name="encounter_unique_visit"),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.visit_key}"


class AdtMessage(models.Model):
    """One message exactly as received (decoded text; Latin-1 keeps undecodable bytes intact),
    with what became of it and the ACK code it was answered with."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    received_at = models.DateTimeField(db_default=Now())
    transport = models.CharField(max_length=4, choices=Transport.choices)
    raw = models.TextField()
    charset = models.CharField(max_length=16, blank=True)
    feed = models.ForeignKey(AdtFeed, on_delete=models.PROTECT, null=True, blank=True, related_name="messages")
    sending_facility = models.CharField("MSH-4", max_length=100, blank=True)
    control_id = models.CharField("MSH-10", max_length=199, blank=True)
    message_type = models.CharField("MSH-9", max_length=20, blank=True)
    event = models.CharField(max_length=3, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=MessageStatus.choices)
    ack_code = models.CharField(max_length=2)
    error = models.TextField(blank=True)
    # What the facility says about the patient (PID), shown in the review queue.
    patient_name = models.CharField(max_length=200, blank=True)
    patient_dob = models.DateField(null=True, blank=True)
    patient_sex = models.CharField(max_length=1, blank=True)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="adt_messages")
    match_method = models.CharField(max_length=12, choices=MatchMethod.choices, blank=True)
    match_confidence = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    candidate_plans = models.ManyToManyField(Organization, blank=True, related_name="+")
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="messages")
    duplicate_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    objects = AdtMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # Idempotency: one accepted message per sending facility and control id (MSH-10).
            models.UniqueConstraint(
                fields=["sending_facility", "control_id"],
                condition=Q(status__in=[s.value for s in KEY_HOLDERS]) & ~Q(control_id=""),
                name="adt_message_once_per_control_id",
            ),
            models.CheckConstraint(
                condition=~Q(status="applied") | (Q(member__isnull=False) & Q(plan__isnull=False)),
                name="applied_adt_message_has_member",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at", "id"], name="adt_message_status_idx"),
            models.Index(fields=["plan", "received_at", "id"], name="adt_message_plan_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.control_id} ({self.status})"


# ---- Transition episodes --------------------------------------------------------------------------


class Side(models.TextChoices):
    PLAN = "plan", "Plan"
    PRACTICE = "practice", "Practice"


class Episode(models.Model):
    """A transition of care: opened by an inpatient discharge, holding its deadlines (steps) and
    appointments. Closed when every step is met, or when its 30-day window has passed."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled (discharge cancelled)"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="episodes")
    encounter = models.OneToOneField(Encounter, on_delete=models.PROTECT, related_name="episode")
    practice = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transition_episodes",
        help_text="The practice the member was attributed to at discharge.",
    )
    care_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The assigned care manager at discharge (plan steps are theirs); none: the supervisors'.",
    )
    admitted_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField()
    is_mental_health = models.BooleanField(
        default=False, help_text="A mental-health stay: the 7-day visit must be with a mental-health provider."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Earliest due time of the steps still open (met late or never): the worklist's order.
    next_due_at = models.DateTimeField(null=True, blank=True)
    readmission_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="readmissions"
    )
    readmitted_at = models.DateTimeField(null=True, blank=True, help_text="Readmitted within 30 days of discharge.")
    readmission_encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="readmission_of_episodes"
    )
    lace_score = models.PositiveSmallIntegerField(null=True, blank=True)
    lace_parts = models.JSONField(default=dict, blank=True)
    discharge_info = models.TextField(blank=True, help_text="Discharge information shared with the practice.")
    opened_at = models.DateTimeField(db_default=Now())
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = EpisodeQuerySet.as_manager()

    class Meta:
        ordering = ["-discharged_at", "-id"]
        indexes = [
            models.Index(fields=["plan", "next_due_at", "id"], condition=Q(status="open"), name="episode_open_by_due"),
            models.Index(
                fields=["practice", "next_due_at", "id"], condition=Q(status="open"), name="episode_practice_due"
            ),
            models.Index(fields=["plan", "discharged_at"], name="episode_plan_discharged"),
            models.Index(fields=["member", "discharged_at"], name="episode_member_discharged"),
        ]

    def __str__(self) -> str:
        return f"Transition after discharge {self.discharged_at:%Y-%m-%d}"


class EpisodeStep(models.Model):
    """One deadline of an episode, owned by one side: open until met; missed when its time
    passes (it may still be met late, which the rates do not count as on time)."""

    class Kind(models.TextChoices):
        OUTREACH = "outreach", "Outreach to the member"
        DISCHARGE_INFO = "discharge_info", "Discharge information received and shared"
        FOLLOW_UP = "follow_up", "Follow-up visit within 7 days"
        MED_REC = "med_rec", "Medication reconciliation"
        ENGAGEMENT = "engagement", "Patient engagement"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MET = "met", "Met"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    class Escalation(models.IntegerChoices):
        NONE = 0, "Not escalated"
        CARE_MANAGER = 1, "Care manager told"
        SUPERVISOR = 2, "Supervisor told"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    side = models.CharField(max_length=8, choices=Side.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    met_note = models.CharField(max_length=300, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    escalation = models.PositiveSmallIntegerField(choices=Escalation.choices, default=Escalation.NONE)

    objects = EpisodeStepQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "kind"], name="one_step_of_each_kind"),
            models.CheckConstraint(condition=~Q(status="met") | Q(met_at__isnull=False), name="met_step_has_met_at"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def on_time(self) -> bool:
        return self.status == self.Status.MET and self.met_at is not None and self.met_at <= self.due_at


class Appointment(models.Model):
    """A visit after discharge: scheduled, then kept or missed (seed 003: validate that services
    were received; reschedule a missed one). Transportation can be arranged for it."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        KEPT = "kept", "Kept"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="appointments")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="appointments")
    scheduled_for = models.DateTimeField()
    provider_name = models.CharField(max_length=200)
    is_mental_health_provider = models.BooleanField(default=False)
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    outcome_note = models.CharField(max_length=300, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transport_needed = models.BooleanField(default=False)
    transport_arranged = models.CharField(max_length=300, blank=True, help_text="What was arranged (vendor, pick-up).")
    rescheduled_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="rescheduled_as"
    )
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scheduled_by_side = models.CharField(max_length=8, choices=Side.choices)
    created_at = models.DateTimeField(db_default=Now())

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["scheduled_for", "id"]
        indexes = [models.Index(fields=["episode", "scheduled_for"], name="appointment_by_episode")]

    def __str__(self) -> str:
        return f"{self.provider_name} {self.scheduled_for:%Y-%m-%d %H:%M}"
