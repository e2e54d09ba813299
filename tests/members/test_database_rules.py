"""Rules PostgreSQL keeps for member data whatever writes it (members/migrations/0002)."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from core.ids import uuid7
from members.models import Attribution, EligibilitySpan


def test_overlapping_coverage_is_refused_by_the_database(world):
    member = world.m_a1  # eligible and attributed from a year ago, open-ended
    with pytest.raises(IntegrityError, match="overlaps"), transaction.atomic():
        EligibilitySpan.objects.create(member=member, plan=world.plan_a, start_date=dt.date.today())
    with pytest.raises(IntegrityError, match="overlaps"), transaction.atomic():
        Attribution.objects.create(member=member, plan=world.plan_a, practice=world.p2, start_date=dt.date.today())
    with pytest.raises(IntegrityError, match="overlaps"), transaction.atomic():
        Attribution.objects.bulk_create(
            [
                Attribution(
                    member=world.m_a2,
                    plan=world.plan_a,
                    practice=world.p1,
                    start_date=dt.date(2020, 1, 1),
                    end_date=dt.date(2020, 12, 31),
                ),
                Attribution(
                    member=world.m_a2,
                    plan=world.plan_a,
                    practice=world.p2,
                    start_date=dt.date(2020, 6, 1),
                    end_date=dt.date(2020, 6, 30),
                ),
            ]
        )


def test_adjacent_periods_are_fine_and_updates_are_checked(world):
    member = world.m_a1
    current = member.attributions.get()
    current.end_date = dt.date.today()
    current.save()
    Attribution.objects.create(
        member=member, plan=world.plan_a, practice=world.p2, start_date=dt.date.today() + dt.timedelta(days=1)
    )
    with pytest.raises(IntegrityError, match="overlaps"), transaction.atomic():
        Attribution.objects.filter(pk=current.pk).update(end_date=None)


@pytest.mark.django_db(transaction=True)
def test_two_transactions_cannot_both_add_overlapping_periods(world):
    """Each transaction's trigger waits for the plan's lock, then sees what the other committed."""
    member = world.m_a2
    member.attributions.update(end_date=dt.date(2030, 1, 1))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(practice) -> None:
        try:
            with transaction.atomic():
                barrier.wait()
                Attribution.objects.create(
                    member=member, plan=world.plan_a, practice=practice, start_date=dt.date(2031, 1, 1)
                )
            outcomes.append("ok")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(p,)) for p in (world.p1, world.p2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]


def test_public_ids_are_time_ordered_uuids():
    ids = [uuid7() for _ in range(1000)]
    assert all(i.version == 7 for i in ids)
    assert len(set(ids)) == 1000
    assert ids[0].int >> 80 <= ids[-1].int >> 80  # the leading 48 bits are milliseconds
