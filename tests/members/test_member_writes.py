"""Plan staff edit members, care teams and releases in the browser; every write is audited."""

import datetime as dt

from core.models import AuditEvent
from members.models import CareTeamMember, ReleaseOfInformation
from tests.conftest import make_member


def test_editing_demographics_saves_and_audits_changed_fields(world, client_for):
    m = world.m_a1
    response = client_for(world.a_cm).post(
        f"/members/{m.public_id}/edit/",
        {
            "first_name": "Alice",
            "last_name": "Arbor",
            "preferred_language": "Spanish",
            "phone": "217-555-0100",
        },
    )
    assert response.status_code == 302
    m.refresh_from_db()
    assert m.preferred_language == "Spanish"
    event = AuditEvent.objects.get(member_id=m.pk, action="update")
    assert event.detail["fields"] == ["phone", "preferred_language"]


def test_bad_member_edit_names_the_field_and_saves_nothing(world, client_for):
    m = world.m_a1
    response = client_for(world.a_cm).post(
        f"/members/{m.public_id}/edit/",
        {
            "first_name": "",
            "last_name": "Arbor",
            "preferred_language": "English",
            "email": "bad",
        },
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"first_name", "email"}
    m.refresh_from_db()
    assert m.first_name == "Alice"


def test_practice_staff_cannot_edit(world, client_for):
    assert client_for(world.p1_contact).get(f"/members/{world.m_a1.public_id}/edit/").status_code == 403


def test_care_team_one_point_of_contact_and_ending_an_entry(world, client_for):
    client = client_for(world.a_cm)
    url = f"/members/{world.m_a1.public_id}/care-team/add/"
    for name in ("First POC", "Second POC"):
        response = client.post(
            url,
            {
                "role": "care_manager",
                "name": name,
                "phone": "555-555-0100",
                "is_point_of_contact": "on",
                "start_date": world.plan_a.local_date().isoformat(),
            },
        )
        assert response.status_code == 302
    pocs = CareTeamMember.objects.filter(member=world.m_a1, is_point_of_contact=True)
    assert list(pocs.values_list("name", flat=True)) == ["Second POC"]
    first = CareTeamMember.objects.get(name="First POC")
    client.post(f"/members/{world.m_a1.public_id}/care-team/{first.public_id}/point-of-contact/")
    assert list(pocs.values_list("name", flat=True)) == ["First POC"]
    response = client.post(
        f"/members/{world.m_a1.public_id}/care-team/{first.public_id}/end/",
        {"end_date": world.plan_a.local_date().isoformat(), "reason": "Moved away"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.end_date and not first.is_point_of_contact
    missing_contact = client.post(url, {"role": "family", "name": "Nobody", "start_date": "2026-01-01"})
    assert missing_contact.status_code == 400 and "phone" in missing_contact.context["form"].errors


def test_recording_a_release_checks_the_signer(world, client_for):
    child = make_member(
        world.plan_a, practice=world.p1, first="Kid", dob=world.plan_a.local_date() - dt.timedelta(days=3650)
    )
    client = client_for(world.a_cm)
    form = {
        "recipient_kind": "practice",
        "recipient_organization": str(world.p1.public_id),
        "recipient_name": "Practice One",
        "purposes": ["care_coordination"],
        "signed_by": "member",
        "signer_name": "Kid",
        "signed_on": world.plan_a.local_date().isoformat(),
    }
    response = client.post(f"/members/{child.public_id}/releases/add/", form)
    assert response.status_code == 400
    assert "guardian must sign" in str(response.context["form"].errors["signed_by"])
    response = client.post(
        f"/members/{child.public_id}/releases/add/", {**form, "signed_by": "guardian", "signer_name": "Parent"}
    )
    assert response.status_code == 302
    release = ReleaseOfInformation.objects.get(member=child)
    assert release.recorded_by == world.a_cm and release.in_force_on(world.plan_a.local_date())
    future = client.post(
        f"/members/{child.public_id}/releases/add/",
        {**form, "signed_by": "guardian", "signed_on": (world.plan_a.local_date() + dt.timedelta(days=2)).isoformat()},
    )
    assert "signed_on" in future.context["form"].errors


def test_revoking_needs_a_reason_and_takes_effect_at_once(world, client_for):
    from members import services
    from tests.conftest import make_release

    release = make_release(world.m_a1, world.p1)
    url = f"/members/{world.m_a1.public_id}/releases/{release.public_id}/revoke/"
    client = client_for(world.a_cm)
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Member revoked by phone"}).status_code == 302
    release.refresh_from_db()
    assert release.revoked_at is not None and release.revoked_by == world.a_cm
    assert not services.consent_covers(member=world.m_a1, organization=world.p1, purpose="care_coordination")


def test_an_entry_ended_meanwhile_cannot_become_the_point_of_contact(world):
    import pytest
    from django.core.exceptions import ValidationError

    from members import services
    from tests.conftest import SYSTEM

    stale = services.care_team_add(actor=SYSTEM, member=world.m_a1, role="pcp", name="Dr B", phone="555-555-0100")
    services.care_team_add(
        actor=SYSTEM, member=world.m_a1, role="care_manager", name="CM", phone="555-555-0101", is_point_of_contact=True
    )
    services.care_team_end(
        actor=SYSTEM,
        entry=CareTeamMember.objects.get(pk=stale.pk),
        end_date=world.plan_a.local_date(),
        reason="Left the practice",
    )
    with pytest.raises(ValidationError):
        services.care_team_set_point_of_contact(actor=SYSTEM, entry=stale)  # the object loaded before the end
    assert CareTeamMember.objects.get(name="CM").is_point_of_contact
