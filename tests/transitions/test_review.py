"""The review queue: plan staff match unmatched ADT messages to a member, or dismiss them."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from tests.conftest import SYSTEM, make_member
from tests.transitions.adt import adt
from transitions import services
from transitions.models import AdtMessage, Encounter


def receive(raw: str) -> AdtMessage:
    result = services.adt_receive(raw=raw.encode(), transport="mllp", actor=SYSTEM)
    return result.message


@pytest.fixture
def queued(world, feed):
    """Alice Arbor's birth date and last name, but "Alison": plan A's candidate only."""
    return receive(adt("A03", last="Arbor", first="Alison", dob=world.m_a1.date_of_birth, discharged="20260305"))


@pytest.fixture
def shared(world, feed):
    """Nobody by that name anywhere: a candidate for every plan receiving the feed."""
    return receive(adt("A01", last="Stranger", first="Sam", dob="19500505"))


def test_plan_staff_see_the_messages_they_are_candidates_for(world, client_for, queued, shared):
    body = client_for(world.a_cm).get("/transitions/review/").content.decode()
    assert "Arbor, Alison" in body and "Stranger, Sam" in body
    other = client_for(world.b_cm).get("/transitions/review/").content.decode()
    assert "Stranger, Sam" in other and "Arbor" not in other


@pytest.mark.parametrize("persona", ["p1_contact", "c_staff"])
def test_practice_and_community_staff_have_no_review_queue(world, client_for, queued, persona):
    assert client_for(getattr(world, persona)).get("/transitions/review/").status_code == 403
    assert client_for(getattr(world, persona)).get(f"/transitions/review/{queued.public_id}/").status_code == 404


def test_the_queue_costs_a_fixed_number_of_queries(world, client_for, feed, django_assert_max_num_queries):
    for i in range(30):
        receive(adt("A01", last=f"Nobody{i}", first="X", dob="19500505"))
    client = client_for(world.a_cm)
    client.get("/transitions/review/")
    with django_assert_max_num_queries(12):
        response = client.get("/transitions/review/?size=50")
    assert response.content.decode().count("data-adt-message") == 30


def test_detail_offers_only_own_plan_candidates_and_audits_the_reads(world, client_for, queued):
    make_member(world.plan_b, first="Alison", last="Arbor", member_number="B0777", dob=world.m_a1.date_of_birth)
    response = client_for(world.a_cm).get(f"/transitions/review/{queued.public_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert str(world.m_a1.public_id) in body and "B0777" not in body
    assert AuditEvent.objects.filter(actor=world.a_cm, object_type="member", member_id=world.m_a1.pk).exists()


def test_matching_applies_the_message_to_the_member(world, client_for, queued):
    client = client_for(world.a_cm)
    response = client.post(f"/transitions/review/{queued.public_id}/match/", {"member": str(world.m_a1.public_id)})
    assert response.status_code == 302
    queued.refresh_from_db()
    assert (queued.status, queued.member, queued.match_method, queued.reviewed_by) == (
        "applied",
        world.m_a1,
        "review",
        world.a_cm,
    )
    encounter = Encounter.objects.get()
    assert (encounter.member, encounter.status) == (world.m_a1, "discharged")
    assert "Arbor, Alison" not in client.get("/transitions/review/").content.decode()
    assert AuditEvent.objects.filter(object_type="adt_message", object_id=str(queued.public_id), action="update")


def test_a_member_of_another_plan_cannot_be_chosen(world, client_for, shared):
    client = client_for(world.a_cm)
    client.post(f"/transitions/review/{shared.public_id}/match/", {"member": str(world.m_b1.public_id)})
    client.post(f"/transitions/review/{shared.public_id}/match/", {"member": world.m_b1.member_number})
    shared.refresh_from_db()
    assert shared.status == "needs_review" and shared.member is None


def test_matching_by_member_id_typed_in(world, client_for, shared):
    client_for(world.a_cm).post(f"/transitions/review/{shared.public_id}/match/", {"member": "A0002"})
    shared.refresh_from_db()
    assert shared.member == world.m_a2
    # Now plan A's: plan B no longer sees it.
    assert client_for(world.b_cm).get(f"/transitions/review/{shared.public_id}/").status_code == 404


def test_dismissal_needs_a_reason_and_leaves_it_to_the_other_candidate_plans(world, client_for, shared):
    a, b = client_for(world.a_cm), client_for(world.b_cm)
    a.post(f"/transitions/review/{shared.public_id}/dismiss/", {"reason": ""})
    shared.refresh_from_db()
    assert set(shared.candidate_plans.all()) == {world.plan_a, world.plan_b}
    a.post(f"/transitions/review/{shared.public_id}/dismiss/", {"reason": "Not our member"})
    assert a.get(f"/transitions/review/{shared.public_id}/").status_code == 404
    assert b.get(f"/transitions/review/{shared.public_id}/").status_code == 200
    b.post(f"/transitions/review/{shared.public_id}/dismiss/", {"reason": "Not ours either"})
    shared.refresh_from_db()
    assert shared.status == "dismissed" and "Not ours either" in shared.review_note


def test_a_message_already_reviewed_cannot_be_matched_again(world, client_for, queued):
    client = client_for(world.a_cm)
    client.post(f"/transitions/review/{queued.public_id}/match/", {"member": str(world.m_a1.public_id)})
    response = client.post(f"/transitions/review/{queued.public_id}/match/", {"member": "A0002"}, follow=True)
    assert "no longer in review" in response.content.decode()
    queued.refresh_from_db()
    assert queued.member == world.m_a1
