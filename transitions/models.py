"""ADT in: the facility feeds, every message as received, and the hospital encounters they tell of."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.ids import uuid7
from members.models import Member
from organizations.models import Organization
from transitions.querysets import AdtMessageQuerySet, EncounterQuerySet


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
