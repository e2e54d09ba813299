import pytest

from caseloads.services import enrollment_start
from organizations.models import Partnership
from organizations.services import partnership_contact_save
from tests.conftest import SYSTEM
from tests.transitions.adt import make_feed, make_interface_user


@pytest.fixture
def feed(world):
    return make_feed(world)


@pytest.fixture
def interface(feed):
    return make_interface_user(feed)


@pytest.fixture
def send(client_for, interface):
    """POST a text body as the facility's interface account; returns the response."""
    client = client_for(interface)

    def post(body: str | bytes, content_type: str = "application/hl7-v2"):
        return client.post("/api/v1/adt/messages/", data=body, content_type=content_type)

    return post


@pytest.fixture
def setup(world, feed, send):
    """m_a1 (Plan A, Practice One) enrolled with a_cm; p1_contact is Practice One's designated
    point of contact for Plan A."""
    enrollment_start(
        actor=world.actor(world.a_supervisor),
        member=world.m_a1,
        program="complex_care",
        acuity="high",
        care_manager=world.a_cm,
    )
    world.p1_contact.email = "pat@practice-one.example"
    world.p1_contact.save(update_fields=["email"])
    partnership = Partnership.objects.get(plan=world.plan_a, practice=world.p1)
    partnership_contact_save(
        actor=SYSTEM,
        partnership=partnership,
        side="practice",
        name="Pat Contact",
        user=world.p1_contact,
        email="pat@practice-one.example",
        is_primary=True,
    )
    return world
