from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from caseloads.querysets import EnrollmentQuerySet
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
        ]
        indexes = [
            models.Index(fields=["care_manager"], condition=Q(status="active"), name="enrollment_active_by_cm"),
        ]

    def __str__(self) -> str:
        return f"{self.get_program_display()} ({self.get_acuity_display()})"
