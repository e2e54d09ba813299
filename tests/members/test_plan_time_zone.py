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


def test_a_practice_whose_partner_plans_straddle_midnight_sees_each_on_its_own_date(world, far_plan):
    """P1 partners with plan A (far from UTC) and plan B (on UTC): their dates differ, so the
    practice's scope applies each plan's own date to that plan's members."""
    plan_a, a_today = far_plan
    Organization.objects.filter(pk=world.plan_b.pk).update(timezone="UTC")
    b_today = timezone.now().date()
    actor = world.actor(world.p1_contact)
    assert actor.local_today() is None and actor.plan_dates() == {plan_a.pk: a_today, world.plan_b.pk: b_today}
    on_a = make_member(plan_a, first="OnA")
    on_a.attributions.create(plan=plan_a, practice=world.p1, start_date=a_today)
    on_b = make_member(world.plan_b, first="OnB")
    on_b.attributions.create(plan=world.plan_b, practice=world.p1, start_date=b_today)
    later = max(a_today, b_today)
    early_plan = plan_a if a_today < b_today else world.plan_b
    too_soon = make_member(early_plan, first="TooSoon")
    too_soon.attributions.create(plan=early_plan, practice=world.p1, start_date=later)
    visible = set(Member.objects.visible_to(actor).values_list("first_name", flat=True))
    assert {"OnA", "OnB"} <= visible
    assert "TooSoon" not in visible
