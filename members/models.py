import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Lower, Now

from core.ids import uuid7
from members.querysets import (
    AttributionQuerySet,
    CareTeamQuerySet,
    EligibilityQuerySet,
    MemberQuerySet,
    ReleaseQuerySet,
    RosterImportQuerySet,
)
from organizations.models import Organization


def dates_ordered(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")), name=name)


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class DatedRow(models.Model):
    """A row in force from start_date through end_date (open-ended when end_date is empty)."""

    class Meta:
        abstract = True

    def in_force_on(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or self.end_date >= day)


class Member(models.Model):
    """A plan member: the plan's tenant data. `member_number` is the plan's own id for the person."""

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "X", "Other / nonbinary"
        UNKNOWN = "U", "Unknown"

    class RiskTier(models.TextChoices):
        LOW = "low", "Low"
        MODERATE = "moderate", "Moderate"
        HIGH = "high", "High"
        VERY_HIGH = "very_high", "Very high"
        UNSCORED = "", "Not scored"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    # No index of its own: the member id's unique index and the per-plan name and birth-date
    # indexes below all lead with it.
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="members", db_index=False)
    member_number = models.CharField("member id", max_length=32)
    first_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    # What name search ranks by (members.search): lower-case "first last", kept by the database.
    search_name = models.GeneratedField(
        expression=Lower(Concat("first_name", Value(" "), "last_name")),
        output_field=models.CharField(max_length=201),
        db_persist=True,
    )
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    preferred_language = models.CharField(max_length=32, default="English")
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    guardian_name = models.CharField("guardian or caregiver", max_length=200, blank=True)
    guardian_relationship = models.CharField(max_length=50, blank=True)
    guardian_phone = models.CharField(max_length=32, blank=True)
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, blank=True, default="")
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_inputs = models.JSONField(default=list, blank=True, help_text="[{input, value, points}] behind the tier.")
    risk_computed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "member_number"], name="member_number_unique_in_plan"),
        ]
        indexes = [
            # Name order is case-insensitive (lower(last), lower(first), id). Per plan: a plan's
            # list, keyset pages. Across plans: a practice's list (PostgreSQL walks names in
            # order and keeps the members attributed to the practice) and exact-name search.
            models.Index("plan", Lower("last_name"), Lower("first_name"), "id", name="member_plan_name"),
            models.Index(Lower("last_name"), Lower("first_name"), "id", name="member_name"),
            models.Index(fields=["plan", "date_of_birth"], name="member_plan_dob"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def age(self) -> int:
        return age_on(self.date_of_birth, self.plan.local_date())

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)


class NamePart(models.Model):
    """Every first and last name in use, lower-cased, once: the dictionary name search matches typed
    words against (members.search). A handful of rows per thousand members, so a trigram match
    here is cheap where the same match across every member's name is not. Kept by database
    triggers on members_member (migration 0005), whatever writes the member.
    """

    value = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.value


class EligibilitySpan(DatedRow):
    """A period of coverage with the plan. Spans of one member never overlap (a database rule:
    migration 0006's trigger, see there)."""

    id = models.BigAutoField(primary_key=True)
    # No single-column indexes: (member, start_date) serves member lookups, and rows are never
    # read by plan alone.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="eligibility_spans", db_index=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    product = models.CharField(max_length=64, blank=True, help_text="Line of business, e.g. Medicaid.")

    objects = EligibilityQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["member", "start_date"], name="eligibility_unique_start"),
            dates_ordered("eligibility_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.product or 'Coverage'} from {self.start_date}"


class Attribution(DatedRow):
    """Which practice a member is attributed to, when. One practice at a time per member (a
    database rule: migration 0006's trigger); ended rows are the history. Written only by the
    roster import (members.roster), which tells the apps that copy attributions
    (members.signals.attributions_changed): any other writer must do the same."""

    class Source(models.TextChoices):
        ROSTER = "roster", "Roster import"
        MANUAL = "manual", "Entered by plan staff"

    id = models.BigAutoField(primary_key=True)
    # Indexed through (member, start_date) and (practice, member, …) below.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="attributions", db_index=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    practice = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="attributions", db_index=False)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ROSTER)
    created_at = models.DateTimeField(db_default=Now())

    objects = AttributionQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["member", "start_date"], name="attribution_unique_start"),
            dates_ordered("attribution_dates_ordered"),
        ]
        indexes = [
            models.Index(fields=["practice", "member", "start_date", "end_date"], name="attribution_practice"),
        ]

    def __str__(self) -> str:
        return f"Attribution from {self.start_date}"


class CareTeamMember(DatedRow):
    """Someone on the member's care team (seed 004), with one designated point of contact."""

    class Role(models.TextChoices):
        PCP = "pcp", "Primary care provider"
        BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral health provider"
        SPECIALIST = "specialist", "Specialist"
        PHARMACIST = "pharmacist", "Pharmacist"
        THERAPIST = "therapist", "Therapist (PT / OT / speech)"
        DENTAL_VISION = "dental_vision", "Dental or vision provider"
        CARE_MANAGER = "care_manager", "Plan care manager"
        COMMUNITY_SUPPORT = "community_support", "Community support"
        EDUCATION = "education", "School or educational support"
        FAMILY = "family", "Family member"
        CAREGIVER = "caregiver", "Caregiver"
        OTHER = "other", "Other"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="care_team")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=24, choices=Role.choices)
    name = models.CharField(max_length=200)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    specialty = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    is_point_of_contact = models.BooleanField(default=False)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    objects = CareTeamQuerySet.as_manager()

    class Meta:
        ordering = ["-is_point_of_contact", "role", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(is_point_of_contact=True, end_date__isnull=True),
                name="one_point_of_contact_per_member",
            ),
            dates_ordered("careteam_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class ReleaseOfInformation(models.Model):
    """Consent to share the member's information with one party for named purposes.

    Substance-use disorder records (42 CFR Part 2) are covered only by a release that says so.
    Revocation takes effect at once: `ReleaseQuerySet.in_force()` is the only test of coverage.
    """

    class Purpose(models.TextChoices):
        CARE_COORDINATION = "care_coordination", "Care coordination"
        TREATMENT = "treatment", "Treatment"
        SOCIAL_SERVICES = "social_services", "Social services"
        RECORDS_EXCHANGE = "records_exchange", "Exchange of records"

    class RecipientKind(models.TextChoices):
        PRACTICE = "practice", "Primary care practice"
        PROVIDER = "provider", "Other provider"
        BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral health provider"
        COMMUNITY = "community", "Community organization"
        FAMILY = "family", "Family or caregiver"
        OTHER = "other", "Other"

    class Signer(models.TextChoices):
        MEMBER = "member", "Member"
        GUARDIAN = "guardian", "Guardian / legal representative"

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="releases")
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    recipient_kind = models.CharField(max_length=24, choices=RecipientKind.choices)
    recipient_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient_name = models.CharField(max_length=200, help_text="The party as named on the signed form.")
    purposes = ArrayField(models.CharField(max_length=24, choices=Purpose.choices))
    includes_substance_use = models.BooleanField("covers substance-use records (42 CFR Part 2)", default=False)
    signed_by = models.CharField(max_length=8, choices=Signer.choices)
    signer_name = models.CharField(max_length=200)
    signed_on = models.DateField()
    effective_from = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revocation_reason = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when CareCoord recorded it (an import or the demo).",
    )
    created_at = models.DateTimeField(db_default=Now())

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_from", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=F("effective_from")),
                name="release_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(effective_from__gte=F("signed_on")), name="release_effective_after_signing"
            ),
            models.CheckConstraint(condition=~Q(purposes=[]), name="release_has_purpose"),
        ]

    def __str__(self) -> str:
        return f"Release to {self.recipient_name}"

    def in_force_on(self, day: dt.date) -> bool:
        return (
            self.revoked_at is None
            and self.effective_from <= day
            and (self.expires_on is None or self.expires_on >= day)
        )


class RosterImport(models.Model):
    """One uploaded eligibility/attribution file and what became of it (members.roster)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        VALIDATING = "validating", "Checking rows"
        SUCCEEDED = "succeeded", "Applied"
        REJECTED = "rejected", "Rejected: bad rows, nothing applied"
        FAILED = "failed", "Failed"

    FINISHED = (Status.SUCCEEDED, Status.REJECTED, Status.FAILED)

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="roster_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="roster-imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, field, message}], the first 1,000.")
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RosterImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["plan", "-created_at", "-id"], name="rosterimport_plan_time")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
