import pytest
from django.core.management import call_command
from django.test import Client

from caseloads.models import Enrollment, Task
from members.management.commands.seed_demo import LOGINS
from members.models import Member, ReleaseOfInformation, RosterImport
from organizations.models import Organization, Partnership, User

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_world_prints_logins_and_is_idempotent(capsys, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-demo-password")
    call_command("seed_demo", members=60)
    out = capsys.readouterr().out
    for username in LOGINS:
        assert username in out
    assert set(Organization.objects.values_list("name", flat=True)) == {
        "Prairie Health Plan",
        "Mesa Health Plan",
        "Riverbend Family Medicine",
        "Oak Street Primary Care",
        "Desert Bloom Health Center",
        "Heartland Food & Housing Network",
        "St. Brigid Regional Hospital",
    }
    riverbend = Organization.objects.get(name="Riverbend Family Medicine")
    assert Partnership.objects.filter(practice=riverbend).count() == 2  # the shared practice
    prairie = Organization.objects.get(name="Prairie Health Plan")
    assert Member.objects.filter(plan=prairie).count() == 63  # 60 generated + 3 featured
    assert ReleaseOfInformation.objects.exists()
    from careplans.models import CarePlan

    assert CarePlan.objects.filter(plan=prairie, problems__shareable=True).exists()
    roles = set(User.objects.values_list("role", flat=True))
    assert roles >= {
        "plan_admin",
        "supervisor",
        "care_manager",
        "care_coordinator",
        "member_advocate",
        "intake",
        "practice_admin",
        "practice_contact",
        "clinician",
        "community_staff",
    }
    enrollments = Enrollment.objects.filter(plan=prairie, status="active")
    assert set(enrollments.values_list("acuity", flat=True)) >= {"high", "moderate", "low", "self_management"}
    assert enrollments.filter(co_managed=True).exists() and enrollments.filter(delivery_date__isnull=False).exists()
    assert Task.objects.filter(plan=prairie, status="open").exists()
    from transitions.models import AdtMessage, Episode

    assert set(AdtMessage.objects.values_list("status", flat=True)) == {"applied"}
    assert Episode.objects.filter(plan=prairie, status="open").count() == 3
    assert Episode.objects.filter(plan=prairie, is_mental_health=True, lace_score__isnull=False).exists()
    from sdoh.models import CommunityService, Need, Screening, SocialReferral

    heartland = Organization.objects.get(name="Heartland Food & Housing Network")
    assert CommunityService.objects.filter(plan=prairie, organization=heartland).count() == 2
    assert set(Need.objects.values_list("category", flat=True)) == {"housing_instability", "food_insecurity"}
    assert SocialReferral.objects.get().organization == heartland
    counts = (
        Screening.objects.count(),
        CommunityService.objects.count(),
        SocialReferral.objects.count(),
        Member.objects.count(),
        Enrollment.objects.count(),
        Task.objects.count(),
        User.objects.count(),
        Partnership.objects.count(),
        ReleaseOfInformation.objects.count(),
        RosterImport.objects.count(),
        AdtMessage.objects.count(),
    )
    call_command("seed_demo", members=60, quiet=True)
    assert (
        Screening.objects.count(),
        CommunityService.objects.count(),
        SocialReferral.objects.count(),
        Member.objects.count(),
        Enrollment.objects.count(),
        Task.objects.count(),
        User.objects.count(),
        Partnership.objects.count(),
        ReleaseOfInformation.objects.count(),
        RosterImport.objects.count(),
        AdtMessage.objects.count(),
    ) == counts
    client = Client()
    response = client.post("/accounts/login/", {"username": "shared-practice-contact", "password": "a-demo-password"})
    assert response.status_code == 302
    names = {r["member_id"][:3] for r in client.get("/api/v1/members/?page_size=200").json()["results"]}
    assert names == {"PHP", "MHP"}  # the shared practice sees attributed members of both plans
