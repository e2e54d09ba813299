import time

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD


def test_passwords_are_hashed_with_argon2(world):
    world.a_cm.refresh_from_db()
    assert world.a_cm.password.startswith("argon2")


def test_each_role_lands_on_its_own_home_page(world, client):
    expectations = {
        "a_admin": b"Recent roster imports",
        "a_supervisor": b"Your team",
        "a_cm": b"Find a member",
        "p1_contact": b"Health plans you partner with",
        "c_staff": b"Your organization in CareCoord",
    }
    for username, marker in expectations.items():
        c = Client()
        response = c.post("/accounts/login/", {"username": username, "password": PASSWORD}, follow=True)
        assert response.status_code == 200
        assert marker in response.content, username


def test_a_signed_in_request_loads_the_person_with_their_organization(world):
    from django.contrib.auth import BACKEND_SESSION_KEY
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = Client()
    assert c.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD}).status_code == 302
    assert c.session[BACKEND_SESSION_KEY] == "organizations.backends.ModelBackend"
    with CaptureQueriesContext(connection) as queries:
        assert c.get("/members/").status_code == 200
    users = [q["sql"] for q in queries.captured_queries if 'FROM "organizations_user"' in q["sql"]]
    assert len(users) == 1 and 'JOIN "organizations_organization"' in users[0]
    by_id = 'WHERE "organizations_organization"."id" = '
    assert not [q for q in queries.captured_queries if by_id in q["sql"]]  # not fetched again


def test_lockout_after_repeated_failures_even_with_the_right_password(world, settings):
    c = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert c.post("/accounts/login/", {"username": "a_cm", "password": "wrong"}).status_code == 200
    assert c.post("/accounts/login/", {"username": "a_cm", "password": "wrong"}).status_code == 429
    locked = c.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Account locked" in locked.content
    other_client = Client(REMOTE_ADDR="10.9.9.9")  # a different address does not get around it
    assert other_client.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD}).status_code == 429
    assert Client().post("/accounts/login/", {"username": "a_admin", "password": PASSWORD}).status_code == 302


def test_session_ends_after_inactivity(world, client, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    assert client.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD}).status_code == 302
    assert client.get("/members/").status_code == 200
    session = client.session
    session["last_seen"] = int(time.time()) - 61
    session.save()
    response = client.get("/members/")
    assert response.status_code == 302 and "expired=1" in response["Location"]
    assert client.get("/").status_code == 302  # signed out
    api = Client()
    api.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD})
    s = api.session
    s["last_seen"] = int(time.time()) - 61
    s.save()
    assert api.get("/api/v1/members/").status_code == 401


def test_background_polling_does_not_keep_a_session_alive(world, client, settings):
    settings.SESSION_IDLE_TIMEOUT = 300
    client.post("/accounts/login/", {"username": "a_cm", "password": PASSWORD})

    def idle_for(seconds: int) -> int:
        session = client.session
        session["last_seen"] = int(time.time()) - seconds
        session.save()
        return session["last_seen"]

    before = idle_for(90)  # past the once-a-minute write threshold
    client.get("/inbox/badge/", HTTP_X_BACKGROUND="1")
    assert client.session["last_seen"] == before  # polling is not activity
    client.get("/inbox/badge/")
    assert client.session["last_seen"] > before  # a person's request is


def test_anonymous_visitors_are_sent_to_sign_in(db, client):
    assert client.get("/members/")["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/members/").status_code in (401, 403)


def test_system_token_authenticates_api_calls(world, capsys):
    call_command("create_api_token", "a_intake", "--expires-in-days", "30")
    token = capsys.readouterr().out.strip()
    assert len(token) >= 40
    response = Client().get("/api/v1/members/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert {r["member_id"] for r in response.json()["results"]} == {"A0001", "A0002"}
    assert Client().get("/api/v1/members/", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_token_command_refuses_unknown_users(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_token", "ghost")


def test_openapi_schema_lists_the_v1_api(world, client_for):
    response = client_for(world.a_cm).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/members/",
        "/api/v1/members/{member_id}/",
        "/api/v1/organizations/",
        "/api/v1/staff/",
        "/api/v1/roster-imports/",
    ):
        assert path in text


def test_malformed_paging_and_search_input_is_answered_not_crashed(world, client_for):
    client = client_for(world.a_cm)
    assert client.get("/members/", {"size": "²"}).status_code == 200
    response = client.get("/api/v1/members/", {"page_size": "²"})
    assert response.status_code == 400 and "page_size" in response.json()
    assert client.get("/members/", {"q": "A0001\x00"}).status_code == 200
    assert client.get("/api/v1/members/", {"q": "A0001\x00"}).status_code == 200


def test_staff_of_a_deactivated_organization_see_nothing(world, client_for):
    from organizations.models import Organization

    Organization.objects.filter(pk=world.p1.pk).update(is_active=False)
    assert client_for(world.p1_contact).get(f"/members/{world.m_a1.public_id}/").status_code == 404
