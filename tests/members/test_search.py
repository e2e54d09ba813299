import datetime as dt

import pytest

from members import search
from members.models import Member
from tests.conftest import make_member


@pytest.fixture
def people(world):
    make_member(
        world.plan_a,
        practice=world.p1,
        first="Maria",
        last="Gonzalez",
        dob=dt.date(1961, 4, 9),
        member_number="PHP9000001",
    )
    make_member(world.plan_a, practice=world.p2, first="Mario", last="Gonzales", dob=dt.date(1975, 1, 2))
    make_member(world.plan_a, practice=world.p1, first="Jonathan", last="Smith", dob=dt.date(1990, 7, 7))
    make_member(
        world.plan_b, practice=world.p1, first="Maria", last="Gonzalez", dob=dt.date(1961, 4, 9), member_number="MHP1"
    )
    return world


def found(world, user, query):
    qs = Member.objects.visible_to(world.actor(user))
    return [(m.first_name, m.last_name) for m in search.search(qs, search.parse(query))]


def test_query_parsing():
    terms = search.parse("Gonzalez 04/09/1961 php9000001")
    assert terms.name == "gonzalez" and terms.date_of_birth == dt.date(1961, 4, 9)
    assert terms.member_number == "PHP9000001"
    assert search.parse("1961-04-09").date_of_birth == dt.date(1961, 4, 9)
    assert not search.parse("   ")


def test_typos_in_names_still_find_the_member(people):
    assert found(people, people.a_cm, "maria gonzales")[0] == ("Maria", "Gonzalez")
    assert ("Jonathan", "Smith") in found(people, people.a_cm, "jonathon smiht")


def test_search_by_date_of_birth_and_member_id(people):
    assert found(people, people.a_cm, "04/09/1961") == [("Maria", "Gonzalez")]
    assert found(people, people.a_cm, "php9000001") == [("Maria", "Gonzalez")]
    assert found(people, people.a_cm, "gonzalez 1975-01-02") == [("Mario", "Gonzales")]


def test_search_never_crosses_the_scope(people):
    # Plan A staff cannot find plan B's Maria Gonzalez; a practice finds only its attributed patients.
    assert len([r for r in found(people, people.a_cm, "maria gonzalez") if r == ("Maria", "Gonzalez")]) == 1
    assert found(people, people.p2_contact, "gonzalez") == [("Mario", "Gonzales")]
    assert found(people, people.c_staff, "gonzalez") == []


def test_search_page_and_api(people, client_for):
    page = client_for(people.a_cm).get("/members/", {"q": "maria gonzales"})
    assert page.status_code == 200
    assert b"Gonzalez, Maria" in page.content
    api = client_for(people.p1_contact).get("/api/v1/members/", {"q": "gonzalez"}).json()
    assert {r["member_id"] for r in api["results"]} == {"PHP9000001", "MHP1"}
    assert api["next"] is None


def _plan(qs) -> str:
    from django.db import connection

    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(r[0] for r in cursor.fetchall())


def test_search_reads_indexes_never_every_member(people):
    from members.models import NamePart

    similar = search._dictionary(["maria", "gonzales"])
    assert "gonzalez" in similar["gonzales"] and "maria" in similar["maria"]
    assert "namepart_value_trgm" in _plan(NamePart.objects.filter(value__trigram_similar="gonzales"))
    members = search.dictionary_matches(Member.objects.all(), "maria gonzales", ["maria", "gonzales"], similar)
    assert "member_name" in _plan(members)


def test_the_name_dictionary_follows_every_write(people):
    from members.models import NamePart

    Member.objects.filter(first_name="Jonathan").update(first_name="Jonah")
    assert NamePart.objects.filter(value="jonah").exists()
    assert {"maria", "gonzalez", "smith"} <= set(NamePart.objects.values_list("value", flat=True))


def test_exact_last_name_comes_first_then_close_matches(people):
    from tests.conftest import make_member

    make_member(people.plan_a, first="Ann", last="Smithson")
    results = found(people, people.a_cm, "smith")
    assert results == [("Jonathan", "Smith"), ("Ann", "Smithson")]


def test_a_typo_in_every_word_still_finds_the_member(people):
    assert ("Maria", "Gonzalez") in found(people, people.a_cm, "mria gonzales")
