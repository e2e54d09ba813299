"""Every move of the referral state machine, generated from its table: the allowed ones succeed,
every other one is refused and says what is allowed instead."""

import itertools

import pytest

from referrals.models import ALLOWED, Status
from referrals.services import TransitionError, referral_transition
from tests.referrals.conftest import failed_attempts, put_in, submit

STARTS = [s for s in Status.values if s != Status.LINKED]
PAIRS = list(itertools.product(STARTS, Status.values))


def _extras(to: str, world) -> dict:
    return {
        Status.TRIAGED: {"priority": 2, "program": "complex_care", "skill_needed": "RN"},
        Status.ASSIGNED: {"assignee": world.a_cm},
        Status.ENROLLED: {"acuity": "moderate"},
    }.get(to, {})


@pytest.mark.parametrize(("frm", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_move_follows_the_table(consented, frm, to):
    world = consented
    referral = put_in(submit(world), frm, world)
    if to == Status.UNABLE_TO_REACH:
        failed_attempts(referral, world, days=3)
    actor = world.actor(world.a_supervisor)  # a supervisor may make every plan-side move
    if to in ALLOWED[frm]:
        moved = referral_transition(actor=actor, referral=referral, to=to, reason="Because", **_extras(to, world))
        assert moved.status == to
        event = moved.events.order_by("-id").first()
        assert (event.from_status, event.to_status, event.actor) == (frm, to, world.a_supervisor)
    else:
        with pytest.raises(TransitionError) as refused:
            referral_transition(actor=actor, referral=referral, to=to, reason="Because", **_extras(to, world))
        assert refused.value.allowed == sorted(ALLOWED[frm])
        referral.refresh_from_db()
        assert referral.status == frm


def test_endings_need_a_reason_and_reopening_keeps_the_history(consented):
    world = consented
    referral = put_in(submit(world), Status.OUTREACH, world)
    actor = world.actor(world.a_supervisor)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        referral_transition(actor=actor, referral=referral, to=Status.DECLINED)
    assert "reason" in error.value.message_dict
    referral_transition(actor=actor, referral=referral, to=Status.DECLINED, reason="Member not interested now")
    reopened = referral_transition(actor=actor, referral=referral, to=Status.ACKNOWLEDGED, reason="Member called back")
    assert reopened.status == Status.ACKNOWLEDGED and reopened.assigned_to is None and reopened.due_step == "triage"
    assert [e.to_status for e in reopened.events.all()] == ["submitted", "declined", "acknowledged"]


def test_unable_to_reach_needs_three_failed_attempts_on_different_days(consented):
    world = consented
    referral = put_in(submit(world), Status.OUTREACH, world)
    from django.core.exceptions import ValidationError

    failed_attempts(referral, world, days=2)
    with pytest.raises(ValidationError, match="3 failed attempts on different days; there are 2"):
        referral_transition(actor=world.actor(world.a_cm), referral=referral, to=Status.UNABLE_TO_REACH, reason="x")
    failed_attempts(referral, world, days=2)  # same two days again: still two days
    with pytest.raises(ValidationError):
        referral_transition(actor=world.actor(world.a_cm), referral=referral, to=Status.UNABLE_TO_REACH, reason="x")


@pytest.mark.parametrize(
    ("persona", "frm", "to", "allowed"),
    [
        ("a_intake", Status.SUBMITTED, Status.ACKNOWLEDGED, True),
        ("a_intake", Status.ACKNOWLEDGED, Status.TRIAGED, True),
        ("a_intake", Status.TRIAGED, Status.ASSIGNED, False),  # only supervisors assign
        ("a_cm", Status.TRIAGED, Status.ASSIGNED, False),  # to someone else: only supervisors assign
        ("a_cm", Status.OUTREACH, Status.ENROLLED, True),  # the assignee decides
        ("b_cm", Status.OUTREACH, Status.ENROLLED, None),  # another plan: not even visible
        ("p1_contact", Status.SUBMITTED, Status.CANCELLED, True),  # the referrer may withdraw early
        ("p1_contact", Status.TRIAGED, Status.CANCELLED, False),
        ("p1_contact", Status.SUBMITTED, Status.ACKNOWLEDGED, False),
    ],
)
def test_who_may_move_what(consented, persona, frm, to, allowed):
    from django.core.exceptions import PermissionDenied

    world = consented
    referral = put_in(submit(world), frm, world)
    actor = world.actor(getattr(world, persona))
    kwargs = {"reason": "Because", **_extras(to, world)}
    if persona == "a_cm" and to == Status.ASSIGNED:
        kwargs["assignee"] = world.a_intake  # not themselves (that would be a claim)
    if allowed:
        assert referral_transition(actor=actor, referral=referral, to=to, **kwargs).status == to
    elif allowed is False:
        with pytest.raises(PermissionDenied):
            referral_transition(actor=actor, referral=referral, to=to, **kwargs)
    else:
        from referrals.models import Referral

        assert not Referral.objects.visible_to(actor).filter(pk=referral.pk).exists()
