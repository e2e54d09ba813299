"""Personas and their world (STYLE.md §7).

Plan A ("Prairie") and plan B ("Mesa"). Practice P1 partners with both plans, P2 only with A,
P3 only with B. C is a community organization. The people:

  a_admin, a_supervisor, a_cm (RN), a_intake     staff of plan A
  p1_contact, p1_admin                           practice P1 (shared by both plans)
  p2_contact                                     practice P2 (plan A only)
  b_cm, b_admin                                  staff of plan B (another tenant)
  p3_contact                                     practice P3 (plan B only)
  c_staff                                        community organization C

Members: m_a1 (plan A, attributed to P1), m_a2 (plan A, attributed to P2), m_b1 (plan B,
attributed to P1), m_b3 (plan B, attributed to P3).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from carecoord.celery import app as celery_app
from members import services as member_services
from members.models import Member, ReleaseOfInformation
from organizations import services as org_services
from organizations.access import Actor
from organizations.models import Credential, Organization, Role, User
from tests.factories import MemberFactory

# The suite's cache is Redis database 15 of the configured server, never a developer's database 0;
# keys carry the test database's name, so two checkouts' suites on one machine never read each
# other's cached permissions.
if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
    settings.CACHES["default"]["LOCATION"] = re.sub(r"/\d+$", "", settings.CACHES["default"]["LOCATION"]) + "/15"
    # Under pytest-xdist each worker has its own database (and so its own user ids): its own keys too.
    settings.CACHES["default"]["KEY_PREFIX"] = settings.DATABASES["default"]["TEST"]["NAME"] + os.environ.get(
        "PYTEST_XDIST_WORKER", ""
    )

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH: str | None = None
SYSTEM = Actor.system()


def password_hash() -> str:
    """Argon2 is deliberately slow; hash the shared test password once per session."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = make_password(PASSWORD)
    return _PASSWORD_HASH


def make_org(kind: str, name: str, **fields) -> Organization:
    return org_services.organization_create(kind=kind, name=name, **fields)


PERSONA_NAMES = {
    "a_admin": ("Ada", "Admin"),
    "a_supervisor": ("Sue", "Visor"),
    "a_cm": ("Carla", "Manning"),
    "a_intake": ("Ian", "Take"),
    "p1_contact": ("Pat", "Onewell"),
    "p1_admin": ("Paula", "Oneadmin"),
    "p2_contact": ("Peter", "Twomey"),
    "b_cm": ("Bea", "Manager"),
    "b_admin": ("Ben", "Admin"),
    "p3_contact": ("Priya", "Three"),
    "c_staff": ("Cora", "Community"),
}


def make_user(org: Organization, username: str, role: str, **fields) -> User:
    first, last = PERSONA_NAMES.get(username, (username.title(), "Staff"))
    fields.setdefault("first_name", first)
    fields.setdefault("last_name", last)
    user = org_services.staff_create(
        actor=SYSTEM, organization=org, username=username, role=role, email=f"{username}@example.test", **fields
    )
    User.objects.filter(pk=user.pk).update(password=password_hash())
    user.refresh_from_db()
    return user


def make_member(
    plan: Organization,
    *,
    practice: Organization | None = None,
    first="Test",
    last="Member",
    dob=dt.date(1970, 1, 1),
    eligible=True,
    **fields,
) -> Member:
    return MemberFactory(
        plan=plan, practice=practice, eligible=eligible, first_name=first, last_name=last, date_of_birth=dob, **fields
    )


def make_release(member: Member, organization: Organization | None = None, **fields) -> ReleaseOfInformation:
    """A release of information signed by the member a few days ago, to `organization` for care
    coordination unless told otherwise."""
    signed_on = fields.pop("signed_on", member.plan.local_date() - dt.timedelta(days=3))
    return member_services.release_record(
        actor=SYSTEM,
        member=member,
        recipient_kind=fields.pop("recipient_kind", "practice"),
        recipient_organization=organization,
        recipient_name=organization.name if organization else fields.pop("recipient_name", "Someone"),
        purposes=fields.pop("purposes", ["care_coordination"]),
        signed_by="member",
        signer_name=member.full_name,
        signed_on=signed_on,
        **fields,
    )


@dataclass
class World:
    plan_a: Organization
    plan_b: Organization
    p1: Organization
    p2: Organization
    p3: Organization
    community: Organization
    a_admin: User
    a_supervisor: User
    a_cm: User
    a_intake: User
    p1_contact: User
    p1_admin: User
    p2_contact: User
    b_cm: User
    b_admin: User
    p3_contact: User
    c_staff: User
    m_a1: Member
    m_a2: Member
    m_b1: Member
    m_b3: Member

    def actor(self, user: User) -> Actor:
        return Actor.for_user(User.objects.select_related("organization").get(pk=user.pk))


def build_world() -> World:
    plan_a = make_org("plan", "Plan A", timezone="America/Chicago")
    plan_b = make_org("plan", "Plan B", timezone="America/Phoenix")
    p1 = make_org("practice", "Practice One", npi="1000000001")
    p2 = make_org("practice", "Practice Two", npi="1000000002")
    p3 = make_org("practice", "Practice Three", npi="1000000003")
    community = make_org("community", "Community Org")
    start = timezone.localdate() - dt.timedelta(days=400)
    for plan, practice in ((plan_a, p1), (plan_a, p2), (plan_b, p1), (plan_b, p3)):
        org_services.partnership_create(
            actor=SYSTEM,
            plan=plan,
            practice=practice,
            effective_from=start,
            next_review_on=timezone.localdate() + dt.timedelta(days=200),
        )
    return World(
        plan_a=plan_a,
        plan_b=plan_b,
        p1=p1,
        p2=p2,
        p3=p3,
        community=community,
        a_admin=make_user(plan_a, "a_admin", Role.PLAN_ADMIN),
        a_supervisor=make_user(plan_a, "a_supervisor", Role.SUPERVISOR),
        a_cm=make_user(
            plan_a, "a_cm", Role.CARE_MANAGER, credential=Credential.RN, languages=["English"], caseload_capacity=60
        ),
        a_intake=make_user(plan_a, "a_intake", Role.INTAKE),
        p1_contact=make_user(p1, "p1_contact", Role.PRACTICE_CONTACT),
        p1_admin=make_user(p1, "p1_admin", Role.PRACTICE_ADMIN),
        p2_contact=make_user(p2, "p2_contact", Role.PRACTICE_CONTACT),
        b_cm=make_user(plan_b, "b_cm", Role.CARE_MANAGER),
        b_admin=make_user(plan_b, "b_admin", Role.PLAN_ADMIN),
        p3_contact=make_user(p3, "p3_contact", Role.PRACTICE_CONTACT),
        c_staff=make_user(community, "c_staff", Role.COMMUNITY_STAFF),
        m_a1=make_member(plan_a, practice=p1, first="Alice", last="Arbor", member_number="A0001"),
        m_a2=make_member(plan_a, practice=p2, first="Aaron", last="Aspen", member_number="A0002"),
        m_b1=make_member(plan_b, practice=p1, first="Bella", last="Birch", member_number="B0001"),
        m_b3=make_member(plan_b, practice=p3, first="Boris", last="Beech", member_number="B0003"),
    )


@pytest.fixture(scope="session", autouse=True)
def broker():
    """The broker for the whole session is a private Redis server: nothing a test enqueues can
    reach a developer's running worker, and reliability tests may restart it."""
    from django.core.cache import cache

    from tests.support import RedisServer

    # Nothing cached by an earlier run (permissions, sessions) leaks into this one; only this
    # suite's keys go, so another checkout's suite running beside this one keeps its own.
    if hasattr(cache, "_cache"):
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=f"{cache.key_prefix}:*", count=1000):
            client.delete(key)
    else:
        cache.clear()
    server = RedisServer()
    server.start()
    celery_app.conf.broker_url = server.url
    yield server
    server.kill()


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Uploads go to a temporary folder, not the developer's var/private."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def client_for(client):
    """client_for(user) -> a Django test client signed in as that person."""

    def sign_in(user: User) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return sign_in
