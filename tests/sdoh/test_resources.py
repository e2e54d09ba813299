"""The community resource directory: the plan's CSV import (all or nothing, every bad row named),
search by need, ZIP code and language, stale entries flagged, scoped to the plan and its partners."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.roster import Rejected
from sdoh import services
from sdoh.models import CommunityService
from sdoh.views import SAMPLE

HEADER = "organization,service,categories,languages,zip_codes,last_verified"


def _import(world, *rows, header=HEADER, user=None):
    body = "\n".join([header, *rows]) + "\n"
    return services.resources_import_csv(actor=world.actor(user or world.a_cm), stream=io.BytesIO(body.encode()))


def test_the_sample_file_imports_and_the_same_file_again_changes_nothing(world):
    first = services.resources_import_csv(actor=world.actor(world.a_admin), stream=io.BytesIO(SAMPLE.read_bytes()))
    assert (first.created, first.updated) == (4, 0)
    again = services.resources_import_csv(actor=world.actor(world.a_admin), stream=io.BytesIO(SAMPLE.read_bytes()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    rent = CommunityService.objects.get(name="Emergency rental assistance")
    assert rent.categories == ["housing_instability", "homelessness"] and rent.languages == ["en", "es", "vi"]


def test_every_bad_row_is_named_and_nothing_is_applied(world):
    today = world.plan_a.local_date()
    with pytest.raises(Rejected) as refused:
        _import(
            world,
            f"Pantry,Groceries,food_insecurity,en,68101,{today}",
            f"Pantry,Rides,teleportation,en,68101,{today}",
            f"Pantry,Heat,utility_insecurity,english,6810,{today}",
            f"Pantry,Later,food_insecurity,en,68101,{today + dt.timedelta(days=3)}",
            f"Pantry,Groceries,food_insecurity,en,68101,{today}",
            ",,,,,",
        )
    errors = {(e.row, e.field) for e in refused.value.result.errors}
    assert {(3, "categories"), (4, "languages"), (4, "zip_codes"), (5, "last_verified"), (6, "service")} <= errors
    assert {(7, "organization"), (7, "service"), (7, "categories")} <= errors
    assert not CommunityService.objects.exists()
    with pytest.raises(Rejected) as header:
        _import(world, header="organization,service,colour")
    assert {e.field for e in header.value.result.errors} >= {"categories", "colour", "zip_codes"}


def test_search_by_need_zip_and_language_flags_stale_entries(world, client_for):
    today = world.plan_a.local_date()
    old = today - dt.timedelta(days=400)
    _import(
        world,
        f"Pantry,Groceries,food_insecurity,en;es,68101;68102,{today}",
        f"Pantry,Vietnamese groceries,food_insecurity,vi,68102,{old}",
        f"Open Door,Rent help,housing_instability,en,68101,{today}",
    )
    client = client_for(world.a_cm)
    page = client.get("/resources/?need=food_insecurity&zip_code=68102").content.decode()
    assert page.count("data-service=") == 2 and page.count('class="pill warn stale"') == 1
    assert (
        client.get("/resources/?need=food_insecurity&zip_code=68102&language=es")
        .content.decode()
        .count("data-service=")
        == 1
    )
    assert client.get("/resources/?stale=on").content.decode().count("data-service=") == 1
    api = client.get("/api/v1/resources/?need=housing_instability&zip=68101").json()["results"]
    assert [s["name"] for s in api] == ["Rent help"]
    assert client.get("/api/v1/resources/?zip=681").status_code == 400
    # Partner practices read the plan's directory; another plan and a community organization do not.
    assert client_for(world.p2_contact).get("/resources/").content.decode().count("data-service=") == 3
    assert client_for(world.b_cm).get("/resources/").content.decode().count("data-service=") == 0
    assert client_for(world.c_staff).get("/resources/").status_code == 403


def test_plan_staff_verify_an_entry_and_practices_cannot(world, client_for):
    _import(world, f"Pantry,Groceries,food_insecurity,en,68101,{world.plan_a.local_date() - dt.timedelta(days=400)}")
    service = CommunityService.objects.get()
    assert client_for(world.p1_contact).post(f"/resources/{service.public_id}/verify/").status_code == 404
    client_for(world.a_cm).post(f"/resources/{service.public_id}/verify/")
    service.refresh_from_db()
    assert service.last_verified == world.plan_a.local_date()


def test_the_import_page_lists_bad_rows_and_a_good_file_lands(world, client_for):
    client = client_for(world.a_admin)
    bad = SimpleUploadedFile("d.csv", f"{HEADER}\nPantry,Food,nope,en,68101,2026-01-01\n".encode())
    page = client.post("/resources/import/", {"file": bad})
    assert page.status_code == 400 and "not a need category" in page.content.decode()
    good = SimpleUploadedFile("d.csv", SAMPLE.read_bytes())
    assert client.post("/resources/import/", {"file": good}).status_code == 302
    assert CommunityService.objects.count() == 4
    assert client_for(world.p1_contact).get("/resources/import/").status_code == 403


def test_the_search_takes_the_same_queries_for_one_service_and_for_a_page(world, client_for):
    today = world.plan_a.local_date()
    client = client_for(world.a_cm)
    _import(world, f"Pantry,Groceries,food_insecurity,en,68101,{today}")
    client.get("/resources/?need=food_insecurity")
    with CaptureQueriesContext(connection) as one:
        client.get("/resources/?need=food_insecurity")
    _import(world, *[f"Pantry {i},Groceries,food_insecurity,en,68101,{today}" for i in range(30)])
    with CaptureQueriesContext(connection) as many:
        assert client.get("/resources/?need=food_insecurity").content.decode().count("data-service=") == 31
    assert len(many) == len(one)


def _entry(world, **fields) -> dict:
    return {
        "organization": "Corner Pantry",
        "service": "Weekly groceries",
        "categories": ["food_insecurity"],
        "languages": "en; es",
        "zip_codes": "68101; 68102",
        "last_verified": world.plan_a.local_date().isoformat(),
        "is_active": "on",
        **fields,
    }


def test_plan_staff_add_and_edit_an_entry_in_the_browser_by_the_files_rules(world, client_for):
    client = client_for(world.a_cm)
    assert client.get("/resources/new/").status_code == 200
    bad = client.post("/resources/new/", _entry(world, zip_codes="681", languages="English"))
    assert bad.status_code == 400
    errors = bad.context["form"].errors
    assert "5 digits" in str(errors["zip_codes"]) and "ISO 639-1" in str(errors["languages"])
    assert not CommunityService.objects.exists()
    assert client.post("/resources/new/", _entry(world)).status_code == 302
    service = CommunityService.objects.get()
    assert (service.languages, service.zip_codes, service.is_active) == (["en", "es"], ["68101", "68102"], True)
    listing = client.get("/resources/").content.decode()
    assert f'href="/resources/{service.public_id}/edit/"' in listing
    assert f'form="verify-form" formaction="/resources/{service.public_id}/verify/"' in listing
    assert 'id="verify-form"' in listing  # one form (one CSRF token) for every row's button
    assert client.post("/resources/new/", _entry(world, service="WEEKLY groceries")).status_code == 400  # twice
    # Edit: the page shows the entry; a change lands; unlisting drops it from searches.
    page = client.get(f"/resources/{service.public_id}/edit/")
    assert page.context["form"].initial["zip_codes"] == "68101; 68102"
    changed = _entry(world, hours="Tue 9-12", categories=["food_insecurity", "utility_insecurity"], is_active="")
    assert client.post(f"/resources/{service.public_id}/edit/", changed).status_code == 302
    service.refresh_from_db()
    assert (service.hours, service.categories, service.is_active) == (
        "Tue 9-12",
        ["food_insecurity", "utility_insecurity"],
        False,
    )
    assert client.get("/resources/").content.decode().count("data-service=") == 0


def test_practices_and_other_plans_cannot_keep_the_directory(world, client_for):
    _import(world, f"Pantry,Groceries,food_insecurity,en,68101,{world.plan_a.local_date()}")
    service = CommunityService.objects.get()
    url = f"/resources/{service.public_id}/edit/"
    for user in (world.p1_contact, world.b_cm, world.c_staff):
        assert client_for(user).post(url, _entry(world, service="Taken over")).status_code == 404
        assert client_for(user).get(url).status_code == 404
    assert client_for(world.p1_contact).post("/resources/new/", _entry(world)).status_code == 403
    assert CommunityService.objects.get().name == "Groceries"


def test_a_file_sent_again_keeps_an_entry_unlisted_and_a_shared_name_links_nobody(world, client_for):
    from tests.conftest import make_org

    row = f"Twin Pantry,Groceries,food_insecurity,en,68101,{world.plan_a.local_date()}"
    make_org("community", "Twin Pantry")
    make_org("community", "twin pantry")  # two organizations of one name: which one takes referrals?
    _import(world, row)
    service = CommunityService.objects.get()
    assert service.organization is None
    client = client_for(world.a_cm)
    unlisted = _entry(world, organization="Twin Pantry", service="Groceries", zip_codes="68101", is_active="")
    assert client.post(f"/resources/{service.public_id}/edit/", unlisted).status_code == 302
    service.refresh_from_db()
    assert (service.is_active, service.organization) == (False, None)
    _import(world, row)  # the same file again: still unlisted
    service.refresh_from_db()
    assert service.is_active is False
