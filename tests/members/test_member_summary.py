"""The member summary: what each viewer sees, and consent gating what the plan shares."""

import datetime as dt

import pytest

from members import services
from members.models import Member
from tests.conftest import SYSTEM, make_release


@pytest.fixture
def member(world):
    m = world.m_a1
    Member.objects.filter(pk=m.pk).update(
        risk_tier="high",
        risk_score=45,
        risk_inputs=[{"input": "Emergency visits (12 months)", "value": 3, "points": 15}],
    )
    services.care_team_add(actor=SYSTEM, member=m, role="pcp", name="Dr. Pat Lee", organization=world.p1)
    services.care_team_add(
        actor=SYSTEM, member=m, role="care_manager", name="Dana CM", phone="555-555-0100", is_point_of_contact=True
    )
    services.care_team_add(actor=SYSTEM, member=m, role="caregiver", name="Sam Arbor", phone="555-555-0102")
    m.refresh_from_db()
    return m


def release_for(world, member, organization, **fields):
    return make_release(member, organization, **fields)


def test_plan_staff_see_everything_including_risk_inputs(world, member, client_for):
    page = client_for(world.a_cm).get(f"/members/{member.public_id}/")
    summary = page.context["summary"]
    assert summary.risk.tier and summary.risk.inputs
    assert {c.name for c in summary.care_team} == {"Dr. Pat Lee", "Dana CM", "Sam Arbor"}
    assert summary.point_of_contact.name == "Dana CM"
    assert b"Emergency visits (12 months)" in page.content
    assert summary.current_attribution.practice == world.p1


def test_practice_without_a_release_sees_demographics_and_coordinating_contacts_only(world, member, client_for):
    page = client_for(world.p1_contact).get(f"/members/{member.public_id}/")
    summary = page.context["summary"]
    assert not summary.practice_covered
    assert not summary.risk.tier
    assert {c.name for c in summary.care_team} == {"Dr. Pat Lee", "Dana CM"}
    assert b"Sam Arbor" not in page.content and b"Emergency visits" not in page.content
    assert b"Alice" in page.content


def test_a_release_naming_the_practice_opens_the_care_team_and_tier_and_revocation_closes_it(world, member, client_for):
    release = release_for(world, member, world.p1)
    client = client_for(world.p1_contact)
    summary = client.get(f"/members/{member.public_id}/").context["summary"]
    assert summary.practice_covered and summary.risk.tier and not summary.risk.inputs
    assert "Sam Arbor" in {c.name for c in summary.care_team}
    assert [r.pk for r in summary.releases] == [release.pk]
    services.release_revoke(actor=world.actor(world.a_cm), release=release, reason="Member asked")
    summary = client.get(f"/members/{member.public_id}/").context["summary"]
    assert not summary.practice_covered and not summary.risk.tier


def test_a_release_for_another_practice_or_purpose_does_not_count(world, member, client_for):
    release_for(world, member, world.p2)
    release_for(world, member, world.p1, purposes=["treatment"])
    summary = client_for(world.p1_contact).get(f"/members/{member.public_id}/").context["summary"]
    assert not summary.practice_covered
    assert all(r.recipient_organization_id == world.p1.pk for r in summary.releases)


def test_expired_release_is_not_in_force(world, member):
    release = release_for(world, member, world.p1, expires_on=world.plan_a.local_date() - dt.timedelta(days=1))
    assert not release.in_force_on(world.plan_a.local_date())
    assert not services.consent_covers(member=member, organization=world.p1, purpose="care_coordination")


def test_substance_use_records_need_their_own_consent(world, member):
    release_for(world, member, world.p1)
    assert services.consent_covers(member=member, organization=world.p1, purpose="care_coordination")
    assert not services.consent_covers(
        member=member, organization=world.p1, purpose="care_coordination", substance_use=True
    )
    release_for(world, member, world.p1, includes_substance_use=True)
    assert services.consent_covers(
        member=member, organization=world.p1, purpose="care_coordination", substance_use=True
    )


def test_practice_list_hides_tiers_not_shared_with_it(world, member, client_for):
    rows = client_for(world.p1_contact).get("/api/v1/members/").json()["results"]
    assert {r["member_id"]: r["risk_tier"] for r in rows}["A0001"] is None
    assert client_for(world.p1_contact).get("/api/v1/members/", {"tier": "high"}).json()["results"] == []
    release_for(world, member, world.p1)
    rows = client_for(world.p1_contact).get("/api/v1/members/", {"tier": "high"}).json()["results"]
    assert [r["member_id"] for r in rows] == ["A0001"]


def test_summary_query_count_is_fixed(world, member, client_for, django_assert_max_num_queries):
    client = client_for(world.a_cm)
    client.get(f"/members/{member.public_id}/")
    for i in range(10):
        services.care_team_add(actor=SYSTEM, member=member, role="specialist", name=f"Spec {i}", phone="555-555-0100")
    with django_assert_max_num_queries(14):
        assert client.get(f"/members/{member.public_id}/").status_code == 200


def test_member_api_detail_is_scoped_and_trims_risk(world, member, client_for):
    plan_view = client_for(world.a_cm).get(f"/api/v1/members/{member.public_id}/").json()
    assert plan_view["risk"]["inputs"][0]["points"] == 15
    assert plan_view["attributions"][0]["practice_name"] == "Practice One"
    practice_view = client_for(world.p1_contact).get(f"/api/v1/members/{member.public_id}/").json()
    assert practice_view["risk"] is None
    release_for(world, member, world.p1)
    practice_view = client_for(world.p1_contact).get(f"/api/v1/members/{member.public_id}/").json()
    assert practice_view["risk"] == {"tier": "high", "score": 45}
