"""Operator console (superusers only): the audit trail and deadlines, read-only."""

from django.contrib import admin

from core.models import AuditEvent, Deadline


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id", "plan_id", "request_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_id", "request_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "due_at", "state", "attempts", "last_error")
    list_filter = ("state", "kind")
    search_fields = ("key",)
    show_full_result_count = False
