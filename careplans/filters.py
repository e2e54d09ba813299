import django_filters

from careplans.models import CarePlan
from organizations.access import get_actor


class CarePlanFilter(django_filters.FilterSet):
    member = django_filters.UUIDFilter(field_name="member__public_id", label="Member id")
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since", label="Changed since")

    class Meta:
        model = CarePlan
        fields = ["member", "updated_since"]

    def filter_updated_since(self, queryset, name, value):
        """A practice filters on when the shared part changed (it never learns of other changes)."""
        field = "updated_at" if get_actor(self.request).is_plan_staff else "shared_updated_at"
        return queryset.filter(**{f"{field}__gte": value})
