"""Operator console (superusers only): organizations, staff accounts and partnerships.

Creation goes through the services, so role groups, permissions and review deadlines exist for
anything made here exactly as for anything made in the app.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from organizations import services
from organizations.access import Actor
from organizations.models import Organization, Partnership, PartnershipContact, PlanHoliday, User
from organizations.roles import place_in_role_group, sync_role_permissions


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "npi", "timezone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "npi")

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        sync_role_permissions(obj)


@admin.register(PlanHoliday)
class PlanHolidayAdmin(admin.ModelAdmin):
    list_display = ("plan", "date", "name")
    list_filter = ("plan",)


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "organization", "role", "is_active")
    list_filter = ("organization", "role", "is_active", "is_superuser")
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "Organization",
            {"fields": ("organization", "role", "credential", "title", "phone", "languages", "caseload_capacity")},
        ),
    )
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Organization", {"fields": ("organization", "role")}))

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        place_in_role_group(obj)


class ContactInline(admin.TabularInline):
    model = PartnershipContact
    extra = 0


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ("plan", "practice", "status", "effective_from", "next_review_on")
    list_filter = ("status", "plan")
    inlines = [ContactInline]

    def get_readonly_fields(self, request, obj=None):
        # The review date moves through the annual review (which reschedules the reminders).
        return ("next_review_on",) if obj else ()

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.partnership_create(
            actor=Actor.system(),
            plan=obj.plan,
            practice=obj.practice,
            effective_from=obj.effective_from,
            next_review_on=obj.next_review_on,
            agreement_summary=obj.agreement_summary,
        )
        obj.pk, obj.public_id = created.pk, created.public_id
