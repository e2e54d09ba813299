"""Referrals to care management: intake, the state machine, the timeline, outreach attempts."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from caseloads.models import Program
from core.ids import uuid7
from members.models import Member
from organizations.models import Credential, Organization
from referrals.querysets import AttachmentQuerySet, AttemptQuerySet, EventQuerySet, ReferralQuerySet


class Status(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    TRIAGED = "triaged", "Triaged"
    ASSIGNED = "assigned", "Assigned"
    OUTREACH = "outreach", "Outreach"
    ENROLLED = "enrolled", "Enrolled"
    DECLINED = "declined", "Declined by member"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    UNABLE_TO_REACH = "unable_to_reach", "Unable to reach"
    CANCELLED = "cancelled", "Cancelled"
    LINKED = "linked", "Linked to an open referral"


OPEN = (Status.SUBMITTED, Status.ACKNOWLEDGED, Status.TRIAGED, Status.ASSIGNED, Status.OUTREACH)
ENDINGS = (Status.DECLINED, Status.NOT_ELIGIBLE, Status.UNABLE_TO_REACH, Status.CANCELLED)

# The state machine (STYLE.md §4): every allowed move, and nothing else. Each ending needs a
# reason; an ending can be reopened (back to acknowledged: it needs triage again), keeping the
# history. "Linked" is where a second referral for a member already in the queue or enrolled goes
# at once, pointing at the open referral or enrollment; it has no moves.
ALLOWED: dict[str, frozenset[str]] = {
    Status.SUBMITTED: frozenset({Status.ACKNOWLEDGED, Status.NOT_ELIGIBLE, Status.CANCELLED}),
    Status.ACKNOWLEDGED: frozenset({Status.TRIAGED, Status.NOT_ELIGIBLE, Status.CANCELLED}),
    Status.TRIAGED: frozenset({Status.ASSIGNED, Status.NOT_ELIGIBLE, Status.CANCELLED}),
    Status.ASSIGNED: frozenset({Status.OUTREACH, Status.NOT_ELIGIBLE, Status.CANCELLED}),
    Status.OUTREACH: frozenset(
        {Status.ENROLLED, Status.DECLINED, Status.NOT_ELIGIBLE, Status.UNABLE_TO_REACH, Status.CANCELLED}
    ),
    Status.ENROLLED: frozenset(),
    Status.DECLINED: frozenset({Status.ACKNOWLEDGED}),
    Status.NOT_ELIGIBLE: frozenset({Status.ACKNOWLEDGED}),
    Status.UNABLE_TO_REACH: frozenset({Status.ACKNOWLEDGED}),
    Status.CANCELLED: frozenset({Status.ACKNOWLEDGED}),
    Status.LINKED: frozenset(),
}


class Source(models.TextChoices):
    PRACTICE = "practice", "Referring practice"
    MEMBER_REQUEST = "member_request", "Member request or self-referral"
    HEALTH_RISK_QUESTIONNAIRE = "hrq", "Health risk questionnaire"
    UTILIZATION_MANAGEMENT = "utilization_management", "Utilization management / concurrent review"
    ADMISSION = "admission", "Admission or readmission data"
    PREDICTIVE_MODEL = "predictive_model", "Predictive model list"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"


class Priority(models.IntegerChoices):
    URGENT = 1, "Urgent"
    HIGH = 2, "High"
    MEDIUM = 3, "Medium"
    LOW = 4, "Low"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    MAIL = "mail", "Mail"
    IN_PERSON = "in_person", "In person"
    VIA_PCP = "via_pcp", "Through the PCP's office"


class Referral(models.Model):
    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referrals")
    source = models.CharField(max_length=24, choices=Source.choices)
    referring_practice = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals_made"
    )
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.TextField()
    diagnoses = models.TextField(blank=True)
    recent_utilization = models.TextField("recent use of care", blank=True)
    clinical_context = models.TextField(blank=True)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    contact_method = models.CharField("best way to reach", max_length=12, choices=ContactMethod.choices, blank=True)
    contact_time = models.CharField("best time to reach", max_length=100, blank=True)
    model_score = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    status_changed_at = models.DateTimeField(db_default=Now())
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    # Queue order: priority once triaged; before that, urgent referrals with the high ones.
    queue_rank = models.PositiveSmallIntegerField()
    program = models.CharField(max_length=24, choices=Program.choices, blank=True)
    skill_needed = models.CharField(max_length=8, choices=Credential.choices, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The current step's deadline, mirrored from its durable Deadline row for the queue's
    # "due today / overdue" filters and badges.
    due_at = models.DateTimeField(null=True, blank=True)
    due_step = models.CharField(max_length=24, blank=True)
    missed_deadlines = models.PositiveSmallIntegerField(default=0)
    outcome_reason = models.TextField(blank=True)
    linked_to = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="linked")
    linked_enrollment = models.ForeignKey(
        "caseloads.Enrollment", on_delete=models.PROTECT, null=True, blank=True, related_name="linked_referrals"
    )
    submitted_at = models.DateTimeField(db_default=Now())

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["queue_rank", "submitted_at", "id"]
        constraints = [
            # At most one referral per member in the queue: a second one is linked to it, and
            # the database refuses a second open one whatever the timing of two submissions.
            models.UniqueConstraint(
                fields=["member"], condition=Q(status__in=[s.value for s in OPEN]), name="one_open_referral_per_member"
            ),
            models.CheckConstraint(
                condition=~Q(status="linked") | Q(linked_to__isnull=False) | Q(linked_enrollment__isnull=False),
                name="linked_referral_points_somewhere",
            ),
            models.CheckConstraint(
                condition=~Q(source="practice") | Q(referring_practice__isnull=False),
                name="practice_referral_names_practice",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["assigned", "outreach"]) | Q(assigned_to__isnull=False),
                name="assigned_referral_has_assignee",
            ),
        ]
        indexes = [
            # The queue: a plan's open referrals in priority, then age, order (keyset pages).
            models.Index(
                fields=["plan", "queue_rank", "submitted_at", "id"],
                condition=Q(status__in=["submitted", "acknowledged", "triaged", "assigned", "outreach"]),
                name="referral_queue",
            ),
            models.Index(fields=["plan", "status"], name="referral_plan_status"),
            models.Index(fields=["referring_practice", "-submitted_at", "-id"], name="referral_by_practice"),
            models.Index(fields=["assigned_to", "status"], name="referral_by_assignee"),
            # The caseload dashboard: each care manager's open referrals with a step due this week.
            models.Index(
                fields=["assigned_to", "due_at"],
                condition=Q(status__in=["submitted", "acknowledged", "triaged", "assigned", "outreach"]),
                name="referral_open_due",
            ),
            models.Index(fields=["member", "-submitted_at"], name="referral_by_member"),
        ]

    def __str__(self) -> str:
        return f"Referral {self.public_id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class ReferralEvent(models.Model):
    """One line of a referral's timeline: a status change, an assignment, a missed deadline."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status change"
        ASSIGNMENT = "assignment", "Assignment"
        DEADLINE_MISSED = "deadline_missed", "Deadline missed"
        NOTE = "note", "Note"
        LINKED = "linked", "Another referral linked"

    id = models.BigAutoField(primary_key=True)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    reason = models.TextField(blank=True, help_text="Shown to the referring practice.")
    internal_note = models.TextField(blank=True, help_text="Plan-internal: never shown to a practice.")
    at = models.DateTimeField(db_default=Now())

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["referral", "at", "id"], name="referral_event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.from_status}→{self.to_status}"


class OutreachAttempt(models.Model):
    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached the member"
        LEFT_MESSAGE = "left_message", "Left a message"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong or disconnected number"
        RETURNED_MAIL = "returned_mail", "Mail returned"

    FAILED = (Outcome.LEFT_MESSAGE, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER, Outcome.RETURNED_MAIL)

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="attempts")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField()
    method = models.CharField(max_length=12, choices=ContactMethod.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.TextField(blank=True, help_text="Plan-internal.")

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["made_at", "id"]
        indexes = [models.Index(fields=["referral", "made_at"], name="attempt_by_referral")]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.get_outcome_display()}"


class ReferralAttachment(models.Model):
    """A PDF or image sent with a referral. Stored outside any web root; served only by a view
    that checks the referral is visible to the person asking (referrals.views)."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="attachments")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="referral-attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(db_default=Now())

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
