import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caseloads.services import task_create
from tests.caseloads.conftest import enroll
from tests.conftest import make_member, make_user

pytestmark = pytest.mark.django_db


def test_dashboard_counts_acuity_load_overdue_and_this_week(world, client_for, caseload, second_cm):
    today = world.plan_a.local_date()
    for days in (-3, -1, 0):
        task_create(
            actor=world.actor(world.a_cm),
            member=caseload[0].member,
            owner=world.a_cm,
            title=f"t{days}",
            due_date=today + dt.timedelta(days=days),
            origin="care_plan",
        )
    enroll(world, make_member(world.plan_a), cm=second_cm, acuity="intensive", program="behavioral_health")
    page = client_for(world.a_supervisor).get("/caseloads/")
    assert page.status_code == 200
    rows = {r.user.username: r for r in page.context["board"].rows}
    cm = rows["a_cm"]
    assert cm.by_acuity == {"intensive": 1, "high": 2, "moderate": 1, "low": 1, "self_management": 1}
    assert cm.members == 6 and cm.load == 4 + 3 + 3 + 2 + 1 + 0.5
    assert cm.overdue_tasks == 2 and cm.due_this_week >= 1
    assert rows["a_cm2"].load == 4.0
    filtered = client_for(world.a_supervisor).get("/caseloads/", {"team": "North"}).context["board"].rows
    assert [r.user.username for r in filtered] == ["a_cm2"]
    by_program = client_for(world.a_supervisor).get("/caseloads/", {"program": "behavioral_health"})
    assert {r.user.username: r.members for r in by_program.context["board"].rows} == {"a_cm": 0, "a_cm2": 1}
    assert client_for(world.a_cm).get("/caseloads/").status_code == 403


def test_dashboard_counts_this_weeks_work_and_only_the_programs_tasks(world, client_for, second_cm):
    """Overdue and due-this-week per care manager: tasks due after the week and referral steps
    due after it count for nothing; with a program filter, only tasks about members enrolled in
    that program, and only referral steps of that program."""
    from referrals.models import Referral
    from tests.referrals.conftest import submit

    today = world.plan_a.local_date()
    week_ends = today + dt.timedelta(days=6 - today.weekday())
    supervisor = world.actor(world.a_supervisor)
    for program in ("behavioral_health", "complex_care"):
        member = make_member(world.plan_a, practice=world.p1)
        enroll(world, member, cm=second_cm, program=program)
        for due in (today - dt.timedelta(days=2), today, week_ends + dt.timedelta(days=1)):
            task_create(actor=supervisor, member=member, owner=second_cm, title="t", due_date=due, origin="care_plan")
    # A task of a member not enrolled at all, overdue: counts unfiltered, never under a program.
    task_create(
        actor=supervisor,
        member=world.m_a2,
        owner=second_cm,
        title="t",
        due_date=today - dt.timedelta(days=1),
        origin="request",
    )
    week_over = dt.datetime.combine(week_ends + dt.timedelta(days=1), dt.time(), tzinfo=world.plan_a.tz)
    for due_at, program in ((week_over - dt.timedelta(hours=1), "complex_care"), (week_over, "complex_care")):
        referral = submit(world, make_member(world.plan_a, practice=world.p1))
        Referral.objects.filter(pk=referral.pk).update(
            status="assigned", assigned_to=second_cm, due_at=due_at, program=program, priority=2, queue_rank=2
        )
    client = client_for(world.a_supervisor)

    def row(**query):
        rows = client.get("/caseloads/", query).context["board"].rows
        found = next(r for r in rows if r.user.pk == second_cm.pk)
        return found.members, found.overdue_tasks, found.due_this_week

    assert row() == (2, 3, 3)  # 2 today + 1 referral step before the week is over
    assert row(program="complex_care") == (1, 1, 2)
    assert row(program="behavioral_health") == (1, 1, 1)
    assert row(program="perinatal") == (0, 0, 0)


def test_dashboard_query_count_is_fixed(world, client_for, second_cm):
    client = client_for(world.a_supervisor)
    client.get("/caseloads/")
    counts = []
    for batch in range(2):
        with CaptureQueriesContext(connection) as ctx:
            client.get("/caseloads/")
        counts.append(len(ctx))
        for i in range(6):  # more care managers, each with members and tasks
            person = make_user(world.plan_a, f"cm_more_{batch}_{i}", "care_manager", caseload_capacity=30)
            member = make_member(world.plan_a)
            enroll(world, member, cm=person)
            task_create(
                actor=world.actor(world.a_supervisor),
                member=member,
                owner=person,
                title="Call",
                due_date=world.plan_a.local_date(),
                origin="care_plan",
            )
    assert len(client.get("/caseloads/").context["board"].rows) == 2 + 12
    assert counts[0] == counts[1], counts


def test_caseload_page_moves_the_selected_members(world, client_for, caseload, second_cm):
    client = client_for(world.a_supervisor)
    url = f"/caseloads/{world.a_cm.public_id}/"
    assert len(client.get(url).context["rows"]) == 6
    response = client.post(
        url + "reassign/",
        {"to": second_cm.public_id, "reason": "Leave", "enrollments": [e.public_id for e in caseload[:4]]},
        follow=True,
    )
    assert "4 members moved" in response.content.decode()
    assert len(client.get(url).context["rows"]) == 2
    response = client.post(url + "reassign/", {"to": "", "reason": ""}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "To" in text and "Reason" in text
    response = client.post(
        url + "coverage/", {"covering": second_cm.public_id, "ends_on": "2020-01-01", "reason": "Leave"}, follow=True
    )
    assert "Ends on" in " ".join(str(m) for m in response.context["messages"])
    assert client_for(world.a_cm).get(url).status_code == 403


def test_enrollment_api_scoped_plan_sees_history_practice_sees_status(world, client_for, caseload):
    plan = client_for(world.a_cm).get("/api/v1/enrollments/", {"page_size": 4}).json()
    assert len(plan["results"]) == 4 and plan["next"]
    assert {"acuity", "co_managed"} <= set(plan["results"][0])
    detail = client_for(world.a_cm).get(f"/api/v1/enrollments/{caseload[0].public_id}/").json()
    assert detail["history"][0]["kind"] == "started"
    practice = client_for(world.p1_contact).get("/api/v1/enrollments/").json()["results"]
    assert len(practice) == 6 and "acuity" not in practice[0]
    assert client_for(world.p2_contact).get("/api/v1/enrollments/").json()["results"] == []
    assert client_for(world.p1_contact).get(f"/api/v1/enrollments/{caseload[0].public_id}/").status_code == 403
    bad = client_for(world.a_cm).get("/api/v1/enrollments/", {"program": "yoga", "status": "x"})
    assert bad.status_code == 400 and {"program", "status"} <= set(bad.json())


def test_task_api_create_list_close(world, client_for):
    client = client_for(world.a_cm)
    bad = client.post("/api/v1/tasks/", {"member": str(world.m_a1.public_id), "title": "", "origin": "x"})
    assert bad.status_code == 400 and {"title", "due_date", "origin"} <= set(bad.json())
    created = client.post(
        "/api/v1/tasks/",
        {"member": str(world.m_a1.public_id), "title": "Call pharmacy", "due_date": "2026-12-01", "origin": "request"},
    )
    assert created.status_code == 201, created.json()
    task_id = created.json()["id"]
    assert [t["id"] for t in client.get("/api/v1/tasks/").json()["results"]] == [task_id]
    assert client.get("/api/v1/tasks/", {"owner": "all"}).status_code == 403
    closed = client.patch(f"/api/v1/tasks/{task_id}/", {"status": "done"}, content_type="application/json")
    assert closed.status_code == 200 and closed.json()["status"] == "done"
    again = client.patch(f"/api/v1/tasks/{task_id}/", {"status": "done"}, content_type="application/json")
    assert again.status_code == 400 and "status" in again.json()
    assert client.get("/api/v1/tasks/").json()["results"] == []
    assert client_for(world.p1_contact).get("/api/v1/tasks/").status_code == 403
