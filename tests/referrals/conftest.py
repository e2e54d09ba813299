import datetime as dt

import pytest
from django.utils import timezone

from organizations.access import Actor
from referrals.models import OutreachAttempt, Referral, Status
from referrals.services import Intake, referral_create
from tests.conftest import make_release


def submit(world, member=None, *, by=None, urgency="routine", reason="Frequent ED visits, uncontrolled diabetes"):
    member = member or world.m_a1
    by = by or world.p1_contact
    return referral_create(
        actor=Actor.for_user(by), member=member, source="practice", intake=Intake(reason=reason, urgency=urgency)
    )


def put_in(referral: Referral, status: str, world) -> Referral:
    """Place a referral in a state directly (what earlier moves would have set), for table tests."""
    fields = {"status": status}
    if status in (Status.TRIAGED, Status.ASSIGNED, Status.OUTREACH, Status.ENROLLED):
        fields.update(priority=2, program="complex_care", skill_needed="RN", queue_rank=2)
    if status in (Status.ASSIGNED, Status.OUTREACH, Status.ENROLLED):
        fields.update(assigned_to=world.a_cm, assigned_at=timezone.now())
    Referral.objects.filter(pk=referral.pk).update(**fields)
    referral.refresh_from_db()
    return referral


def failed_attempts(referral: Referral, world, days: int) -> None:
    for i in range(days):
        OutreachAttempt.objects.create(
            referral=referral,
            plan_id=referral.plan_id,
            made_by=world.a_cm,
            made_at=timezone.now() - dt.timedelta(days=i + 1),
            method="phone",
            outcome="no_answer",
        )


@pytest.fixture
def consented(world):
    """m_a1 signed a release for care coordination naming their practice (outreach may start)."""
    make_release(world.m_a1, world.p1)
    return world
