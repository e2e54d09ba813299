"""One integrated, person-centred care plan per member (seed 003): problems across the physical,
behavioral and social domains, goals in the member's own words, interventions with an owner,
barriers and strengths. Every change bumps the plan's version and keeps a full snapshot.

Sharing (DESIGN.md "consent gates sharing"): problems, goals and interventions are plan-internal
unless marked `shareable`; a practice sees the shareable ones of its attributed patients, and only
while a release of information names it for care coordination (careplans.querysets).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from careplans import phq9
from careplans.querysets import (
    AssessmentQuerySet,
    CarePlanChildQuerySet,
    CarePlanQuerySet,
    PlanOnlyChildQuerySet,
    PlanOnlyMemberQuerySet,
    RecordRequestChildQuerySet,
    RecordRequestQuerySet,
    SharedItemQuerySet,
)
from core.ids import uuid7
from members.models import Member
from organizations.models import Organization


class Domain(models.TextChoices):
    PHYSICAL = "physical", "Physical health"
    BEHAVIORAL = "behavioral", "Behavioral health"
    SOCIAL = "social", "Social needs"


class GoalPriority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class GoalProgress(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"


class OwnerKind(models.TextChoices):
    CARE_MANAGER = "care_manager", "Care manager"
    PRACTICE = "practice", "Practice"
    MEMBER = "member", "Member"
    CAREGIVER = "caregiver", "Caregiver"
    MEMBER_ADVOCATE = "member_advocate", "Member advocate"
    COMMUNITY = "community", "Community organization"


class InterventionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class CarePlan(models.Model):
    """The member's care plan. `version` counts changes; CarePlanVersion keeps each one.

    A practice sees the shared part only, so it gets a version count of its own: `shared_version`
    moves only when the shared part changes (`shared_digest` tells), and `shared_updated_at` says
    when. Neither number nor time tells a practice that plan-internal items changed.
    """

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="care_plans")
    version = models.PositiveIntegerField(default=0)
    shared_version = models.PositiveIntegerField(default=0)
    shared_digest = models.CharField(max_length=64, blank=True)
    shared_updated_at = models.DateTimeField(db_default=Now())
    barriers = models.TextField(blank=True, help_text="What stands in the way (plan-internal).")
    strengths = models.TextField(blank=True, help_text="What the member brings (plan-internal).")
    next_review_on = models.DateField(null=True, blank=True)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    objects = CarePlanQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member"], name="one_care_plan_per_member")]
        indexes = [
            models.Index(fields=["plan", "-updated_at", "-id"], name="careplan_plan_updated"),
            models.Index(fields=["plan", "next_review_on", "id"], name="careplan_review_due"),
        ]

    def __str__(self) -> str:
        return f"Care plan v{self.version}"


class Problem(models.Model):
    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="problems")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    domain = models.CharField(max_length=12, choices=Domain.choices)
    description = models.CharField(max_length=500)
    root_causes = models.TextField(blank=True)
    shareable = models.BooleanField("share with the care team", default=False)
    substance_use = models.BooleanField(
        "substance-use disorder information (42 CFR Part 2)",
        default=False,
        help_text="Shared only with a practice whose release covers substance-use records.",
    )
    # Set when an assessment's answers offered it (careplans.services.assessment_add_problem).
    source_assessment = models.ForeignKey(
        "Assessment", on_delete=models.SET_NULL, null=True, blank=True, related_name="problems_offered"
    )
    source_need = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    objects = SharedItemQuerySet.as_manager()

    class Meta:
        ordering = ["domain", "created_at", "id"]
        constraints = [
            # One click per offer: an assessment puts each need on the plan once.
            models.UniqueConstraint(
                fields=["source_assessment", "source_need"],
                condition=Q(source_assessment__isnull=False),
                name="one_problem_per_assessment_need",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Goal(models.Model):
    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="goals")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    problem = models.ForeignKey(Problem, on_delete=models.SET_NULL, null=True, blank=True, related_name="goals")
    member_words = models.TextField("the goal, in the member's own words")
    agreed_on = models.DateField("agreed with the member on", null=True, blank=True)
    priority = models.CharField(max_length=8, choices=GoalPriority.choices, default=GoalPriority.MEDIUM)
    target_date = models.DateField(null=True, blank=True)
    progress = models.CharField(max_length=12, choices=GoalProgress.choices, default=GoalProgress.NOT_STARTED)
    progress_note = models.TextField(blank=True)
    shareable = models.BooleanField("share with the care team", default=False)
    substance_use = models.BooleanField(
        "substance-use disorder information (42 CFR Part 2)",
        default=False,
        help_text="Shared only with a practice whose release covers substance-use records.",
    )
    created_at = models.DateTimeField(db_default=Now())

    objects = SharedItemQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.member_words[:80]


class Intervention(models.Model):
    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="interventions")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    goal = models.ForeignKey(Goal, on_delete=models.SET_NULL, null=True, blank=True, related_name="interventions")
    description = models.TextField()
    owner_kind = models.CharField("who does it", max_length=16, choices=OwnerKind.choices)
    owner_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=InterventionStatus.choices, default=InterventionStatus.PLANNED)
    shareable = models.BooleanField("share with the care team", default=False)
    substance_use = models.BooleanField(
        "substance-use disorder information (42 CFR Part 2)",
        default=False,
        help_text="Shared only with a practice whose release covers substance-use records.",
    )
    # Set when a practice added it (always owned by that practice, always shared).
    added_by_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    objects = SharedItemQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(added_by_organization__isnull=True) | Q(shareable=True, owner_kind="practice"),
                name="practice_intervention_is_shared",
            ),
        ]

    def __str__(self) -> str:
        return self.description[:80]


class CarePlanVersion(models.Model):
    """One change to a care plan: who, when, what changed, and the whole plan as it then was."""

    id = models.BigAutoField(primary_key=True)
    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="versions")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    shared_version = models.PositiveIntegerField(default=0, help_text="The shared part's version at this version.")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    changed_at = models.DateTimeField(db_default=Now())
    summary = models.CharField(max_length=300)
    snapshot = models.JSONField()

    objects = PlanOnlyChildQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["care_plan", "number"], name="careplan_version_unique")]

    def __str__(self) -> str:
        return f"Version {self.number}: {self.summary}"


class Acknowledgement(models.Model):
    """A practice contact read the shared part of the care plan at its shared version."""

    id = models.BigAutoField(primary_key=True)
    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="acknowledgements")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    practice = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(help_text="The shared version acknowledged.")
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(db_default=Now())

    objects = CarePlanChildQuerySet.as_manager()

    class Meta:
        ordering = ["-acknowledged_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["care_plan", "practice", "version"], name="one_ack_per_practice_version")
        ]

    def __str__(self) -> str:
        return f"Acknowledged v{self.version}"


class SelfRatedHealth(models.TextChoices):
    EXCELLENT = "excellent", "Excellent"
    VERY_GOOD = "very_good", "Very good"
    GOOD = "good", "Good"
    FAIR = "fair", "Fair"
    POOR = "poor", "Poor"


class Housing(models.TextChoices):
    STABLE = "stable", "Stable housing"
    AT_RISK = "at_risk", "At risk of losing housing"
    UNHOUSED = "unhoused", "Without housing"


class Assessment(models.Model):
    """A comprehensive assessment (seed 003): physical health, behavioral health (with the PHQ-9)
    and social needs, each as free text plus a few structured answers. Plan-internal: a practice
    sees what the care plan shares, never the assessment itself."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="assessments")
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField()
    # Physical health
    self_rated_health = models.CharField(max_length=10, choices=SelfRatedHealth.choices, blank=True)
    chronic_conditions = models.TextField(blank=True)
    ed_visits_12m = models.PositiveSmallIntegerField("emergency visits, last 12 months", null=True, blank=True)
    admissions_12m = models.PositiveSmallIntegerField("hospital stays, last 12 months", null=True, blank=True)
    physical_notes = models.TextField(blank=True)
    # Behavioral health: the PHQ-9 ({LOINC item code: 0–3}), its total (LOINC 44261-6) and band
    phq9_answers = models.JSONField(null=True, blank=True)
    phq9_total = models.PositiveSmallIntegerField(null=True, blank=True)
    phq9_severity = models.CharField(max_length=20, choices=phq9.SEVERITY_CHOICES, blank=True)
    safety_followup_needed = models.BooleanField(default=False)
    substance_use_concern = models.BooleanField(default=False)
    behavioral_notes = models.TextField(blank=True)
    # Social needs
    housing = models.CharField(max_length=10, choices=Housing.choices, blank=True)
    food_insecurity = models.BooleanField(default=False)
    transportation_barrier = models.BooleanField(default=False)
    social_isolation = models.BooleanField(default=False)
    social_notes = models.TextField(blank=True)
    created_at = models.DateTimeField(db_default=Now())

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-assessed_on", "-id"]
        indexes = [models.Index(fields=["member", "-assessed_on"], name="assessment_by_member")]
        constraints = [
            models.CheckConstraint(
                condition=Q(phq9_total__isnull=True, phq9_answers__isnull=True, phq9_severity="")
                | Q(phq9_total__gte=0, phq9_total__lte=27, phq9_answers__isnull=False) & ~Q(phq9_severity=""),
                name="phq9_scored_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment of {self.assessed_on}"

    @property
    def phq9_moderate_or_worse(self) -> bool:
        return self.phq9_severity in phq9.MODERATE_OR_WORSE

    def needs(self) -> list[str]:
        """What the answers point to, for the care plan (keys of careplans.services.NEEDS)."""
        found = []
        if self.phq9_moderate_or_worse:
            found.append("depression")
        if self.substance_use_concern:
            found.append("substance_use")
        if self.housing in (Housing.AT_RISK, Housing.UNHOUSED):
            found.append("housing")
        for need, flagged in (
            ("food", self.food_insecurity),
            ("transportation", self.transportation_barrier),
            ("isolation", self.social_isolation),
        ):
            if flagged:
                found.append(need)
        return found

    def phq9_rows(self) -> list[tuple[int, str, str, int | None]]:
        """(number, LOINC code, question, answer) in item order."""
        answers = self.phq9_answers or {}
        return [(n, code, text, answers.get(code)) for n, (code, text) in enumerate(phq9.ITEMS, start=1)]


class RecordRequest(models.Model):
    """The plan asks a practice for records (seed 004: "request and review records from previous
    or current providers"): what, why, by when. The practice answers with notes and files; an
    unanswered request escalates when it is overdue (careplans.handlers)."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for the practice"
        ANSWERED = "answered", "Answered"
        CANCELLED = "cancelled", "Cancelled"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="record_requests")
    practice = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="record_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(db_default=Now())
    what = models.TextField("records wanted")
    why = models.TextField("why they are needed")
    due_on = models.DateField("needed by")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    escalated_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_notes = models.TextField(blank=True)

    objects = RecordRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["practice", "status", "due_on"], name="recordrequest_practice"),
            models.Index(fields=["plan", "-requested_at", "-id"], name="recordrequest_plan"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="answered") | Q(answered_at__isnull=False, answered_by__isnull=False),
                name="answered_request_says_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return f"Records request to {self.practice_id} ({self.get_status_display()})"


class RecordRequestFile(models.Model):
    """A file the practice sent in answer. Stored outside any web root under a neutral name;
    served only by a view that checks the request is visible to the person asking."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    request = models.ForeignKey(RecordRequest, on_delete=models.CASCADE, related_name="files")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="record-requests/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(db_default=Now())

    objects = RecordRequestChildQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CoordinationNotice(models.Model):
    """The member (or their guardian) was told that care coordination is happening (seed 004:
    "notify member and/or guardian about coordination occurring"): when, how, to whom."""

    class Method(models.TextChoices):
        PHONE = "phone", "Phone"
        IN_PERSON = "in_person", "In person"
        MAIL = "mail", "Letter"
        TEXT = "text", "Text message"
        EMAIL = "email", "Email"
        VIA_PCP = "via_pcp", "Through the PCP's office"

    class Recipient(models.TextChoices):
        MEMBER = "member", "Member"
        GUARDIAN = "guardian", "Guardian / legal representative"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="coordination_notices")
    notified_on = models.DateField()
    method = models.CharField(max_length=12, choices=Method.choices)
    recipient = models.CharField("told", max_length=10, choices=Recipient.choices, default=Recipient.MEMBER)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(db_default=Now())

    objects = PlanOnlyMemberQuerySet.as_manager()

    class Meta:
        ordering = ["-notified_on", "-id"]
        indexes = [models.Index(fields=["member", "-notified_on"], name="coordination_notice_member")]

    def __str__(self) -> str:
        return f"{self.get_recipient_display()} told by {self.get_method_display().lower()} on {self.notified_on}"
