"""The operator console creates through the services: role groups and review deadlines exist."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from core.models import Deadline
from organizations.models import Organization, Partnership, User


@pytest.fixture
def operator(db, client):
    admin = User.objects.create_superuser("operator", "op@example.test", "x-very-long-password")
    client.force_login(admin)
    return client


def test_operator_adds_an_organization_and_a_partnership(operator, world):
    response = operator.post(
        "/admin/organizations/organization/add/",
        {
            "kind": "practice",
            "name": "New Practice",
            "npi": "1000000099",
            "timezone": "America/Chicago",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    practice = Organization.objects.get(name="New Practice")
    assert Group.objects.filter(name__startswith=f"org-{practice.pk}-").count() == 3
    review = timezone.localdate() + dt.timedelta(days=100)
    response = operator.post(
        "/admin/organizations/partnership/add/",
        {
            "plan": world.plan_a.pk,
            "practice": practice.pk,
            "status": "active",
            "effective_from": timezone.localdate().isoformat(),
            "next_review_on": review.isoformat(),
            "agreement_summary": "",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-side": "plan",
            "contacts-0-name": "Plan POC",
            "contacts-0-phone": "555-555-0100",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    partnership = Partnership.objects.get(practice=practice)
    assert partnership.contacts.get().name == "Plan POC"
    assert Deadline.objects.filter(payload__partnership_id=partnership.pk).count() == 2


def test_audit_trail_is_read_only_in_the_console(operator, world, client_for):
    client_for(world.a_cm).get(f"/members/{world.m_a1.public_id}/")
    assert operator.get("/admin/core/auditevent/").status_code == 200
    assert operator.get("/admin/core/auditevent/add/").status_code == 403
