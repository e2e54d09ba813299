"""Dates that decide access are dates in the plan's own time zone, not the server's (UTC)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from members import services
from members.models import Member
from organizations.models import Organization
from tests.conftest import make_member, make_release


@pytest.fixture
def far_plan(world):
    """A plan whose local date differs from UTC's right now (UTC+14 in the UTC afternoon,
    UTC-12 in the UTC morning)."""
    name = "Pacific/Kiritimati" if timezone.now().hour >= 12 else "Etc/GMT+12"
    Organization.objects.filter(pk=world.plan_a.pk).update(timezone=name)
    world.plan_a.refresh_from_db()
    local = timezone.now().astimezone(ZoneInfo(name)).date()
    assert local != timezone.now().date()
    return world.plan_a, local


def test_a_release_is_in_force_on_the_plans_own_date(world, far_plan, client_for):
    _plan, local_today = far_plan
    release = make_release(
        world.m_a1, world.p1, signed_on=local_today, effective_from=local_today, expires_on=local_today
    )
    assert services.consent_covers(member=world.m_a1, organization=world.p1, purpose="care_coordination")
    summary = client_for(world.p1_contact).get(f"/members/{world.m_a1.public_id}/").context["summary"]
    assert summary.practice_covered and summary.releases[0].pk == release.pk


def test_an_attribution_starts_on_the_plans_own_date(world, far_plan):
    plan, local_today = far_plan
    member = make_member(plan, first="Tomorrow")
    member.attributions.create(plan=plan, practice=world.p1, start_date=local_today)
    visible = Member.objects.visible_to(world.actor(world.p1_contact))
    assert visible.filter(pk=member.pk).exists()
    member.attributions.update(start_date=local_today + dt.timedelta(days=1))
    assert not visible.filter(pk=member.pk).exists()
