from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.ids import uuid7
from core.querysets import AuditEventQuerySet, DeadlineQuerySet, NotificationQuerySet


class AppendOnlyError(RuntimeError):
    pass


class AuditEvent(models.Model):
    """One read or write of tenant data: who, for which organization, what, when, why.

    Append-only twice over: the model refuses updates and deletes, and a database trigger
    (migration 0002) rejects UPDATE and DELETE statements from anyone, raw SQL included.
    Ids of the plan, member and organization are plain columns, not foreign keys: the trail must
    outlive and never block changes to what it describes.
    """

    class Action(models.TextChoices):
        READ = "read", "Read"
        LIST = "list", "List"
        SEARCH = "search", "Search"
        EXPORT = "export", "Export"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        IMPORT = "import", "Import"
        LOGIN = "login", "Sign-in"
        LOGOUT = "logout", "Sign-out"
        LOGIN_FAILED = "login_failed", "Failed sign-in"

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=Now(), db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # audit_actor_time covers it
        null=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="Username, kept if the account changes.")
    organization_id = models.BigIntegerField(null=True)
    plan_id = models.BigIntegerField(null=True, help_text="The tenant whose data was touched.")
    member_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["plan_id", "-occurred_at", "-id"], name="audit_plan_time"),
            models.Index(fields=["member_id", "-occurred_at"], name="audit_member_time"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")


class Deadline(models.Model):
    """A timed follow-up: a row with a due time, an idempotency key and a state (DESIGN.md).

    Life cycle (core.deadlines): PENDING → QUEUED (sweep handed it to the broker) → DONE; or
    → RUNNING (lease-based handlers) → DONE; CANCELLED by the event that makes it moot; FAILED
    after max_attempts errors. QUEUED or RUNNING rows whose hand-over went stale go back to
    the broker on the next sweep.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.PENDING, State.QUEUED, State.RUNNING)

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key: one deadline per event.")
    plan_id = models.BigIntegerField(null=True)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_default=Now())

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The sweep's working set stays small however many deadlines have finished.
            models.Index(
                fields=["due_at"], name="deadline_open_due", condition=Q(state__in=["pending", "queued", "running"])
            ),
            models.Index(fields=["plan_id", "kind", "due_at"], name="deadline_plan_kind_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "queued", "running", "done", "cancelled", "failed"]),
                name="deadline_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_at:%Y-%m-%d %H:%M} ({self.state})"

    @property
    def label(self) -> str:
        from core.deadlines import label_for

        return label_for(self.kind)


class Notification(models.Model):
    """An inbox item for one person; email goes out for the kinds that matter (core.notifications)."""

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    plan_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    read_at = models.DateTimeField(null=True, blank=True)
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title
