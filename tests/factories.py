"""factory-boy factories for rows tests need in numbers; personas live in tests/conftest.py."""

import datetime as dt

import factory
from django.utils import timezone

from members.models import Attribution, EligibilitySpan, Member


def _a_year_ago() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=365)


class MemberFactory(factory.django.DjangoModelFactory):
    """A member of `plan`, eligible since a year ago (`eligible=False` for none); `practice=` attributes them."""

    class Meta:
        model = Member
        skip_postgeneration_save = True

    member_number = factory.Sequence(lambda n: f"T{n:08d}")
    first_name = "Test"
    last_name = "Member"
    date_of_birth = dt.date(1970, 1, 1)
    sex = "F"

    @factory.post_generation
    def eligible(member, create, extracted, **kwargs):
        if extracted is not False:
            EligibilitySpan.objects.create(
                member=member, plan=member.plan, start_date=_a_year_ago(), product="Medicaid"
            )

    @factory.post_generation
    def practice(member, create, extracted, **kwargs):
        if extracted is not None:
            Attribution.objects.create(member=member, plan=member.plan, practice=extracted, start_date=_a_year_ago())
