import datetime as dt
import json
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.models import Referral, Status
from tests.conftest import make_member
from tests.referrals.conftest import put_in, submit


@pytest.fixture
def crowd(world):
    """Twelve referrals of plan A in mixed states and urgencies."""
    made = []
    for i in range(12):
        member = make_member(world.plan_a, practice=world.p1, first=f"Q{i:02d}", last="Queue")
        made.append(submit(world, member, urgency="urgent" if i % 4 == 0 else "routine"))
    Referral.objects.filter(pk=made[5].pk).update(submitted_at=timezone.now() - dt.timedelta(days=9))
    put_in(made[6], Status.TRIAGED, world)
    put_in(made[7], Status.ASSIGNED, world)
    return made


def test_queue_sorts_by_priority_then_age_and_counts_open_statuses(world, client_for, crowd):
    page = client_for(world.a_cm).get("/referrals/")
    rows = page.context["rows"]
    assert len(rows) == 12
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks)
    counts = {status: n for status, _label, n in page.context["counts"]}
    assert counts == {"submitted": 10, "acknowledged": 0, "triaged": 1, "assigned": 1, "outreach": 0}
    programs = {r["status"]: r["program"] for r in rows if r["status"] in ("triaged", "submitted")}
    assert programs == {"triaged": "Complex care management", "submitted": "—"}  # the label, not the code


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "triaged"}, 1),
        ({"assigned": "me"}, 1),
        ({"assigned": "unassigned"}, 11),
        ({"age": "7"}, 1),
        ({"source": "practice"}, 12),
        ({"priority": "2"}, 2),
        ({"status": "closed"}, 0),
    ],
)
def test_queue_filters_live_in_the_url(world, client_for, crowd, params, expected):
    page = client_for(world.a_cm).get("/referrals/", params)
    assert page.status_code == 200 and len(page.context["rows"]) == expected


def test_each_row_shows_its_deadline(world, client_for, crowd):
    now = timezone.now()
    later = now + dt.timedelta(hours=30, minutes=30)
    Referral.objects.filter(pk=crowd[0].pk).update(due_at=now - dt.timedelta(hours=1))
    Referral.objects.filter(pk=crowd[1].pk).update(due_at=later)
    Referral.objects.filter(pk=crowd[2].pk).update(due_at=None, missed_deadlines=2)
    Referral.objects.filter(pk__in=[r.pk for r in crowd[3:]]).update(due_at=None, missed_deadlines=0)
    html = client_for(world.a_cm).get("/referrals/").content.decode()
    cells = re.findall(r"<td>(<span class=\"pill[^<]*</span>)</td>\s*</tr>", html)  # the last cell
    assert sorted(cells) == sorted(
        [
            '<span class="pill bad">overdue</span>',
            f'<span class="pill warn" title="{_local(later, world)}">due in 30 h</span>',
            '<span class="pill">2 missed</span>',
        ]
    ), cells


def _local(when, world) -> str:
    """As the page writes a time: the plan's zone, Django's DATETIME_FORMAT."""
    from django.utils.formats import date_format

    return date_format(when.astimezone(world.plan_a.tz), "DATETIME_FORMAT")


def test_the_filter_form_shows_what_was_asked(world, client_for, crowd):
    page = client_for(world.a_cm).get("/referrals/", {"status": "triaged", "practice": str(world.p1.public_id)})
    html = page.content.decode()
    assert '<option value="triaged" selected>Triaged</option>' in html
    assert '<option value="open">Open (all)</option>' in html  # not selected
    assert f'<option value="{world.p1.public_id}" selected>{world.p1.name}</option>' in html
    assert html.count(" selected>") == 8  # one per filter: the others on "Any"


def test_a_bad_filter_value_is_named_not_ignored(world, client_for, crowd):
    page = client_for(world.a_cm).get("/referrals/", {"priority": "9"})
    assert page.context["rows"] == [] and "priority" in page.context["filterset"].errors
    html = page.content.decode()
    assert '<span class="errorlist" role="alert">Priority: Select a valid choice.' in html
    api = client_for(world.a_cm).get("/api/v1/referrals/", {"priority": "9"})
    assert api.status_code == 400 and "priority" in api.json()


@pytest.mark.parametrize("url", ["/referrals/", "/api/v1/referrals/"])
def test_queue_query_count_does_not_grow_with_page_size(world, client_for, crowd, url):
    client = client_for(world.a_supervisor)
    client.get(url)
    size = "size" if url == "/referrals/" else "page_size"
    counts = []
    for n in (3, 12):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {size: n}).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_queue_queries_are_few_and_the_htmx_rows_skip_the_filter_form(world, client_for, crowd):
    """A care manager's queue: the person with their organization, the plan's partner practices,
    the page of rows, the per-status counts, and (whole page only) the practice filter's choices."""
    client = client_for(world.a_cm)
    client.get("/referrals/")
    for headers, expected in (({}, 5), ({"HX-Request": "true"}, 4)):
        for n in (3, 12):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get("/referrals/", {"size": n}, headers=headers).status_code == 200
            assert len(ctx) == expected, [q["sql"][:80] for q in ctx.captured_queries]


def test_keyset_pages_walk_the_whole_queue(world, client_for, crowd):
    client = client_for(world.a_cm)
    seen, url = [], "/api/v1/referrals/?page_size=5"
    while url:
        body = client.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 12


def test_the_queue_pages_links_keep_the_filters(world, client_for, crowd):
    """Follow the rendered links: the status count link, then Next, stay within the filter."""
    client = client_for(world.a_cm)
    html = client.get("/referrals/", {"size": "4"}).content.decode()
    submitted = unescape(re.search(r'<a href="([^"]*status=submitted[^"]*)"', html).group(1))
    assert submitted.startswith("?") and "size=4" in submitted and not submitted.startswith("??")
    seen, url = [], "/referrals/" + submitted
    while url:
        page = client.get(url)
        seen += [row["id"] for row in page.context["rows"]]
        assert all(row["status"] == "submitted" for row in page.context["rows"])
        found = re.search(r'<a href="([^"]*)" rel="next"', page.content.decode())
        url = "/referrals/" + unescape(found.group(1)) if found else None
    assert len(seen) == len(set(seen)) == 10


def test_bulk_assign_and_claim(world, client_for, crowd):
    triaged = [put_in(r, Status.TRIAGED, world) for r in crowd[:3]]
    response = client_for(world.a_supervisor).post(
        "/referrals/bulk/",
        {
            "action": "assign",
            "assignee": world.a_cm.public_id,
            "referrals": [str(r.public_id) for r in triaged[:2]],
        },
    )
    assert response.status_code == 302
    assert set(Referral.objects.filter(assigned_to=world.a_cm, status="assigned").values_list("pk", flat=True)) >= {
        r.pk for r in triaged[:2]
    }
    client_for(world.a_cm).post(
        "/referrals/bulk/", {"action": "claim", "referrals": [str(triaged[2].public_id), str(crowd[3].public_id)]}
    )
    triaged[2].refresh_from_db()
    crowd[3].refresh_from_db()
    assert triaged[2].assigned_to == world.a_cm
    assert crowd[3].status == "submitted"  # not triaged yet: cannot be claimed, reported instead


def test_the_queue_is_plan_staff_only(world, client_for, crowd):
    assert client_for(world.p1_contact).get("/referrals/").status_code == 403
    assert client_for(world.c_staff).get("/referrals/").status_code == 403


def test_predictive_model_list_all_or_nothing(world, client_for):
    submit(world, world.m_a1)  # already in the queue: will be linked
    client = client_for(world.a_supervisor)
    bad = b"member_id,score\nA0001,0.9\nNOPE,0.5\nA0002,1.7\nA0002,0.2\n"
    response = client.post("/referrals/lists/", {"file": SimpleUploadedFile("list.csv", bad)})
    assert response.status_code == 400
    problems = {(e["row"], e["field"]) for e in response.context["result"].errors}
    assert problems == {(3, "member_id"), (4, "score")}
    assert Referral.objects.count() == 1
    good = b"member_id,score,reason\nA0001,0.9,\nA0002,0.71,High predicted cost\n"
    response = client.post("/referrals/lists/", {"file": SimpleUploadedFile("list.csv", good)})
    assert response.status_code == 200
    new = Referral.objects.get(member=world.m_a2)
    assert (new.source, str(new.model_score), new.reason) == ("predictive_model", "0.710", "High predicted cost")
    assert Referral.objects.get(member=world.m_a1, source="predictive_model").status == "linked"
    assert client_for(world.a_cm).get("/referrals/lists/").status_code == 403


def test_api_create_list_detail_and_transition(world, client_for):
    practice = client_for(world.p1_contact)
    created = practice.post(
        "/api/v1/referrals/",
        {"member": str(world.m_a1.public_id), "reason": "Falls at home", "urgency": "urgent"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["urgency"], body["next_step"]) == (
        "submitted",
        "urgent",
        "Waiting for the plan to acknowledge the referral",
    )
    missing = practice.post(
        "/api/v1/referrals/", {"member": str(world.m_a1.public_id)}, content_type="application/json"
    )
    assert missing.status_code == 400 and "reason" in missing.json()
    foreign = practice.post(
        "/api/v1/referrals/", {"member": str(world.m_a2.public_id), "reason": "x"}, content_type="application/json"
    )
    assert foreign.status_code == 404
    assert [r["id"] for r in practice.get("/api/v1/referrals/").json()["results"]] == [body["id"]]

    plan = client_for(world.a_supervisor)
    url = f"/api/v1/referrals/{body['id']}/transition/"
    wrong = plan.post(url, {"to": "enrolled"}, content_type="application/json")
    assert wrong.status_code == 409
    assert wrong.json()["allowed"] == ["acknowledged", "cancelled", "not_eligible"]
    ok = plan.post(url, {"to": "acknowledged"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"
    triage = plan.post(url, {"to": "triaged", "priority": 1}, content_type="application/json")
    assert triage.status_code == 400 and {"program", "skill_needed"} <= set(triage.json())
    assign = plan.post(
        url,
        {"to": "triaged", "priority": 1, "program": "complex_care", "skill_needed": "RN"},
        content_type="application/json",
    )
    assert assign.status_code == 200
    assigned = plan.post(
        url, {"to": "assigned", "assignee": str(world.a_cm.public_id)}, content_type="application/json"
    )
    assert assigned.json()["care_manager"] == world.a_cm.get_full_name()
    refused = practice.post(url, {"to": "cancelled", "reason": "changed mind"}, content_type="application/json")
    assert refused.status_code == 403


@pytest.mark.parametrize("persona", ["a_cm", "p1_contact"])
def test_api_list_rows_are_the_serializers_fields(world, client_for, crowd, persona):
    """The list writes rows from values() without the serializer: they must stay the same."""
    from referrals.api.serializers import ReferralSerializer

    Referral.objects.filter(pk=crowd[1].pk).update(linked_to=crowd[0], status="linked")
    body = client_for(getattr(world, persona)).get("/api/v1/referrals/", {"page_size": 50, "status": "open"})
    rows = {r["id"]: r for r in body.json()["results"]}
    referrals = Referral.objects.filter(public_id__in=list(rows)).select_related(
        "member", "referring_practice", "assigned_to", "linked_to"
    )
    assert len(rows) >= 10
    for referral in referrals:
        assert rows[str(referral.public_id)] == json.loads(json.dumps(ReferralSerializer(referral).data)), referral
