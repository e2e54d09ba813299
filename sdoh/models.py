"""Social needs: screenings (AHC HRSN, PRAPARE) and the needs they identify on a member.

A screening stores the answers as given (question LOINC code -> answer codes) and the result the
instrument's rules gave (sdoh.instruments), so a later change of rules never rewrites what a
screening said. Each positive domain becomes a Need on the member; a member has at most one open
need per category (a database rule), so a re-screen that finds the same need links to it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.ids import uuid7
from members.models import Member
from organizations.models import Organization
from sdoh import instruments
from sdoh.querysets import MemberScopedQuerySet, ResourceQuerySet, SocialReferralQuerySet

INSTRUMENT_CHOICES = [(i.code, i.name) for i in instruments.INSTRUMENTS.values()]


class Screening(models.Model):
    class Source(models.TextChoices):
        FORM = "form", "Entered in CareCoord"
        API = "api", "Sent through the API"
        FHIR = "fhir", "FHIR QuestionnaireResponse or Observation"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="screenings")
    instrument = models.CharField(max_length=10, choices=INSTRUMENT_CHOICES)
    screened_on = models.DateField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.FORM)
    answers = models.JSONField(help_text="Question LOINC code -> the answer codes (or values) given.")
    result = models.JSONField(help_text="Per domain: positive (or undecided), score, the answers that made it so.")
    positive = models.BooleanField(help_text="Any domain screened positive.")
    safety_score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="AHC interpersonal safety, 4-20.")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_by_organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    objects = MemberScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-screened_on", "-id"]
        indexes = [models.Index(fields=["member", "-screened_on"], name="screening_member")]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} on {self.screened_on}"


class Need(models.Model):
    """A social need identified on a member, worked to an outcome (seed 001: member advocates)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        DECLINED = "declined", "Declined by the member"

    STILL_OPEN = (Status.OPEN, Status.IN_PROGRESS)

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="social_needs")
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="needs")
    category = models.CharField(max_length=40, help_text="sdoh.instruments need category code.")
    title = models.CharField(max_length=120)
    gravity_code = models.CharField(max_length=60, blank=True)
    suggested_problem = models.TextField()
    suggested_goal = models.TextField()
    evidence = models.JSONField(default=list, help_text="The answers that identified the need.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    outcome_note = models.TextField(blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome_at = models.DateTimeField(null=True, blank=True)
    problem = models.ForeignKey(
        "careplans.Problem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The care-plan problem made from the suggestion.",
    )
    created_at = models.DateTimeField(db_default=Now())

    objects = MemberScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "category"],
                condition=Q(status__in=["open", "in_progress"]),
                name="need_open_once_per_category",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "in_progress"]) | Q(outcome_at__isnull=False),
                name="need_outcome_has_a_date",
            ),
        ]
        indexes = [
            models.Index(
                fields=["plan", "created_at"],
                name="need_open_worklist",
                condition=Q(status__in=["open", "in_progress"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display().lower()})"


CATEGORY_CHOICES = [(code, c.title) for code, c in instruments.NEED_CATEGORIES.items()]


class CommunityService(models.Model):
    """One service of a community organization in the plan's resource directory: what need it
    meets, for whom, in which languages, when, where (ZIP codes served), how to reach it, and when
    the plan last checked it is still so."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    organization_name = models.CharField(max_length=200)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="directory_services",
        help_text="The community organization in CareCoord, where it takes referrals here.",
    )
    name = models.CharField(max_length=200, help_text="The service, e.g. 'Emergency rental assistance'.")
    description = models.TextField(blank=True)
    categories = ArrayField(models.CharField(max_length=40, choices=CATEGORY_CHOICES))
    eligibility = models.TextField(blank=True)
    languages = ArrayField(models.CharField(max_length=8), default=list, help_text="ISO 639-1 codes, e.g. en, es.")
    hours = models.CharField(max_length=200, blank=True)
    zip_codes = ArrayField(models.CharField(max_length=5), help_text="The 5-digit ZIP codes it serves.")
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    last_verified = models.DateField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        ordering = ["organization_name", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "organization_name", "name"], name="community_service_once_per_plan"
            )
        ]
        indexes = [
            GinIndex(fields=["categories"], name="service_categories"),
            GinIndex(fields=["zip_codes"], name="service_zip_codes"),
            GinIndex(fields=["languages"], name="service_languages"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization_name})"


class SocialReferral(models.Model):
    """A closed-loop referral of a member to a community organization's service (or a transport
    request to a transport vendor). Statuses are the Gravity Project's referral-management Task
    statuses (SDOHCC TaskReferralManagement): requested → received (the organization opened it)
    → accepted or rejected → completed (service delivered) or failed (not delivered); cancelled by
    the plan while still open."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Community service"
        TRANSPORT = "transport", "Transportation"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Declined"
        COMPLETED = "completed", "Service delivered"
        FAILED = "failed", "Service not delivered"
        CANCELLED = "cancelled", "Cancelled"

    AWAITING = (Status.REQUESTED, Status.RECEIVED)
    OPEN = (Status.REQUESTED, Status.RECEIVED, Status.ACCEPTED)

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="social_referrals")
    need = models.ForeignKey(Need, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="social_referrals_in")
    service = models.ForeignKey(
        CommunityService, on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SERVICE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    request_note = models.TextField(help_text="What the member needs, in words the organization reads.")
    status_reason = models.TextField(blank=True, help_text="Why declined, or what was (not) delivered.")
    pickup = models.CharField(max_length=300, blank=True, help_text="Transport: from where, to where, when.")
    share_with_practice = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    objects = SocialReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="social_referral_inbox"),
            models.Index(fields=["plan", "-created_at", "-id"], name="social_referral_plan"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} referral to {self.organization_id} ({self.status})"


class SocialReferralEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    referral = models.ForeignKey(SocialReferral, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_default=Now())
    actor_label = models.CharField(max_length=150)
    actor_organization = models.CharField(max_length=200)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"
