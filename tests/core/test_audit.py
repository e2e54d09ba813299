import pytest
from django.db import DatabaseError, connection, transaction

from core import audit
from core.models import AppendOnlyError, AuditEvent


def test_audit_events_cannot_be_changed_through_the_orm(world):
    event = audit.record(actor=world.actor(world.a_cm), action="read", object_type="member", plan_id=world.plan_a.pk)
    event.summary = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_the_database_refuses_update_and_delete_even_from_raw_sql(world):
    event = audit.record(actor=world.actor(world.a_cm), action="read", object_type="member", plan_id=world.plan_a.pk)
    for sql in ("UPDATE core_auditevent SET summary = 'x' WHERE id = %s", "DELETE FROM core_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="bulk")
    assert AuditEvent.objects.get(pk=event.pk).summary == ""


def test_reading_a_member_page_records_who_what_and_the_request_id(world, client_for):
    response = client_for(world.p1_contact).get(f"/members/{world.m_a1.public_id}/", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-123"
    event = AuditEvent.objects.get(member_id=world.m_a1.pk, action="read")
    assert event.actor == world.p1_contact
    assert event.organization_id == world.p1.pk
    assert event.plan_id == world.plan_a.pk  # the plan sees who read its member
    assert event.request_id == "req-123"
    assert event.detail == {"via": "member summary"}


def test_every_member_on_a_list_page_is_recorded(world, client_for):
    client_for(world.a_cm).get("/members/")
    listed = set(AuditEvent.objects.filter(action="list", object_type="member").values_list("member_id", flat=True))
    assert listed == {world.m_a1.pk, world.m_a2.pk}


def test_plan_admin_browses_and_filters_the_trail_others_may_not(world, client_for):
    client_for(world.a_cm).get(f"/members/{world.m_a1.public_id}/")
    client_for(world.b_cm).get(f"/members/{world.m_b1.public_id}/")
    admin = client_for(world.a_admin)
    page = admin.get("/audit/", {"member": world.m_a1.member_number})
    assert page.status_code == 200
    rows = page.context["page"].items
    assert rows and all(e.member_id == world.m_a1.pk for e in rows)
    everything = admin.get("/audit/").context["page"].items
    assert all(e.plan_id == world.plan_a.pk for e in everything)
    assert not any(e.member_id == world.m_b1.pk for e in everything)
    assert admin.get("/audit/", {"member": world.m_b1.member_number}).context["no_match"] is True
    assert admin.get("/audit/", {"since": "2026-01-02", "until": "2026-01-01"}).context["form"].errors["until"]
    assert client_for(world.a_cm).get("/audit/").status_code == 403
    assert client_for(world.p1_admin).get("/audit/").status_code == 403


def test_sign_in_and_failed_sign_in_are_recorded(world, client):
    from tests.conftest import PASSWORD

    client.post("/accounts/login/", {"username": "a_cm", "password": "wrong"})
    client.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD})
    actions = list(AuditEvent.objects.filter(object_type="session").order_by("id").values_list("action", flat=True))
    assert actions == ["login_failed", "login"]


def test_every_page_that_opens_a_member_record_is_audited(world, client_for):
    """Walks the URL patterns that take a member id: each answers a plan care manager (or, for
    the practice's own care plan actions, the practice contact) with the record (or a redirect
    after a POST) and leaves a read event naming the member."""
    from careplans import services as careplan_services
    from members.models import CareTeamMember, ReleaseOfInformation
    from members.services import care_team_add
    from tests.careplans.conftest import build_plan
    from tests.conftest import SYSTEM, make_release
    from tests.security.test_isolation import PARAM, all_routes

    member = world.m_a1
    entry = care_team_add(actor=SYSTEM, member=member, role="family", name="Kin", phone="555-555-0100")
    release = make_release(member, world.p1)
    care_plan = build_plan(world, member)
    assessment = careplan_services.assessment_record(actor=world.actor(world.a_cm), member=member, values={})
    items = {
        "problems": care_plan.problems.first(),
        "goals": care_plan.goals.first(),
        "interventions": care_plan.interventions.first(),
    }
    values = {
        "member_id": member.public_id,
        "entry_id": entry.public_id,
        "release_id": release.public_id,
        "goal_id": items["goals"].public_id,
        "version": 1,
        "assessment_id": assessment.public_id,
    }
    practice_routes = ("care-plan/acknowledge/", "care-plan/practice-interventions/")
    clients = {False: client_for(world.a_cm), True: client_for(world.p1_contact)}
    routes = [r for r, _ in all_routes() if "<uuid:member_id>" in r]
    assert len(routes) >= 8
    for route in routes:
        before = AuditEvent.objects.filter(member_id=member.pk, action="read").count()
        kind = next((k for k in items if f"/{k}/" in route), "problems")
        url = "/" + PARAM.sub(
            lambda m, kind=kind: str(
                items[kind].public_id if m.group("name") == "item_id" else values[m.group("name")]
            ),
            route,
        )
        client = clients[any(part in route for part in practice_routes)]
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        assert AuditEvent.objects.filter(member_id=member.pk, action="read").count() == before + 1, url
    assert CareTeamMember.objects.filter(pk=entry.pk).exists() and ReleaseOfInformation.objects.exists()
