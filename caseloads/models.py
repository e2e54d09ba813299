from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from caseloads.querysets import ContactLogQuerySet, EnrollmentQuerySet, TaskQuerySet
from core.ids import uuid7
from members.models import Member
from organizations.models import Organization


class Program(models.TextChoices):
    COMPLEX_CARE = "complex_care", "Complex care management"
    BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral health"
    PERINATAL = "perinatal", "Perinatal"
    TRANSITIONS = "transitions", "Transitions of care"
    SOCIAL_NEEDS = "social_needs", "Social needs"


class Acuity(models.TextChoices):
    INTENSIVE = "intensive", "Intensive"
    HIGH = "high", "High"
    MODERATE = "moderate", "Moderate"
    LOW = "low", "Low"
    SELF_MANAGEMENT = "self_management", "Self-management"


# Caseload weight of one member at each acuity level: what "acuity-weighted caseload" sums.
ACUITY_WEIGHT = {
    Acuity.INTENSIVE: 4.0,
    Acuity.HIGH: 3.0,
    Acuity.MODERATE: 2.0,
    Acuity.LOW: 1.0,
    Acuity.SELF_MANAGEMENT: 0.5,
}


class Enrollment(models.Model):
    """A member's care-management enrollment: the program, how intensive, and who manages it.
    One active enrollment per member (database rule)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="enrollments")
    program = models.CharField(max_length=24, choices=Program.choices)
    acuity = models.CharField(max_length=16, choices=Acuity.choices)
    care_manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    referral = models.OneToOneField(
        "referrals.Referral", on_delete=models.PROTECT, null=True, blank=True, related_name="enrollment"
    )
    # Perinatal program: followed through 90 days postpartum (a deadline prompts the closure review).
    expected_delivery_date = models.DateField(null=True, blank=True)
    delivery_date = models.DateField(null=True, blank=True)
    # Behavioral-health co-management with a partner organization (seed 001).
    co_managed = models.BooleanField(default=False)
    co_manager = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    co_manager_contact = models.CharField(max_length=200, blank=True, help_text="Name, phone or email at the partner.")
    created_at = models.DateTimeField(db_default=Now())

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="active"), name="one_active_enrollment_per_member"
            ),
            models.CheckConstraint(
                condition=Q(status="active", end_date__isnull=True) | Q(status="ended", end_date__isnull=False),
                name="enrollment_end_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(co_managed=False, co_manager__isnull=True) | Q(co_managed=True, co_manager__isnull=False),
                name="enrollment_co_manager_when_co_managed",
            ),
        ]
        indexes = [
            models.Index(fields=["care_manager"], condition=Q(status="active"), name="enrollment_active_by_cm"),
            # The supervisor's dashboard: active members per care manager, acuity and program,
            # counted from the index alone (index-only scan), never from the table.
            models.Index(
                fields=["plan", "care_manager", "acuity", "program"],
                condition=Q(status="active"),
                name="enrollment_active_load",
            ),
            models.Index(
                fields=["plan", "co_manager"],
                condition=Q(status="active", co_managed=True),
                name="enrollment_co_managed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_program_display()} ({self.get_acuity_display()})"


class EnrollmentEvent(models.Model):
    """One line of an enrollment's history: acuity moves toward self-management, a new care
    manager, co-management, delivery, the end (seed 001: progression of care)."""

    class Kind(models.TextChoices):
        STARTED = "started", "Enrolled"
        ACUITY = "acuity", "Acuity changed"
        CARE_MANAGER = "care_manager", "Care manager changed"
        COVERAGE = "coverage", "Coverage"
        CO_MANAGEMENT = "co_management", "Co-management"
        DELIVERY = "delivery", "Delivery recorded"
        ENDED = "ended", "Enrollment ended"

    id = models.BigAutoField(primary_key=True)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="events")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["enrollment", "at", "id"], name="enrollment_event_history")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.from_value} → {self.to_value}"


class Coverage(models.Model):
    """A care manager's caseload covered by colleagues during an absence. Until `ends_on` the
    members sit with the covering care managers; then a deadline returns those still there."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Covering"
        RETURNED = "returned", "Returned"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    absent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    covering = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ends_on = models.DateField(help_text="The last day of cover; members return the next morning.")
    reason = models.CharField(max_length=200)
    enrollments = models.ManyToManyField(Enrollment, related_name="coverages")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(absent=models.F("covering")), name="coverage_by_someone_else")
        ]

    def __str__(self) -> str:
        return f"Cover until {self.ends_on}"


class Task(models.Model):
    """One item on a staff member's worklist."""

    class Origin(models.TextChoices):
        CARE_PLAN = "care_plan", "Care plan"
        REFERRAL = "referral", "Referral"
        TRANSITION = "transition", "Transition of care"
        CARE_GAP = "care_gap", "Care gap"
        REQUEST = "request", "Request"
        ENROLLMENT = "enrollment", "Enrollment"
        SOCIAL_NEEDS = "social_needs", "Social needs"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tasks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    due_date = models.DateField()
    origin = models.CharField(max_length=12, choices=Origin.choices)
    origin_key = models.CharField(
        max_length=120, blank=True, help_text="What made the task (idempotency: one open task per key)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["origin_key"], condition=Q(status="open") & ~Q(origin_key=""), name="one_open_task_per_origin"
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | ~Q(status="open") & Q(closed_at__isnull=False),
                name="task_closed_at_matches_status",
            ),
        ]
        indexes = [
            # A worklist in due order; with plan and member included, the dashboard counts overdue
            # and due-this-week tasks per owner from the index alone.
            models.Index(
                fields=["owner", "due_date", "id"],
                include=["plan", "member"],
                condition=Q(status="open"),
                name="task_open_by_owner",
            ),
            models.Index(fields=["plan", "due_date", "id"], condition=Q(status="open"), name="task_open_by_plan"),
            models.Index(fields=["member", "status"], name="task_by_member"),
        ]

    def __str__(self) -> str:
        return self.title


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone"
    FAX = "fax", "Fax"
    VIDEO = "video", "Video"
    MEETING = "meeting", "Meeting"
    PORTAL = "portal", "Portal message"
    IN_PERSON = "in_person", "In person"


class ContactLog(models.Model):
    """One coordination contact about a member: with whom, how, what came of it. Notes are
    plan-internal unless marked shareable; shareable ones reach the member's practice while a
    release covers it."""

    class Outcome(models.TextChoices):
        COMPLETED = "completed", "Completed"
        LEFT_MESSAGE = "left_message", "Left a message"
        NO_ANSWER = "no_answer", "No answer"
        FOLLOW_UP = "follow_up", "Follow-up needed"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contacts")
    made_at = models.DateTimeField()
    method = models.CharField(max_length=12, choices=ContactMethod.choices)
    with_whom = models.CharField(max_length=200, help_text="The person or office spoken with.")
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    shareable = models.BooleanField(default=False, help_text="Shareable with the member's practice.")
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    logged_at = models.DateTimeField(db_default=Now())

    objects = ContactLogQuerySet.as_manager()

    class Meta:
        ordering = ["-made_at", "-id"]
        indexes = [models.Index(fields=["member", "-made_at", "-id"], name="contact_log_by_member")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} with {self.with_whom}"
