"""Member list filters, shared by the HTML list and the API (django-filter). Values live in the
URL, so a filtered list survives reload and can be bookmarked."""

import django_filters
from django.db.models import Exists, OuterRef

from members.models import EligibilitySpan, Member
from members.querysets import current_on
from organizations.access import get_actor
from organizations.models import Organization


def _practices(request):
    if request is None:
        return Organization.objects.none()
    return Organization.objects.visible_to(get_actor(request)).of_kind(Organization.Kind.PRACTICE)


class MemberFilter(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(
        empty_label="Any", choices=Member.RiskTier.choices[:-1], method="filter_tier", label="Risk tier"
    )
    practice = django_filters.ModelChoiceFilter(
        empty_label="Any", queryset=_practices, to_field_name="public_id", method="filter_practice", label="Practice"
    )
    eligibility = django_filters.ChoiceFilter(
        empty_label="Any",
        choices=[("active", "Eligible today"), ("inactive", "Not eligible today")],
        method="filter_eligibility",
        label="Eligibility",
    )
    language = django_filters.CharFilter(field_name="preferred_language", lookup_expr="iexact", label="Language")

    class Meta:
        model = Member
        fields = ["tier", "practice", "eligibility", "language"]

    def filter_tier(self, qs, name, value):
        """Only tiers the viewer may see: a practice filters among members whose release covers it
        (members.selectors.member_rows annotates `risk_visible`)."""
        return qs.filter(risk_tier=value, risk_visible=True) if value else qs

    def filter_practice(self, qs, name, value):
        return qs.attributed_to(value.pk) if value else qs

    def filter_eligibility(self, qs, name, value):
        if not value:
            return qs
        eligible = Exists(EligibilitySpan.objects.filter(current_on(), member_id=OuterRef("pk")))
        return qs.filter(eligible) if value == "active" else qs.exclude(eligible)
