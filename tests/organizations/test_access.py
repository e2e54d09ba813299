import pytest
from django.contrib.auth.models import Group

from members.models import Member
from organizations.access import Actor
from organizations.models import Organization, OrganizationGroupObjectPermission, Role
from organizations.roles import ROLE_PERMISSIONS, role_group_name


def test_each_organization_has_role_groups_holding_exactly_the_role_table(world):
    for role in (Role.PLAN_ADMIN, Role.CARE_MANAGER, Role.INTAKE):
        group = Group.objects.get(name=role_group_name(world.plan_a, role))
        held = set(
            OrganizationGroupObjectPermission.objects.filter(group=group, content_object=world.plan_a).values_list(
                "permission__codename", flat=True
            )
        )
        assert held == ROLE_PERMISSIONS[role]


def test_guardian_rows_are_per_container_never_per_member(world):
    before = OrganizationGroupObjectPermission.objects.count()
    from tests.conftest import make_member

    for i in range(5):
        make_member(world.plan_a, practice=world.p1, first=f"N{i}")
    assert OrganizationGroupObjectPermission.objects.count() == before


def test_a_person_is_in_exactly_one_role_group(world):
    names = list(world.a_cm.groups.values_list("name", flat=True))
    assert names == [role_group_name(world.plan_a, Role.CARE_MANAGER)]


@pytest.mark.parametrize(
    ("persona", "perm", "allowed"),
    [
        ("a_admin", "organizations.import_roster", True),
        ("a_cm", "organizations.import_roster", False),
        ("a_cm", "organizations.manage_consents", True),
        ("a_intake", "organizations.manage_consents", False),
        ("a_supervisor", "organizations.view_audit", False),
        ("a_admin", "organizations.view_audit", True),
        ("p1_contact", "organizations.view_members", True),
        ("p1_contact", "organizations.view_member_internal", False),
        ("p1_admin", "organizations.manage_staff", True),
        ("c_staff", "organizations.view_members", False),
    ],
)
def test_role_permissions(world, persona, perm, allowed):
    assert world.actor(getattr(world, persona)).can(perm) is allowed


def test_permission_on_another_organization_is_never_granted(world):
    actor = world.actor(world.a_admin)
    assert actor.can("organizations.view_members", on=world.plan_b) is False


def test_scopes_fail_closed_without_an_organization(world):
    nobody = Actor.nobody()
    assert not Member.objects.visible_to(nobody).exists()
    assert not Organization.objects.visible_to(nobody).exists()


def test_plan_staff_see_their_plan_practices_see_attributed_members(world):
    def names(user):
        return set(Member.objects.visible_to(world.actor(user)).values_list("member_number", flat=True))

    assert names(world.a_cm) == {"A0001", "A0002"}
    assert names(world.b_cm) == {"B0001", "B0003"}
    assert names(world.p1_contact) == {"A0001", "B0001"}  # P1 partners with both plans
    assert names(world.p2_contact) == {"A0002"}
    assert names(world.c_staff) == set()


def test_ended_attribution_or_partnership_takes_the_member_out_of_the_practice_view(world):
    from django.utils import timezone

    from organizations.models import Partnership

    world.m_a1.attributions.update(end_date=world.plan_a.local_date() - timezone.timedelta(days=1))
    assert not Member.objects.visible_to(world.actor(world.p1_contact)).filter(pk=world.m_a1.pk).exists()
    Partnership.objects.filter(plan=world.plan_b, practice=world.p1).update(status="ended")
    assert not Member.objects.visible_to(world.actor(world.p1_contact)).exists()


@pytest.mark.parametrize("url", ["/members/", "/api/v1/members/"])
def test_member_list_query_count_is_fixed_whatever_the_page_size(world, client_for, url):
    """Session, user, organization, partners, two permission reads, the page, its audit insert and
    (HTML) the practice filter's choices: the same count for 5 rows or 50."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import make_member

    for i in range(60):
        make_member(world.plan_a, practice=world.p1, first=f"Q{i:02d}")
    size_param = "size" if url == "/members/" else "page_size"
    for client in (client_for(world.a_cm), client_for(world.p1_contact)):
        client.get(url)  # warm the session cache
        counts = []
        for size in (5, 50):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url, {size_param: size}).status_code == 200
            counts.append(len(ctx))
        assert counts[0] == counts[1], counts
        assert counts[0] <= 9
