import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseloads.models import ContactLog, Task
from caseloads.services import contact_log, task_close, task_create
from members.services import release_revoke
from tests.conftest import make_member, make_release

pytestmark = pytest.mark.django_db


def _task(world, member=None, *, owner=None, days=0, title="Follow up", key=""):
    return task_create(
        actor=world.actor(world.a_cm),
        member=member or world.m_a1,
        owner=owner or world.a_cm,
        title=title,
        due_date=world.plan_a.local_date() + dt.timedelta(days=days),
        origin="care_plan",
        origin_key=key,
    )


def test_worklist_puts_overdue_first_and_shows_only_my_open_tasks(world, client_for):
    _task(world, days=3, title="Later")
    _task(world, days=-2, title="Overdue one")
    _task(world, days=0, title="Today one")
    _task(world, owner=world.a_supervisor, title="Someone else's")
    done = _task(world, days=-5, title="Already done")
    task_close(actor=world.actor(world.a_cm), task=done)
    page = client_for(world.a_cm).get("/worklist/")
    assert [t["title"] for t in page.context["page"].items] == ["Overdue one", "Today one", "Later"]
    html = page.content.decode()
    assert html.index("Overdue") < html.index("Today one")
    everyone = client_for(world.a_supervisor).get("/worklist/", {"owner": "all"})
    assert len(everyone.context["page"].items) == 4
    mine_only = client_for(world.a_cm).get("/worklist/", {"owner": "all"})  # not a supervisor: own list
    assert len(mine_only.context["page"].items) == 3
    assert client_for(world.p1_contact).get("/worklist/").status_code == 403


def test_worklist_query_count_does_not_grow_with_its_length(world, client_for):
    client = client_for(world.a_cm)
    client.get("/worklist/")
    counts = []
    for n in (2, 20):
        while Task.objects.filter(owner=world.a_cm, status="open").count() < n:
            _task(world, make_member(world.plan_a), days=-1)
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get("/worklist/").context["page"].items) == n
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_a_task_is_done_from_the_worklist_by_its_owner_or_a_supervisor(world, client_for):
    task = _task(world)
    response = client_for(world.a_intake).post(f"/tasks/{task.public_id}/close/", {"status": "done"})
    assert response.status_code == 403
    response = client_for(world.a_cm).post(
        f"/tasks/{task.public_id}/close/", {"status": "done"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response.content == b""
    task.refresh_from_db()
    assert task.status == "done" and task.closed_by == world.a_cm
    with pytest.raises(ValidationError, match="done already"):
        task_close(actor=world.actor(world.a_supervisor), task=task)


def test_task_rules(world):
    with pytest.raises(ValidationError) as err:
        task_create(
            actor=world.actor(world.a_cm), member=world.m_a1, owner=world.b_cm, title="", due_date=None, origin="nope"
        )
    assert {"title", "due_date", "origin"} <= set(err.value.message_dict)
    with pytest.raises(ValidationError) as err:
        _task(world, owner=world.b_cm)
    assert "owner" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        task_create(
            actor=world.actor(world.a_intake),
            member=world.m_a1,
            owner=world.a_cm,
            title="x",
            due_date=dt.date.today(),
            origin="request",
        )
    first = _task(world, key="x:1")
    assert _task(world, key="x:1").pk == first.pk  # one open task per origin key


def test_new_task_form_names_bad_fields(world, client_for):
    client = client_for(world.a_cm)
    url = f"/members/{world.m_a1.public_id}/tasks/new/"
    response = client.post(url, {"title": "", "owner": world.a_cm.public_id, "due_date": "31/31/2026", "origin": "x"})
    assert response.status_code == 400
    assert {"title", "due_date", "origin"} <= set(response.context["form"].errors)
    assert not Task.objects.exists()
    response = client.post(
        url, {"title": "Book transport", "owner": world.a_cm.public_id, "due_date": "2026-12-01", "origin": "request"}
    )
    assert response.status_code == 302 and Task.objects.get().title == "Book transport"


def test_contact_log_internal_and_shareable_notes(world, client_for):
    url = f"/members/{world.m_a1.public_id}/contacts/"
    client = client_for(world.a_cm)
    base = {
        "made_at": timezone.localtime(timezone=world.plan_a.tz).strftime("%Y-%m-%dT%H:%M"),
        "method": "fax",
        "outcome": "completed",
    }
    assert (
        client.post(
            url, {**base, "with_whom": "Dr. Lane's office", "notes": "Sent plan", "shareable": "on"}
        ).status_code
        == 302
    )
    assert (
        client.post(url, {**base, "with_whom": "Member's sister", "notes": "Worried about housing"}).status_code == 302
    )
    bad = client.post(url, {**base, "method": "pigeon", "with_whom": ""})
    assert bad.status_code == 400 and {"method", "with_whom"} <= set(bad.context["form"].errors)
    assert ContactLog.objects.count() == 2
    plan_view = client.get(url).content.decode()
    assert "Sent plan" in plan_view and "Worried about housing" in plan_view
    practice = client_for(world.p1_contact)
    assert "Sent plan" not in practice.get(url).content.decode()  # no release covers the practice yet
    release = make_release(world.m_a1, world.p1)
    seen = practice.get(url).content.decode()
    assert "Sent plan" in seen and "Worried about housing" not in seen
    assert practice.post(url, {**base, "with_whom": "x"}).status_code == 403
    release_revoke(actor=world.actor(world.a_admin), release=release, reason="Member asked")
    assert "Sent plan" not in practice.get(url).content.decode()


def test_contact_log_refuses_a_future_time(world):
    with pytest.raises(ValidationError) as err:
        contact_log(
            actor=world.actor(world.a_cm),
            member=world.m_a1,
            made_at=timezone.now() + dt.timedelta(hours=2),
            method="phone",
            with_whom="Member",
            outcome="completed",
        )
    assert "made_at" in err.value.message_dict


def test_the_member_page_links_to_the_caseload_pages(world, client_for):
    html = client_for(world.a_cm).get(f"/members/{world.m_a1.public_id}/").content.decode()
    assert re.search(rf'href="/members/{world.m_a1.public_id}/contacts/"', html)
    assert re.search(rf'href="/members/{world.m_a1.public_id}/tasks/new/"', html)
