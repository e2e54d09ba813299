import datetime as dt
import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.ids import uuid7
from organizations.querysets import OrganizationQuerySet, PartnershipQuerySet, StaffManager


class PlanLocalDate(Func):
    """Today in a plan's own time zone, computed by PostgreSQL: `timezone(<tz>, now())::date`.

    Coverage, attribution and consent windows are dates in the plan's time zone; comparing them
    with the server's (UTC) date would open a practice's view of a member hours early or late.
    Pass the path to the plan's `timezone` field, e.g. `PlanLocalDate("plan__timezone")`.
    """

    template = "(timezone(%(expressions)s, now()))::date"
    output_field = models.DateField()

    def __init__(self, timezone_path: str):
        super().__init__(F(timezone_path))


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class Organization(models.Model):
    """A health plan (the tenant), a practice, a community organization or a facility."""

    class Kind(models.TextChoices):
        PLAN = "plan", "Health plan"
        PRACTICE = "practice", "Medical practice"
        COMMUNITY = "community", "Community organization"
        FACILITY = "facility", "Hospital / facility"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    npi = models.CharField("NPI", max_length=10, blank=True, help_text="Practices and facilities.")
    timezone = models.CharField(max_length=64, default="America/Chicago", validators=[validate_timezone])
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Container permissions (DESIGN.md "Tenancy and access"): granted with django-guardian on an
        # organization to that organization's role groups (organizations.roles), checked by
        # Actor.require(). Later apps add theirs here, so the whole access table reads in one place.
        permissions = [
            ("view_members", "View the plan's members, or a practice's attributed patients"),
            ("change_members", "Edit member demographics and contact details"),
            ("view_member_internal", "See plan-internal member details (risk inputs)"),
            ("manage_care_team", "Add and end care team entries"),
            ("manage_consents", "Record and revoke releases of information"),
            ("import_roster", "Upload eligibility and attribution rosters"),
            ("view_audit", "Browse the audit trail"),
            ("view_staff", "See the organization's staff directory"),
            ("manage_staff", "Add staff and change their roles"),
            ("manage_partnerships", "Edit partnership agreements and points of contact"),
            ("review_partnerships", "Record the annual partnership review"),
            ("view_referrals", "See referrals: a plan's queue, or the referrals a practice made"),
            ("refer_members", "Refer attributed patients to the plan's care management"),
            ("record_referrals", "Record referrals from the plan's own sources"),
            ("triage_referrals", "Acknowledge, triage, reopen and close referrals"),
            ("claim_referrals", "Take an unassigned referral from the pool"),
            ("assign_referrals", "Assign and reassign referrals to care managers"),
            ("work_referrals", "Reach out to referred members and decide enrollment"),
            ("import_referral_lists", "Create referrals in bulk from a predictive-model list"),
            ("view_caseloads", "See enrollments, worklist tasks and the contact log"),
            ("work_caseloads", "Change acuity, end enrollments, work tasks and log contacts"),
            ("supervise_caseloads", "See the caseload dashboard and reassign members between care managers"),
            ("view_careplans", "See care plans and assessments (a practice: the shared parts only)"),
            ("edit_careplans", "Assess members and edit their care plans"),
            ("acknowledge_careplans", "Acknowledge a shared care plan and add the practice's interventions"),
            ("request_records", "Ask a practice for records"),
            ("answer_record_requests", "Answer the plan's requests for records"),
            ("send_adt", "Send HL7 ADT messages (a facility's interface account)"),
            ("review_adt_messages", "Match or dismiss unmatched ADT messages in the review queue"),
            ("view_transitions", "See transition episodes, their deadlines and the follow-up rates"),
            ("work_transitions", "Act on a transition: outreach, discharge information, appointments, medications"),
            ("view_care_gaps", "See care gaps: the plan's, or a practice's attributed patients'"),
            ("import_care_gaps", "Import gap lists from the plan's quality engine"),
            ("work_care_gaps", "Act on a care gap: book the visit, send closure evidence, ask for an exclusion"),
            ("adjudicate_care_gaps", "Accept or reject a practice's closure evidence and exclusion requests"),
            ("view_social_needs", "See social-needs screenings and the needs found (a practice: its patients')"),
            ("screen_members", "Enter a social-needs screening (AHC HRSN, PRAPARE)"),
            ("work_social_needs", "Record the outcome of a social need and add it to the care plan"),
            ("manage_resources", "Keep the community resource directory (edit, import, verify)"),
            ("view_social_referrals", "See community referrals (an organization: only those sent to it)"),
            ("make_social_referrals", "Refer members to community organizations"),
            ("answer_social_referrals", "Accept or decline a community referral and report the service"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "npi"], condition=~Q(npi=""), name="org_unique_npi_per_kind"),
            models.CheckConstraint(condition=Q(npi="") | Q(npi__regex=r"^[0-9]{10}$"), name="org_npi_10_digits"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_date(self) -> dt.date:
        """Today where this organization is."""
        return timezone.localdate(timezone=self.tz)

    @property
    def is_plan(self) -> bool:
        return self.kind == self.Kind.PLAN


class PlanHoliday(models.Model):
    """Days a plan's offices are closed; business-day deadlines skip them."""

    plan = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["plan", "date"], name="holiday_unique_per_plan")]

    def __str__(self) -> str:
        return f"{self.name} ({self.date})"


class Role(models.TextChoices):
    PLAN_ADMIN = "plan_admin", "Plan administrator"
    SUPERVISOR = "supervisor", "Supervisor"
    CARE_MANAGER = "care_manager", "Care manager"
    CARE_COORDINATOR = "care_coordinator", "Care coordinator"
    MEMBER_ADVOCATE = "member_advocate", "Member advocate / community health worker"
    INTAKE = "intake", "Intake"
    PRACTICE_ADMIN = "practice_admin", "Practice administrator"
    PRACTICE_CONTACT = "practice_contact", "Practice contact"
    CLINICIAN = "clinician", "Clinician"
    COMMUNITY_STAFF = "community_staff", "Community organization staff"
    FACILITY_INTERFACE = "facility_interface", "Facility interface (system)"


ROLES_BY_KIND: dict[str, frozenset[str]] = {
    Organization.Kind.PLAN: frozenset(
        {Role.PLAN_ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CARE_COORDINATOR, Role.MEMBER_ADVOCATE, Role.INTAKE}
    ),
    Organization.Kind.PRACTICE: frozenset({Role.PRACTICE_ADMIN, Role.PRACTICE_CONTACT, Role.CLINICIAN}),
    Organization.Kind.COMMUNITY: frozenset({Role.COMMUNITY_STAFF}),
    Organization.Kind.FACILITY: frozenset({Role.FACILITY_INTERFACE}),
}


class Credential(models.TextChoices):
    RN = "RN", "Registered nurse (RN)"
    LCSW = "LCSW", "Licensed clinical social worker (LCSW)"
    CHW = "CHW", "Community health worker"
    MD = "MD", "Physician"
    OTHER = "other", "Other"
    NONE = "", "None"


class User(AbstractUser):
    """A person (or system account) who signs in. Staff belong to exactly one organization."""

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    credential = models.CharField(max_length=8, choices=Credential.choices, blank=True)
    title = models.CharField(max_length=100, blank=True)
    team = models.CharField(max_length=60, blank=True, help_text="The care team a supervisor filters by.")
    phone = models.CharField(max_length=32, blank=True)
    languages = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    caseload_capacity = models.PositiveIntegerField(
        default=0, help_text="Acuity-weighted caseload the person can carry; 0 for roles without a caseload."
    )

    objects = StaffManager()

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(organization__isnull=True) & Q(role="")) | (Q(organization__isnull=False) & ~Q(role="")),
                name="user_org_and_role_together",
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Partnership(models.Model):
    """A plan–practice collaborative care agreement (seed 000), reviewed at least annually."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    plan = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="practice_partnerships")
    practice = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="plan_partnerships")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    next_review_on = models.DateField(help_text="Roles and responsibilities are reviewed at least annually.")
    agreement_summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PartnershipQuerySet.as_manager()

    class Meta:
        ordering = ["plan__name", "practice__name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "practice"], name="partnership_unique_pair"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="partnership_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} – {self.practice}"


class PartnershipContact(models.Model):
    """A designated point of contact on one side of a partnership."""

    class Side(models.TextChoices):
        PLAN = "plan", "Health plan"
        PRACTICE = "practice", "Practice"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="contacts")
    side = models.CharField(max_length=8, choices=Side.choices)
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["side", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "side"], condition=Q(is_primary=True), name="one_primary_contact_per_side"
            ),
            models.CheckConstraint(condition=~Q(phone="") | ~Q(email=""), name="contact_reachable"),
        ]

    def __str__(self) -> str:
        return self.name


class PartnershipReview(models.Model):
    """One annual (or process-change) review of a partnership's roles and responsibilities."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="reviews")
    reviewed_on = models.DateField()
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)
    next_review_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-reviewed_on", "-id"]

    def __str__(self) -> str:
        return f"Review on {self.reviewed_on}"


# django-guardian with direct foreign keys: permissions are granted on the container objects only
# (an organization, a partnership), never one row per member.
class OrganizationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class PartnershipUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Partnership, on_delete=models.CASCADE)


class PartnershipGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Partnership, on_delete=models.CASCADE)
