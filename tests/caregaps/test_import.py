"""Gap files (CSV) from the plan's quality engine: checked whole, applied whole, idempotent; the
measure catalog; who sees which gaps."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied

from caregaps import services
from caregaps.models import CareGap, GapEvent, Measure
from core.models import AuditEvent
from members.roster import Rejected
from tests.caregaps.conftest import gap_file, import_gaps


def test_the_catalog_holds_the_standard_measures_once(catalog):
    world = catalog
    codes = set(Measure.objects.for_plan(world.plan_a.pk).values_list("code", flat=True))
    assert {"BCS", "COL", "CBP", "GSD", "WCV", "PPC", "FUH", "MRP", "AWV", "PERSIST"} <= codes
    assert services.measure_catalog_seed(plan=world.plan_a) == 0  # seeding again adds nothing
    assert Measure.objects.for_plan(world.plan_a.pk).count() == len(codes)


def test_a_gap_file_opens_gaps_and_the_same_file_again_changes_nothing(catalog):
    world = catalog
    a1, a2 = world.m_a1.member_number, world.m_a2.member_number
    rows = (f"{a1},BCS,Mammogram due,2026-12-31,open", f"{a2},col,,12/31/2026,", f"{a1},AWV,Wellness visit,,closed")
    result = import_gaps(world, *rows)
    assert (result.total_rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    gaps = CareGap.objects.for_plan(world.plan_a.pk)
    assert sorted(gaps.values_list("measure__code", "status")) == [("AWV", "closed"), ("BCS", "open"), ("COL", "open")]
    assert GapEvent.objects.filter(gap__in=gaps).count() == 3
    assert AuditEvent.objects.filter(object_type="care_gap", action="create").count() == 3
    again = import_gaps(world, *rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert gaps.count() == 3 and GapEvent.objects.filter(gap__in=gaps).count() == 3


def test_the_engine_closing_a_gap_is_a_move_on_its_history(catalog):
    world = catalog
    a1 = world.m_a1.member_number
    import_gaps(world, f"{a1},BCS,Mammogram due,2026-12-31,open")
    result = import_gaps(world, f"{a1},BCS,Mammogram due,2026-12-31,closed")
    assert (result.created, result.updated) == (0, 1)
    gap = CareGap.objects.get(plan=world.plan_a, measure__code="BCS")
    assert gap.status == "closed" and gap.closed_at is not None
    assert list(gap.events.values_list("from_status", "to_status")) == [("", "open"), ("open", "closed")]


def test_every_bad_row_is_reported_and_nothing_is_applied(catalog):
    world = catalog
    a1, b1 = world.m_a1.member_number, world.m_b1.member_number
    with pytest.raises(Rejected) as rejected:
        import_gaps(
            world,
            f"{a1},BCS,ok,2026-12-31,open",
            f"{b1},BCS,another plan's member,2026-12-31,open",
            f"{a1},NOPE,,2026-12-31,open",
            f"{a1},COL,,31.12.2026,open",
            f"{a1},COL,,2026-12-31,pending",
            f",,{'x' * 301},,",
            f"{a1},BCS,the same gap twice,2026-12-31,open",
            f"{a1},BCS",
        )
    errors = {(e.row, e.field) for e in rejected.value.result.errors}
    assert errors == {
        (3, "member_id"),
        (4, "measure"),
        (5, "due_date"),
        (6, "status"),
        (7, "member_id"),
        (7, "measure"),
        (7, "description"),
        (8, "measure"),
        (9, "row"),
    }
    messages = {(e.row, e.field): e.message for e in rejected.value.result.errors}
    assert "not a member of Plan A" in messages[(3, "member_id")]
    assert "row 2" in messages[(8, "measure")]
    assert not CareGap.objects.exists() and not GapEvent.objects.exists()


def test_a_bad_header_or_a_file_that_is_not_text_is_refused_naming_it(catalog):
    world = catalog
    with pytest.raises(Rejected) as rejected:
        import_gaps(world, "A1,BCS", header="member,measure")
    assert {(e.row, e.field) for e in rejected.value.result.errors} == {(1, "member_id"), (1, "member")}
    with pytest.raises(Rejected) as rejected:
        services.gaps_import_csv(actor=world.actor(world.a_admin), stream=io.BytesIO(b"\xff\xfe\x00garbage"))
    assert rejected.value.result.errors[0].field == "file"
    with pytest.raises(Rejected) as rejected:
        services.gaps_import_csv(actor=world.actor(world.a_admin), stream=io.BytesIO(b""))
    assert rejected.value.result.errors[0].message == "The file is empty."


def test_only_the_plans_importers_may_import(catalog):
    world = catalog
    for person in (world.a_cm, world.p1_contact, world.b_cm):
        with pytest.raises(PermissionDenied):
            services.gaps_import_csv(actor=world.actor(person), stream=gap_file())


def test_a_practice_sees_the_gaps_of_its_attributed_patients_only(catalog):
    world = catalog
    import_gaps(
        world, f"{world.m_a1.member_number},BCS,,2026-12-31,open", f"{world.m_a2.member_number},BCS,,2026-12-31,"
    )
    services.gaps_import_csv(
        actor=world.actor(world.b_admin), stream=gap_file(f"{world.m_b3.member_number},COL,,2026-12-31,open")
    )

    def members_seen(person):
        return set(CareGap.objects.visible_to(world.actor(person)).values_list("member_id", flat=True))

    assert members_seen(world.a_cm) == {world.m_a1.pk, world.m_a2.pk}
    assert members_seen(world.p1_contact) == {world.m_a1.pk}
    assert members_seen(world.p2_contact) == {world.m_a2.pk}
    assert members_seen(world.p3_contact) == {world.m_b3.pk}
    assert members_seen(world.b_cm) == {world.m_b3.pk}
    assert members_seen(world.c_staff) == set()
    assert not Measure.objects.visible_to(world.actor(world.c_staff)).exists()
    assert set(Measure.objects.visible_to(world.actor(world.p3_contact)).values_list("plan_id", flat=True)) == {
        world.plan_b.pk
    }


def test_each_practice_with_new_gaps_hears_once_how_many(catalog):
    from core.models import Notification
    from organizations.models import Partnership
    from organizations.services import partnership_contact_save
    from tests.conftest import SYSTEM

    world = catalog
    partnership_contact_save(
        actor=SYSTEM,
        partnership=Partnership.objects.get(plan=world.plan_a, practice=world.p1),
        side="practice",
        name="Pat Contact",
        user=world.p1_contact,
        email="pat@practice-one.example",
        is_primary=True,
    )
    a1 = world.m_a1.member_number
    import_gaps(world, f"{a1},BCS,,2026-12-31,open", f"{a1},COL,,2026-12-31,open", f"{world.m_a2.member_number},AWV,,,")
    (notice,) = Notification.objects.filter(kind="care_gaps")
    assert notice.recipient == world.p1_contact and notice.title == "2 new care gap(s) from Plan A"
    assert notice.email_wanted and world.m_a1.last_name not in notice.title
    import_gaps(world, f"{a1},BCS,,2026-12-31,open")  # nothing new: nobody is told again
    assert Notification.objects.filter(kind="care_gaps").count() == 1
