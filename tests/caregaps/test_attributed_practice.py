"""Each gap's attributed practice (CareGap.practice): set when the gap is made, moved by a roster
import that moves the member, and by the nightly refresh when an attribution begins or ends by
date. The column only narrows: who sees a gap is still decided on the attribution."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caregaps import selectors, services
from caregaps.models import CareGap
from caregaps.selectors import GapFilters
from core.models import Deadline
from members.models import Attribution, EligibilitySpan
from tests.caregaps.conftest import import_gaps
from tests.members.test_roster_import import csv_bytes, row, run_import

pytestmark = pytest.mark.django_db


def _practice_of(member) -> int | None:
    return CareGap.objects.get(member=member).practice_id


def _reimport_a1(world, **attribution):
    """A roster file of one row: member A1 as the world made them, with this attribution."""
    a1 = row(
        "A0001",
        first_name="Alice",
        last_name="Arbor",
        date_of_birth="1970-01-01",
        eligibility_start=EligibilitySpan.objects.get(member=world.m_a1).start_date.isoformat(),
        **attribution,
    )
    return run_import(world, csv_bytes([a1]))


def _sees(world, user, member) -> bool:
    return selectors.gaps(world.actor(user)).filter(member=member).exists()


def test_a_new_gap_carries_the_practice_its_member_is_attributed_to(catalog):
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open", "A0002,BCS,,2026-12-31,open")
    assert _practice_of(world.m_a1) == world.p1.pk
    assert _practice_of(world.m_a2) == world.p2.pk
    # The nightly refresh is on the clock from the first gap.
    tomorrow = world.plan_a.local_date() + dt.timedelta(days=1)
    (nightly,) = Deadline.objects.filter(kind="care_gap.practices")
    assert nightly.key == f"care-gap-practices:{world.plan_a.pk}:{tomorrow.isoformat()}"
    assert nightly.due_at.astimezone(world.plan_a.tz).time() == services.PRACTICES_AT


def test_a_roster_import_that_moves_the_member_moves_the_gap(catalog):
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open")
    today = world.plan_a.local_date()
    result = _reimport_a1(world, practice_npi=world.p2.npi, attribution_start=today.isoformat())
    assert result.status == "succeeded", result.errors
    assert _practice_of(world.m_a1) == world.p2.pk
    assert not _sees(world, world.p1_contact, world.m_a1)
    assert _sees(world, world.p2_contact, world.m_a1)
    by_practice = {r["practice_id"]: r["total"] for r in selectors.by_practice(world.actor(world.a_cm))}
    assert by_practice == {world.p2.pk: 1}


def test_a_stale_column_hides_nothing_it_should_not_show(catalog):
    """Were the column ever wrong, the attribution still decides: a practice the member is not
    attributed to sees nothing, nor does the plan's filter by that practice."""
    world = catalog
    import_gaps(world, "A0002,BCS,,2026-12-31,open")  # m_a2 is P2's patient
    CareGap.objects.filter(member=world.m_a2).update(practice=world.p1)
    assert not _sees(world, world.p1_contact, world.m_a2)
    plan = world.actor(world.a_cm)
    assert not selectors.filtered(plan, GapFilters(practice=world.p1)).exists()
    assert services.attributed_practices_refresh(plan_id=world.plan_a.pk) == 1
    assert _practice_of(world.m_a2) == world.p2.pk
    assert _sees(world, world.p2_contact, world.m_a2)


def test_the_nightly_run_follows_attributions_that_begin_and_end_by_date(catalog):
    """An attribution that ended yesterday and one that begins today (written by an earlier
    roster import) move the gap on the night the date turns, and the next night's run is put on
    the clock. Only the rows that changed are written."""
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open", "A0002,BCS,,2026-12-31,open")
    today = world.plan_a.local_date()
    current = Attribution.objects.get(member=world.m_a1)
    Attribution.objects.filter(pk=current.pk).update(
        start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=1)
    )
    Attribution.objects.create(member=world.m_a1, plan=world.plan_a, practice=world.p2, start_date=today)
    assert _practice_of(world.m_a1) == world.p1.pk  # until the night's run
    assert not _sees(world, world.p1_contact, world.m_a1)  # the attribution already says so
    assert services.attributed_practices_nightly(plan_id=world.plan_a.pk) == 1
    assert _practice_of(world.m_a1) == world.p2.pk
    assert _sees(world, world.p2_contact, world.m_a1)
    keys = set(Deadline.objects.filter(kind="care_gap.practices").values_list("key", flat=True))
    assert f"care-gap-practices:{world.plan_a.pk}:{(today + dt.timedelta(days=1)).isoformat()}" in keys
    assert services.attributed_practices_nightly(plan_id=world.plan_a.pk) == 0  # nothing left to move


def test_a_member_no_longer_attributed_anywhere_leaves_no_practice_on_the_gap(catalog):
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open")
    today = world.plan_a.local_date()
    Attribution.objects.filter(member=world.m_a1).update(
        start_date=today - dt.timedelta(days=30), end_date=today - dt.timedelta(days=1)
    )
    services.attributed_practices_refresh(plan_id=world.plan_a.pk)
    assert _practice_of(world.m_a1) is None
    rows = selectors.by_practice(world.actor(world.a_cm))
    assert [(r["practice_id"], r["name"], r["total"]) for r in rows] == [(None, "Not attributed to a practice", 1)]


def test_the_refresh_is_one_statement_however_many_gaps(catalog):
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open", "A0001,COL,,2026-12-31,open", "A0002,BCS,,2026-12-31,open")
    with CaptureQueriesContext(connection) as queries:
        services.attributed_practices_refresh(plan_id=world.plan_a.pk)
    assert len(queries) == 3  # the plan (its date), the member-periods lock, the UPDATE


def test_counts_stop_on_the_day_the_attribution_ends_before_any_refresh(catalog):
    """The gap keeps a copy of its attribution's end: the practice's counts (read from the gap's
    columns, not checked against attributions one by one) drop the gap on the day after it, as
    the rows do, without waiting for the night's refresh."""
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open", "A0001,COL,,2026-12-31,open")
    practice = world.actor(world.p1_contact)
    assert sum(r["total"] for r in selectors.measure_summary(practice)) == 2
    today = world.plan_a.local_date()
    ends = today + dt.timedelta(days=10)
    result = _reimport_a1(
        world,
        practice_npi=world.p1.npi,
        attribution_start=Attribution.objects.get(member=world.m_a1).start_date.isoformat(),
        attribution_end=ends.isoformat(),
    )
    assert result.status == "succeeded", result.errors
    assert set(CareGap.objects.values_list("practice_until", flat=True)) == {ends}
    # Ten days on (moved here by moving the dates back instead): the attribution has ended.
    Attribution.objects.filter(member=world.m_a1).update(end_date=today - dt.timedelta(days=1))
    CareGap.objects.update(practice_until=today - dt.timedelta(days=1))
    assert selectors.measure_summary(practice) == []
    assert not selectors.gaps(practice).exists()
    plan = world.actor(world.a_cm)
    assert sum(r["total"] for r in selectors.measure_summary(plan, GapFilters(practice=world.p1))) == 0


def test_the_plans_view_by_practice_drops_an_ended_attribution_on_the_day(catalog):
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open", "A0002,BCS,,2026-12-31,open")
    yesterday = world.plan_a.local_date() - dt.timedelta(days=1)
    CareGap.objects.filter(member=world.m_a1).update(practice_until=yesterday)  # A1's ended; not yet refreshed
    rows = {r["practice_id"]: r["total"] for r in selectors.by_practice(world.actor(world.a_cm))}
    assert rows == {world.p2.pk: 1, None: 1}


def test_workflow_gaps_carry_the_practice_too(catalog):
    world = catalog
    made = services.gaps_from_workflows(
        plan=world.plan_a,
        gaps=[
            services.WorkflowGap(
                member=world.m_a2,
                measure_code="MRP",
                due_date=world.plan_a.local_date(),
                source_key="test:mrp:1",
                description="Medication reconciliation missed",
            )
        ],
    )
    assert made == 1 and _practice_of(world.m_a2) == world.p2.pk


def test_roster_imports_and_reminder_runs_keep_the_nightly_refresh_on_the_clock(catalog):
    """The chain does not hang on new gaps alone: a run that failed for good is made good by the
    next roster import that moves someone, or the next reminder run."""
    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open")
    Deadline.objects.filter(kind="care_gap.practices").delete()  # as if the night's run had failed
    tomorrow = world.plan_a.local_date() + dt.timedelta(days=1)  # A1 moves to P2 from tomorrow
    assert _reimport_a1(world, practice_npi=world.p2.npi, attribution_start=tomorrow.isoformat()).status == "succeeded"
    assert _practice_of(world.m_a1) == world.p1.pk  # still P1's today
    assert Deadline.objects.filter(kind="care_gap.practices").count() == 1
    Deadline.objects.filter(kind="care_gap.practices").delete()
    services.reminders_send(plan_id=world.plan_a.pk)
    assert Deadline.objects.filter(kind="care_gap.practices").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_refresh_waits_for_a_roster_import_that_is_still_moving_members(catalog):
    """A roster import holds the plan's member-periods lock while it writes attributions: a
    refresh started meanwhile (the nightly run, a gap import) waits for it to commit and then
    reads its attributions, instead of writing back the practice the import just moved away."""
    import threading

    from django.db import connections

    from members.roster import hold_member_periods

    world = catalog
    import_gaps(world, "A0001,BCS,,2026-12-31,open")
    today = world.plan_a.local_date()
    importer = connections.create_connection("default")
    done = threading.Event()
    try:
        with importer.cursor() as cursor:
            cursor.execute("BEGIN")
            hold_member_periods(cursor, world.plan_a.pk)
            # The import moves A1 to P2 from today (its own transaction, not yet committed).
            cursor.execute(
                "UPDATE members_attribution SET end_date = %s WHERE member_id = %s",
                [today - dt.timedelta(days=1), world.m_a1.pk],
            )
            cursor.execute(
                "UPDATE members_attribution SET start_date = %s WHERE member_id = %s",
                [today - dt.timedelta(days=30), world.m_a1.pk],
            )
            cursor.execute(
                "INSERT INTO members_attribution (member_id, plan_id, practice_id, start_date, source, created_at)"
                " VALUES (%s, %s, %s, %s, 'roster', now())",
                [world.m_a1.pk, world.plan_a.pk, world.p2.pk, today],
            )

            def nightly() -> None:
                try:
                    services.attributed_practices_nightly(plan_id=world.plan_a.pk)
                finally:
                    connections.close_all()
                    done.set()

            thread = threading.Thread(target=nightly)
            thread.start()
            assert not done.wait(1.0), "the refresh ran while the import still held the lock"
            cursor.execute("COMMIT")
        thread.join(20)
        assert done.is_set()
    finally:
        importer.close()
    assert _practice_of(world.m_a1) == world.p2.pk
