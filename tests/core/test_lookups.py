"""core.lookups: `field__any=[...]` matches as `__in` does, with the values sent as one array."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Member

pytestmark = pytest.mark.django_db


def test_any_matches_what_in_matches_in_one_parameter(world):
    ids = [world.m_a1.pk, world.m_b1.pk, 10**12]
    with CaptureQueriesContext(connection) as queries:
        found = set(Member.objects.filter(pk__any=ids).values_list("pk", flat=True))
    assert found == set(Member.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert found == {world.m_a1.pk, world.m_b1.pk}
    assert "= ANY(" in queries[0]["sql"]
    assert not Member.objects.filter(pk__any=[]).exists()
    numbers = set(Member.objects.filter(member_number__any={"A0001", "B0001"}).values_list("pk", flat=True))
    assert numbers == {world.m_a1.pk, world.m_b1.pk}


def test_any_works_on_a_foreign_key(world):
    from members.models import Attribution

    rows = Attribution.objects.filter(member_id__any=[world.m_a1.pk, world.m_a2.pk])
    assert set(rows.values_list("member_id", flat=True)) == {world.m_a1.pk, world.m_a2.pk}


def test_any_refuses_what_is_not_a_list_of_values_and_leaves_out_none(world):
    from django.db.models import F, OuterRef

    for bad in ("123", {"a": 1}, F("pk"), OuterRef("pk"), Member.objects.values("pk"), 5):
        with pytest.raises(TypeError):
            list(Member.objects.filter(pk__any=bad))
    everyone = Member.objects.count()
    assert Member.objects.exclude(pk__any=[world.m_a1.pk, None]).count() == everyone - 1
    assert set(Member.objects.filter(pk__any=[world.m_a1, world.m_b1]).values_list("pk", flat=True)) == {
        world.m_a1.pk,
        world.m_b1.pk,
    }
