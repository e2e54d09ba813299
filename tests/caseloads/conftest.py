import pytest

from caseloads.services import enrollment_start
from organizations.access import Actor
from organizations.models import Credential, Role
from tests.conftest import make_member, make_user


def enroll(world, member=None, *, cm=None, program="complex_care", acuity="high", **fields):
    return enrollment_start(
        actor=Actor.for_user(world.a_supervisor),
        member=member or world.m_a1,
        program=program,
        acuity=acuity,
        care_manager=cm or world.a_cm,
        **fields,
    )


@pytest.fixture
def second_cm(world):
    return make_user(
        world.plan_a, "a_cm2", Role.CARE_MANAGER, credential=Credential.LCSW, caseload_capacity=40, team="North"
    )


@pytest.fixture
def caseload(world):
    """Six members of plan A enrolled with a_cm, attributed to P1."""
    return [
        enroll(world, make_member(world.plan_a, practice=world.p1, first=f"C{i}", last="Caseload"), acuity=a)
        for i, a in enumerate(["intensive", "high", "high", "moderate", "low", "self_management"])
    ]
