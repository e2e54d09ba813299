"""Closed-loop community referrals: consent gating, the organization's inbox and answers (Gravity
task statuses), the loop back to the care manager and the shared practice, the escalation."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import Deadline, Notification
from members.models import ReleaseOfInformation
from sdoh import instruments, services
from sdoh.models import Need, SocialReferral
from tests.conftest import make_org, make_release, make_user
from tests.sdoh.test_instruments import ahc_answers

EVICTION = "LA31994-9"


@pytest.fixture
def housing(world):
    """Plan A's member A1 screened with a housing need, a housing agency with staff, and a
    release naming the agency for social services."""
    from organizations.models import Role

    screening = services.screening_record(
        actor=world.actor(world.a_cm),
        member=world.m_a1,
        instrument=instruments.AHC_HRSN,
        answers=ahc_answers(**{"71802-3": EVICTION}),
    )
    agency = make_org("community", "Open Door Housing")
    agency_staff = make_user(agency, "open_door", Role.COMMUNITY_STAFF)
    make_release(
        world.m_a1,
        agency,
        recipient_kind="community",
        purposes=[ReleaseOfInformation.Purpose.SOCIAL_SERVICES],
    )
    return screening.needs.get(), agency, agency_staff


def _refer(world, need, agency, **kw):
    return services.social_referral_create(
        actor=world.actor(world.a_cm),
        member=world.m_a1,
        organization=agency,
        request_note="Eviction notice",
        need=need,
        **kw,
    )


def test_a_referral_needs_a_release_naming_the_organization(world, housing):
    need, agency, _ = housing
    other = make_org("community", "No Consent Pantry")
    with pytest.raises(ValidationError) as refused:
        services.social_referral_create(
            actor=world.actor(world.a_cm), member=world.m_a1, organization=other, request_note="Food", need=need
        )
    assert "No release in force" in str(refused.value.message_dict["organization"])
    assert not SocialReferral.objects.exists()
    referral = _refer(world, need, agency)
    assert referral.status == "requested" and Need.objects.get(pk=need.pk).status == "in_progress"
    assert Deadline.objects.filter(key=f"social-referral:{referral.pk}:response", state="pending").exists()


def test_the_organization_sees_only_its_referrals_with_the_minimum_detail(world, housing, client_for):
    need, agency, agency_staff = housing
    referral = _refer(world, need, agency)
    client = client_for(agency_staff)
    inbox = client.get("/social-referrals/").content.decode()
    assert inbox.count("data-referral=") == 1 and world.m_a1.full_name in inbox
    page = client.get(f"/social-referrals/{referral.public_id}/").content.decode()
    assert world.m_a1.full_name in page and world.m_a1.member_number not in page
    assert str(world.m_a1.date_of_birth.year) not in page and "/members/" not in page
    assert SocialReferral.objects.get().status == "received"  # opening it is the "received" step
    assert client.get(f"/members/{world.m_a1.public_id}/").status_code == 404
    other_staff = make_user(make_org("community", "Elsewhere"), "elsewhere", "community_staff")
    assert client_for(other_staff).get(f"/social-referrals/{referral.public_id}/").status_code == 404
    assert client_for(other_staff).get("/social-referrals/").content.decode().count("data-referral=") == 0


def test_accept_then_deliver_closes_the_loop_and_resolves_the_need(world, housing, client_for):
    need, agency, agency_staff = housing
    referral = _refer(world, need, agency)
    client = client_for(agency_staff)
    url = f"/social-referrals/{referral.public_id}/"
    refused = client.post(f"{url}answer/", {"status": "rejected"}, follow=True).content.decode()
    assert "Say why" in refused and SocialReferral.objects.get().status == "received"  # opened, not answered
    client.post(f"{url}answer/", {"status": "accepted"})
    client.post(f"{url}answer/", {"status": "completed", "reason": "Rent paid through March"})
    referral.refresh_from_db()
    assert referral.status == "completed" and referral.closed_at and referral.responded_at
    closed_page = client.get(url)  # a closed referral's page: no answer left to give
    assert closed_page.status_code == 200 and 'id="org-actions"' not in closed_page.content.decode()
    assert not Deadline.objects.filter(key=f"social-referral:{referral.pk}:response", state="pending").exists()
    need.refresh_from_db()
    assert need.status == "resolved" and "Rent paid through March" in need.outcome_note
    heard = Notification.objects.filter(kind="sdoh.referral", recipient=world.a_cm)
    assert heard.count() == 2  # accepted, delivered
    assert [e.to_status for e in referral.events.all()] == ["requested", "received", "accepted", "completed"]
    with pytest.raises(PermissionDenied):
        services.social_referral_move(actor=world.actor(world.a_cm), referral=referral, to="accepted")


def test_updates_reach_the_practice_only_where_shared_under_a_release(world, housing):
    need, agency, agency_staff = housing
    from organizations.models import Partnership
    from organizations.services import partnership_contact_save
    from tests.conftest import SYSTEM

    partnership_contact_save(
        actor=SYSTEM,
        partnership=Partnership.objects.get(plan=world.plan_a, practice=world.p1),
        side="practice",
        name="Pat",
        user=world.p1_contact,
        email="pat@p1.example",
        is_primary=True,
    )
    with pytest.raises(ValidationError):
        _refer(world, need, agency, share_with_practice=True)  # no release covers P1 yet
    make_release(world.m_a1, world.p1, purposes=[ReleaseOfInformation.Purpose.CARE_COORDINATION])
    referral = _refer(world, need, agency, share_with_practice=True)
    services.social_referral_move(actor=world.actor(agency_staff), referral=referral, to="accepted")
    assert Notification.objects.filter(kind="sdoh.referral", recipient=world.p1_contact).count() == 1


def test_no_answer_in_five_business_days_escalates_once(world, housing):
    need, agency, _ = housing
    referral = _refer(world, need, agency)
    services.social_referral_escalate(referral_id=referral.pk, dedupe_key="x")
    services.social_referral_escalate(referral_id=referral.pk, dedupe_key="x")
    overdue = Notification.objects.filter(kind="sdoh.referral_overdue")
    assert set(overdue.values_list("recipient", flat=True)) == {world.a_cm.pk, world.a_supervisor.pk}
    assert overdue.filter(recipient=world.a_cm).count() == 1
    assert SocialReferral.objects.get().escalated_at is not None


@pytest.fixture
def rides(world):
    """Member A1 screened with a transportation need; a ride service with staff and a release, and
    a food pantry (no rides) with a release too."""
    import datetime as dt

    from organizations.models import Role
    from sdoh.models import CommunityService

    screening = services.screening_record(
        actor=world.actor(world.a_cm),
        member=world.m_a1,
        instrument=instruments.AHC_HRSN,
        answers=ahc_answers(**{"93030-5": "LA33-6"}),  # transportation kept them from care: Yes
    )
    vendor = make_org("community", "County Ride Line")
    make_user(vendor, "ride_line", Role.COMMUNITY_STAFF)
    pantry = make_org("community", "Corner Pantry")
    for org, name, category in (
        (vendor, "Rides to medical appointments", "transportation_insecurity"),
        (pantry, "Weekly groceries", "food_insecurity"),
    ):
        CommunityService.objects.create(
            plan=world.plan_a,
            organization=org,
            organization_name=org.name,
            name=name,
            categories=[category],
            zip_codes=["62701"],
            last_verified=dt.date.today(),
        )
        make_release(
            world.m_a1, org, recipient_kind="community", purposes=[ReleaseOfInformation.Purpose.SOCIAL_SERVICES]
        )
    (need,) = screening.needs.all()
    assert need.category == "transportation_insecurity"
    return need, vendor, pantry


def test_a_ride_goes_to_a_transport_vendor_with_where_and_when(world, rides):
    need, vendor, pantry = rides
    with pytest.raises(ValidationError) as refused:
        _refer(world, need, pantry, kind=SocialReferral.Kind.TRANSPORT, pickup="Home to clinic, Tue 9:00")
    assert "not a transport vendor" in str(refused.value.message_dict["organization"])
    with pytest.raises(ValidationError) as refused:
        _refer(world, need, vendor, kind=SocialReferral.Kind.TRANSPORT, pickup=" ")
    assert list(refused.value.message_dict) == ["pickup"]
    assert not SocialReferral.objects.exists()
    ride = _refer(world, need, vendor, kind=SocialReferral.Kind.TRANSPORT, pickup="Home to clinic, Tue 9:00")
    assert (ride.kind, ride.status, ride.pickup) == ("transport", "requested", "Home to clinic, Tue 9:00")
    assert Deadline.objects.filter(key=f"social-referral:{ride.pk}:response").exists()


def test_the_referral_page_for_a_transportation_need_offers_a_ride_from_the_vendors(world, rides, client_for):
    need, vendor, pantry = rides
    client = client_for(world.a_cm)
    form = client.get(f"/social-needs/{need.public_id}/refer/").context["form"]
    assert list(form.fields["organization"].queryset) == [vendor]
    assert form.initial["kind"] == "transport"
    answer = client.post(
        f"/social-needs/{need.public_id}/refer/",
        {"organization": pantry.public_id, "kind": "transport", "request_note": "Ride", "pickup": "Home to clinic"},
    )
    assert answer.status_code == 400 and not SocialReferral.objects.exists()  # not among the choices
    answer = client.post(
        f"/social-needs/{need.public_id}/refer/",
        {"organization": vendor.public_id, "kind": "transport", "request_note": "Ride", "pickup": "Home to clinic"},
    )
    assert answer.status_code == 302
    assert SocialReferral.objects.get().organization == vendor


def test_the_api_moves_a_referral_as_the_pages_do(world, housing, client_for):
    """POST /api/v1/social-referrals/{id}/transition/: the organization answers, the plan
    cancels; a move not open to the caller is 409 with the moves that are; others get 404."""
    need, agency, agency_staff = housing
    referral = _refer(world, need, agency)
    url = f"/api/v1/social-referrals/{referral.public_id}/transition/"
    org = client_for(agency_staff)
    answer = org.post(url, {"to": "completed"}, content_type="application/json")
    assert answer.status_code == 409 and answer.json()["allowed"] == ["accepted", "received", "rejected"]
    refused = org.post(url, {"to": "rejected"}, content_type="application/json")
    assert refused.status_code == 400 and "reason" in refused.json()
    assert org.post(url, {"to": "accepted"}, content_type="application/json").json()["status"] == "accepted"
    plan = client_for(world.a_cm)
    assert plan.post(url, {"to": "completed"}, content_type="application/json").json()["allowed"] == ["cancelled"]
    done = org.post(url, {"to": "completed", "reason": "Rent paid"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status_reason"] == "Rent paid"
    assert Need.objects.get(pk=need.pk).status == "resolved"
    assert plan.post(url, {"to": "cancelled", "reason": "x"}, content_type="application/json").json()["allowed"] == []
    for outsider in (world.b_cm, world.p2_contact, world.c_staff):
        assert client_for(outsider).post(url, {"to": "cancelled"}, content_type="application/json").status_code == 404
    bad = org.post(url, {"to": "done"}, content_type="application/json")
    assert bad.status_code == 400 and "to" in bad.json()


def test_the_plan_cancels_through_the_api_with_a_reason(world, housing, client_for):
    need, agency, _ = housing
    referral = _refer(world, need, agency)
    url = f"/api/v1/social-referrals/{referral.public_id}/transition/"
    plan = client_for(world.a_cm)
    assert plan.post(url, {"to": "cancelled"}, content_type="application/json").status_code == 400
    cancelled = plan.post(url, {"to": "cancelled", "reason": "Member moved away"}, content_type="application/json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert not Deadline.objects.filter(key=f"social-referral:{referral.pk}:response", state="pending").exists()


def test_insiders_who_do_not_move_referrals_get_403_and_a_cancel_is_told_and_audited(world, housing, client_for):
    from core.models import AuditEvent
    from members.models import ReleaseOfInformation

    need, agency, agency_staff = housing
    make_release(world.m_a1, world.p1, purposes=[ReleaseOfInformation.Purpose.CARE_COORDINATION])
    referral = _refer(world, need, agency, share_with_practice=True)
    url = f"/api/v1/social-referrals/{referral.public_id}/transition/"
    practice = client_for(world.p1_contact)
    assert practice.get(f"/api/v1/social-referrals/{referral.public_id}/").status_code == 200  # shared: it reads
    assert practice.post(url, {"to": "cancelled", "reason": "x"}, content_type="application/json").status_code == 403
    answer = client_for(world.a_cm).post(
        url, {"to": "cancelled", "reason": "Moved away"}, content_type="application/json"
    )
    assert answer.status_code == 200
    assert Notification.objects.filter(kind="sdoh.referral_in", recipient=agency_staff, title__contains="cancelled")
    assert AuditEvent.objects.filter(object_type="social_referral", summary="Requested → Cancelled").count() == 1


def test_opening_the_referral_marks_it_received_but_a_prefetch_does_not(world, housing, client_for):
    need, agency, agency_staff = housing
    referral = _refer(world, need, agency)
    client = client_for(agency_staff)
    url = f"/social-referrals/{referral.public_id}/"
    assert client.get(url, HTTP_SEC_PURPOSE="prefetch;prerender").status_code == 200
    referral.refresh_from_db()
    assert referral.status == "requested"
    client.get(url)
    referral.refresh_from_db()
    assert referral.status == "received"
