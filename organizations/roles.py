"""Which role may do what: the role table, and its mirror in django-guardian.

Each organization has one group per role its kind allows ("org-<pk>-<role>"). The group holds the
role's container permissions on that organization (guardian direct-foreign-key rows). A person is
in exactly one of these groups: the one for their organization and role. After the table below
changes, `post_migrate` re-syncs every organization, so the database never drifts from the code.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from organizations.models import (
    ROLES_BY_KIND,
    Organization,
    OrganizationGroupObjectPermission,
    Role,
    User,
)

_PLAN_CARE = {
    "view_members",
    "change_members",
    "view_member_internal",
    "manage_care_team",
    "manage_consents",
    "view_staff",
    "view_referrals",
    "record_referrals",
    "view_caseloads",
    "view_careplans",
    "review_adt_messages",
    "view_transitions",
    "view_care_gaps",
    "view_social_needs",
    "view_social_referrals",
}
_CARE_WORK = {
    "make_social_referrals",
    "manage_resources",
    "screen_members",
    "work_social_needs",
    "adjudicate_care_gaps",
    "triage_referrals",
    "claim_referrals",
    "work_referrals",
    "work_caseloads",
    "edit_careplans",
    "request_records",
    "work_transitions",
}
_PRACTICE = {
    "view_members",
    "view_staff",
    "view_referrals",
    "refer_members",
    "view_careplans",
    "acknowledge_careplans",
    "answer_record_requests",
    "view_transitions",
    "work_transitions",
    "view_care_gaps",
    "work_care_gaps",
    "view_social_needs",
    "screen_members",
    "view_social_referrals",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.PLAN_ADMIN: frozenset(
        _PLAN_CARE
        | {"import_roster", "import_care_gaps", "view_audit", "manage_staff", "manage_partnerships"}
        | {"manage_resources"}
        | {"review_partnerships"}
        | {"triage_referrals", "assign_referrals", "import_referral_lists", "supervise_caseloads"}
    ),
    Role.SUPERVISOR: frozenset(
        _PLAN_CARE
        | {"review_partnerships", "triage_referrals", "work_referrals", "assign_referrals", "import_referral_lists"}
        | {"work_caseloads", "supervise_caseloads", "edit_careplans", "request_records", "work_transitions"}
        | {"adjudicate_care_gaps", "screen_members", "work_social_needs", "manage_resources"}
        | {"make_social_referrals"}
    ),
    Role.CARE_MANAGER: frozenset(_PLAN_CARE | _CARE_WORK),
    Role.CARE_COORDINATOR: frozenset(_PLAN_CARE | _CARE_WORK),
    Role.MEMBER_ADVOCATE: frozenset(
        _PLAN_CARE
        | {"claim_referrals", "work_referrals", "work_caseloads", "work_transitions"}
        | {"screen_members", "work_social_needs", "manage_resources", "make_social_referrals"}
    ),
    Role.INTAKE: frozenset(
        {
            "view_members",
            "change_members",
            "view_member_internal",
            "view_staff",
            "view_referrals",
            "record_referrals",
            "triage_referrals",
            "review_adt_messages",
        }
    ),
    Role.PRACTICE_ADMIN: frozenset(_PRACTICE | {"manage_staff", "manage_partnerships"}),
    Role.PRACTICE_CONTACT: frozenset(_PRACTICE),
    Role.CLINICIAN: frozenset(_PRACTICE),
    Role.COMMUNITY_STAFF: frozenset({"view_staff", "view_social_referrals", "answer_social_referrals"}),
    Role.FACILITY_INTERFACE: frozenset({"send_adt"}),
}


# Part of every cached permission set's key (organizations.access): a deploy that changes the
# table never serves permissions cached under the old one.
ROLE_TABLE_VERSION = hashlib.sha256(
    repr(sorted((role, sorted(perms)) for role, perms in ROLE_PERMISSIONS.items())).encode()
).hexdigest()[:10]


def role_group_name(organization: Organization, role: str) -> str:
    return f"org-{organization.pk}-{role}"


@transaction.atomic
def sync_role_permissions(organization: Organization) -> None:
    """Make the organization's role groups hold exactly the permissions ROLE_PERMISSIONS lists."""
    permissions = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="organizations", content_type__model="organization")
    }
    for role in ROLES_BY_KIND[organization.kind]:
        group, _ = Group.objects.get_or_create(name=role_group_name(organization, role))
        wanted = {permissions[codename].pk for codename in ROLE_PERMISSIONS[role]}
        rows = OrganizationGroupObjectPermission.objects.filter(group=group, content_object=organization)
        have = set(rows.values_list("permission_id", flat=True))
        rows.filter(permission_id__in=have - wanted).delete()
        OrganizationGroupObjectPermission.objects.bulk_create(
            OrganizationGroupObjectPermission(group=group, content_object=organization, permission_id=pk)
            for pk in wanted - have
        )


def sync_all_role_permissions(**_kwargs) -> None:
    for organization in Organization.objects.all():
        sync_role_permissions(organization)


def place_in_role_group(user: User) -> None:
    """Put the user in their organization's group for their role, and in no other role group."""
    user.groups.remove(*user.groups.filter(name__startswith="org-"))
    if user.organization_id and user.role:
        user.groups.add(Group.objects.get(name=role_group_name(user.organization, user.role)))
