import pytest

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
