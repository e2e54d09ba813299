from django.contrib import admin

from transitions.models import AdtFeed, AdtFeedPlan


class AdtFeedPlanInline(admin.TabularInline):
    model = AdtFeedPlan
    extra = 1


@admin.register(AdtFeed)
class AdtFeedAdmin(admin.ModelAdmin):
    list_display = ("facility", "sending_facility", "tls_client_subject", "is_active")
    inlines = [AdtFeedPlanInline]
