"""Queue filters, shared by the queue page and the API. They live in the URL, so a filtered queue
survives reload and can be bookmarked."""

import django_filters
from django.db.models import Q

from caseloads.models import Program
from organizations.access import get_actor
from organizations.models import Organization
from referrals.models import ENDINGS, OPEN, Priority, Source, Status
from referrals.selectors import due_bounds


def _practices(request):
    if request is None:
        return Organization.objects.none()
    return Organization.objects.visible_to(get_actor(request)).of_kind(Organization.Kind.PRACTICE)


class QueueFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[
            ("open", "Open (all)"),
            *[(s.value, s.label) for s in OPEN],
            ("closed", "Closed (all)"),
            *[(s.value, s.label) for s in (Status.ENROLLED, *ENDINGS)],
        ],
        method="filter_status",
        empty_label=None,
        label="Status",
    )
    priority = django_filters.ChoiceFilter(empty_label="Any", choices=Priority.choices, label="Priority")
    program = django_filters.ChoiceFilter(empty_label="Any", choices=Program.choices, label="Program")
    source = django_filters.ChoiceFilter(empty_label="Any", choices=Source.choices, label="Source")
    practice = django_filters.ModelChoiceFilter(
        empty_label="Any",
        queryset=_practices,
        to_field_name="public_id",
        field_name="referring_practice",
        label="Practice",
    )
    age = django_filters.ChoiceFilter(
        empty_label="Any",
        choices=[
            ("1", "Older than 1 day"),
            ("3", "Older than 3 days"),
            ("7", "Older than a week"),
            ("30", "Older than 30 days"),
        ],
        method="filter_age",
        label="Age",
    )
    due = django_filters.ChoiceFilter(
        empty_label="Any",
        choices=[("overdue", "Overdue"), ("today", "Due today")],
        method="filter_due",
        label="Deadline",
    )
    assigned = django_filters.ChoiceFilter(
        empty_label="Any",
        choices=[("me", "Assigned to me"), ("unassigned", "Unassigned")],
        method="filter_assigned",
        label="Assigned",
    )

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", "open")
        super().__init__(data, *args, **kwargs)

    @property
    def closed(self) -> bool:
        value = self.form.cleaned_data.get("status") if self.is_valid() else "open"
        return value not in ("open", *OPEN)

    def without_status(self):
        """The queryset under every filter but the status one (what the per-status counts
        count), from this filterset's own cleaned values: no second form to build."""
        qs = self.queryset
        for name, value in self.form.cleaned_data.items():
            if name != "status":
                qs = self.filters[name].filter(qs, value)
        return qs

    def filter_status(self, qs, name, value):
        if value == "open":
            return qs.filter(status__in=OPEN)
        if value == "closed":
            return qs.filter(status__in=(Status.ENROLLED, *ENDINGS))
        return qs.filter(status=value)

    def filter_age(self, qs, name, value):
        from django.utils import timezone

        return qs.filter(submitted_at__lt=timezone.now() - timezone.timedelta(days=int(value))) if value else qs

    def filter_due(self, qs, name, value):
        now, end_of_day = due_bounds(get_actor(self.request))
        if value == "overdue":
            return qs.filter(due_at__lt=now)
        if value == "today":
            return qs.filter(due_at__gte=now, due_at__lt=end_of_day)
        return qs

    def filter_assigned(self, qs, name, value):
        if value == "me":
            return qs.filter(assigned_to=self.request.user)
        if value == "unassigned":
            return qs.filter(Q(assigned_to__isnull=True))
        return qs
