"""The practice's actions on a gap and the plan's adjudication; every move on the gap's history."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from caregaps import services
from caregaps.models import ALLOWED, CareGap, Status
from tests.caregaps.conftest import import_gaps


@pytest.fixture
def gap(catalog):
    world = catalog
    import_gaps(world, f"{world.m_a1.member_number},BCS,Mammogram due,2026-12-31,open")
    return CareGap.objects.get(member=world.m_a1)


@pytest.mark.parametrize(("before", "after"), list(itertools.product(Status.values, Status.values)))
def test_every_move_is_allowed_or_refused_by_the_table(world, gap, before, after):
    CareGap.objects.filter(pk=gap.pk).update(
        status=before, closed_at=gap.opened_at if before in ("closed", "excluded") else None
    )
    gap.refresh_from_db()
    if after in ALLOWED[before]:
        moved = services._move(actor=world.actor(world.a_admin), gap=gap, to=after).gap
        assert moved.status == after and (moved.closed_at is not None) == (after in ("closed", "excluded"))
        assert moved.events.last().from_status == before
    else:
        with pytest.raises(ValidationError):
            services._move(actor=world.actor(world.a_admin), gap=gap, to=after)
        gap.refresh_from_db()
        assert gap.status == before


def test_the_practice_books_the_visit_sends_evidence_and_the_plan_accepts(world, gap):
    practice, plan = world.actor(world.p1_contact), world.actor(world.a_cm)
    today = world.plan_a.local_date()
    gap = services.gap_schedule(actor=practice, gap=gap, scheduled_for=today + dt.timedelta(days=10))
    assert (gap.status, gap.scheduled_for) == ("scheduled", today + dt.timedelta(days=10))
    gap = services.gap_submit_evidence(actor=practice, gap=gap, service_date=today, code="77067", note="Normal")
    assert gap.status == "evidence"
    gap = services.gap_adjudicate(actor=plan, gap=gap, accept=True)
    assert gap.status == "closed" and gap.closed_at is not None
    history = list(gap.events.values_list("from_status", "to_status", "actor_label"))
    assert [(f, t) for f, t, _ in history] == [
        ("", "open"),
        ("open", "scheduled"),
        ("scheduled", "evidence"),
        ("evidence", "closed"),
    ]
    assert history[2][2] == world.p1_contact.username
    assert gap.events.get(to_status="evidence").code == "77067"


def test_rejected_evidence_reopens_the_gap_with_the_reason_and_an_exclusion_can_be_granted(world, gap):
    practice, plan = world.actor(world.p1_contact), world.actor(world.a_cm)
    today = world.plan_a.local_date()
    gap = services.gap_submit_evidence(actor=practice, gap=gap, service_date=today, code="77067")
    with pytest.raises(ValidationError) as error:
        services.gap_adjudicate(actor=plan, gap=gap, accept=False, reason=" ")
    assert "reason" in error.value.message_dict
    gap = services.gap_adjudicate(actor=plan, gap=gap, accept=False, reason="The mammogram was in 2023")
    assert gap.status == "open" and gap.events.last().note == "The mammogram was in 2023"
    gap = services.gap_request_exclusion(actor=practice, gap=gap, reason="Bilateral mastectomy (2019)")
    gap = services.gap_adjudicate(actor=plan, gap=gap, accept=True)
    assert gap.status == "excluded"


def test_bad_input_names_each_field_and_changes_nothing(world, gap):
    practice = world.actor(world.p1_contact)
    today = world.plan_a.local_date()
    cases = [
        (lambda: services.gap_schedule(actor=practice, gap=gap, scheduled_for=None), "scheduled_for"),
        (
            lambda: services.gap_schedule(actor=practice, gap=gap, scheduled_for=today - dt.timedelta(days=1)),
            "scheduled_for",
        ),
        (
            lambda: services.gap_schedule(actor=practice, gap=gap, scheduled_for=today + dt.timedelta(days=400)),
            "scheduled_for",
        ),
        (lambda: services.gap_submit_evidence(actor=practice, gap=gap, service_date=None, code=""), "service_date"),
        (lambda: services.gap_submit_evidence(actor=practice, gap=gap, service_date=today, code=""), "code"),
        (
            lambda: services.gap_submit_evidence(
                actor=practice, gap=gap, service_date=today + dt.timedelta(days=1), code="77067"
            ),
            "service_date",
        ),
        (lambda: services.gap_request_exclusion(actor=practice, gap=gap, reason=""), "reason"),
        (lambda: services.gap_adjudicate(actor=world.actor(world.a_cm), gap=gap, accept=True), "status"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as error:
            call()
        assert field in error.value.message_dict, field
    gap.refresh_from_db()
    assert gap.status == "open" and gap.events.count() == 1


def test_only_the_practice_acts_and_only_plan_care_staff_adjudicate(world, gap):
    today = world.plan_a.local_date()
    for person in (world.a_cm, world.c_staff):
        with pytest.raises(PermissionDenied):
            services.gap_schedule(actor=world.actor(person), gap=gap, scheduled_for=today)
    gap = services.gap_submit_evidence(actor=world.actor(world.p1_contact), gap=gap, service_date=today, code="X")
    for person in (world.p1_contact, world.a_intake):
        with pytest.raises(PermissionDenied):
            services.gap_adjudicate(actor=world.actor(person), gap=gap, accept=True)
