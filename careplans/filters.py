import django_filters

from careplans.models import CarePlan


class CarePlanFilter(django_filters.FilterSet):
    member = django_filters.UUIDFilter(field_name="member__public_id", label="Member id")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = CarePlan
        fields = ["member", "updated_since"]
