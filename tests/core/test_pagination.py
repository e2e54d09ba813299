import re
from html import unescape

import pytest

from core.pagination import BadCursor, paginate
from members.models import Member
from tests.conftest import make_member

pytestmark = pytest.mark.django_db


def test_keyset_pages_walk_forward_and_back_without_gaps_or_repeats(world):
    for i in range(23):
        make_member(world.plan_a, first=f"F{i:02d}", last="Same")  # ties on last name: the id breaks them
    qs = Member.objects.for_plan(world.plan_a.pk)
    order = ("last_name", "first_name", "id")
    seen, cursor, pages = [], None, []
    while True:
        page = paginate(qs, ordering=order, cursor=cursor, size=5)
        pages.append(page)
        seen += [m.pk for m in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == list(qs.order_by(*order).values_list("pk", flat=True))
    assert len(pages) == 5
    back = paginate(qs, ordering=order, cursor=pages[3].previous_cursor, size=5)
    assert [m.pk for m in back.items] == [m.pk for m in pages[2].items]
    first = paginate(qs, ordering=order, cursor=pages[1].previous_cursor, size=5)
    assert first.previous_cursor is None


def test_descending_order_and_size_limits(world):
    for i in range(4):
        make_member(world.plan_a, first=f"D{i}")
    qs = Member.objects.for_plan(world.plan_a.pk)
    page = paginate(qs, ordering=("-id",), size=10_000)
    assert page.size == 200
    assert [m.pk for m in page.items] == sorted((m.pk for m in page.items), reverse=True)


@pytest.mark.parametrize("cursor", ["garbage", "eyJ2IjpbXX0", "eyJ2IjpbMSwyLDNdLCJkIjoieCJ9"])
def test_a_forged_cursor_is_refused_clearly(world, cursor):
    with pytest.raises(BadCursor, match="not valid"):
        paginate(Member.objects.all(), ordering=("last_name", "first_name", "id"), cursor=cursor)


def test_bad_cursor_in_the_api_names_the_parameter(world, client_for):
    response = client_for(world.a_cm).get("/api/v1/members/", {"cursor": "nonsense"})
    assert response.status_code == 400
    assert "cursor" in response.json()
    for size in ("0", "9" * 5000):  # the second is past what int() will read
        response = client_for(world.a_cm).get("/api/v1/members/", {"page_size": size})
        assert response.status_code == 400 and "page_size" in response.json()


def test_the_pages_next_and_previous_links_walk_the_list(world, client_for):
    """Follow the rendered links, as a person would: each keeps the filters and moves the cursor."""
    for i in range(12):
        make_member(world.plan_a, first=f"L{i:02d}", last="Linkwalk", preferred_language="Tagalog")
    make_member(world.plan_a, first="L05x", last="Linkwalk", preferred_language="English")  # filtered out
    client = client_for(world.a_cm)

    def rows_and_links(url):
        html = client.get(url).content.decode()
        names = re.findall(r"Linkwalk, (\w+)", html)
        links = dict((rel, unescape(href)) for href, rel in re.findall(r'<a href="([^"]*)" rel="(next|prev)"', html))
        return names, links

    names, links = rows_and_links("/members/?language=tagalog&size=5")
    pages = [names]
    while "next" in links:
        assert links["next"].startswith("?language=tagalog&")
        names, links = rows_and_links("/members/" + links["next"])
        pages.append(names)
    assert pages == [[f"L{i:02d}" for i in range(s, min(s + 5, 12))] for s in (0, 5, 10)]
    names, _ = rows_and_links("/members/" + links["prev"])
    assert names == pages[1]
