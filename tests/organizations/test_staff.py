import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditEvent
from organizations import services
from organizations.models import Role, User
from organizations.roles import role_group_name


def test_plan_admin_adds_staff_with_role_languages_and_capacity(world, client_for):
    response = client_for(world.a_admin).post(
        "/staff/add/",
        {
            "username": "new_cm",
            "first_name": "Nia",
            "last_name": "Cole",
            "email": "nia@example.test",
            "role": "care_manager",
            "credential": "LCSW",
            "languages": "English, Spanish",
            "caseload_capacity": "45",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="new_cm")
    assert (user.organization, user.role, user.credential) == (world.plan_a, "care_manager", "LCSW")
    assert user.languages == ["English", "Spanish"] and user.caseload_capacity == 45
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [role_group_name(world.plan_a, Role.CARE_MANAGER)]
    assert AuditEvent.objects.filter(object_type="staff", object_id=str(user.public_id), action="create").exists()


def test_a_practice_cannot_be_given_a_plan_role(world):
    with pytest.raises(ValidationError) as error:
        services.staff_create(
            actor=world.actor(world.p1_admin), organization=world.p1, username="x", role=Role.CARE_MANAGER
        )
    assert "role" in error.value.message_dict


def test_bad_staff_form_input_names_the_field(world, client_for):
    response = client_for(world.a_admin).post(
        "/staff/add/",
        {
            "username": "a_cm",
            "first_name": "",
            "last_name": "X",
            "email": "not-an-email",
            "role": "nope",
            "caseload_capacity": "-3",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) >= {"username", "first_name", "email", "role", "caseload_capacity"}


def test_role_change_moves_the_person_between_role_groups(world):
    services.staff_update(actor=world.actor(world.a_admin), user=world.a_cm, role=Role.SUPERVISOR)
    world.a_cm.refresh_from_db()
    assert list(world.a_cm.groups.values_list("name", flat=True)) == [role_group_name(world.plan_a, Role.SUPERVISOR)]
    assert world.actor(world.a_cm).can("organizations.review_partnerships")


def test_care_manager_cannot_manage_staff_and_admins_cannot_deactivate_themselves(world):
    with pytest.raises(PermissionDenied):
        services.staff_update(actor=world.actor(world.a_cm), user=world.a_intake, caseload_capacity=3)
    with pytest.raises(ValidationError):
        services.staff_update(actor=world.actor(world.a_admin), user=world.a_admin, is_active=False)


def test_staff_directory_shows_own_organization_only(world, client_for):
    body = client_for(world.a_supervisor).get("/api/v1/staff/").json()
    usernames = {row["username"] for row in body["results"]}
    assert usernames == {"a_admin", "a_supervisor", "a_cm", "a_intake"}
    assert body["next"] is None
