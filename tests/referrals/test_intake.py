import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from caseloads.models import Enrollment
from core.models import Deadline
from organizations.access import Actor
from referrals.models import Referral, ReferralEvent, Status
from referrals.services import Intake, referral_create
from tests.referrals.conftest import submit

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"


def test_a_practice_refers_an_attributed_patient_in_the_browser(world, client_for):
    client = client_for(world.p1_contact)
    page = client.get("/referrals/new/", {"member": world.m_a1.public_id})
    assert page.status_code == 200
    response = client.post(
        "/referrals/new/",
        {
            "member": world.m_a1.public_id,
            "reason": "Three ED visits in a month",
            "urgency": "urgent",
            "diagnoses": "E11.9",
            "recent_utilization": "ED x3",
            "clinical_context": "Lives alone",
            "contact_method": "phone",
            "contact_time": "Mornings",
            "attachments": [SimpleUploadedFile("summary.pdf", PDF, content_type="application/pdf")],
        },
    )
    referral = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/referrals/{referral.public_id}/"
    assert (referral.status, referral.source, referral.referring_practice, referral.urgency) == (
        "submitted",
        "practice",
        world.p1,
        "urgent",
    )
    assert referral.queue_rank == 1  # urgent goes to the top before triage
    assert referral.attachments.get().content_type == "application/pdf"
    assert set(Deadline.objects.filter(key__startswith=f"referral:{referral.pk}:").values_list("kind", flat=True)) == {
        "referral.step_due"
    }
    assert ReferralEvent.objects.get(referral=referral).to_status == "submitted"


def test_a_practice_cannot_refer_someone_elses_patient(world, client_for):
    assert client_for(world.p2_contact).get("/referrals/new/", {"member": world.m_a1.public_id}).status_code == 404
    with pytest.raises(PermissionDenied):
        referral_create(
            actor=world.actor(world.p2_contact), member=world.m_a1, source="practice", intake=Intake(reason="x")
        )


def test_bad_referral_input_names_the_field_and_saves_nothing(world, client_for):
    response = client_for(world.p1_contact).post(
        "/referrals/new/",
        {
            "member": world.m_a1.public_id,
            "reason": "",
            "urgency": "whenever",
            "attachments": [SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="application/pdf")],
        },
    )
    assert response.status_code == 400
    assert {"reason", "urgency"} <= set(response.context["form"].errors)
    response = client_for(world.p1_contact).post(
        "/referrals/new/",
        {
            "member": world.m_a1.public_id,
            "reason": "Needs help",
            "urgency": "routine",
            "attachments": [SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="application/pdf")],
        },
    )
    assert response.status_code == 400 and "not a PDF, PNG or JPEG" in str(response.context["form"].errors)
    assert not Referral.objects.exists()


def test_a_second_referral_is_linked_to_the_open_one(world):
    first = submit(world)
    second = submit(world, reason="Also missed dialysis")
    assert (second.status, second.linked_to) == (Status.LINKED, first)
    assert Referral.objects.open().filter(member=world.m_a1).count() == 1
    assert first.events.filter(kind="linked").exists()


def test_a_referral_for_an_enrolled_member_is_linked_to_the_enrollment(world):
    enrollment = Enrollment.objects.create(
        plan=world.plan_a,
        member=world.m_a1,
        program="complex_care",
        acuity="moderate",
        care_manager=world.a_cm,
        start_date=world.plan_a.local_date(),
    )
    referral = submit(world)
    assert (referral.status, referral.linked_enrollment) == (Status.LINKED, enrollment)


@pytest.mark.django_db(transaction=True)
def test_two_referrals_at_the_same_moment_make_one_open_referral(world):
    """The practice refers while the plan's intake records a utilization-management referral."""
    barrier = threading.Barrier(2)
    made: list[Referral] = []

    def refer(user, source: str) -> None:
        barrier.wait()
        made.append(
            referral_create(
                actor=Actor.for_user(user), member=world.m_a1, source=source, intake=Intake(reason=f"From {source}")
            )
        )
        connection.close()

    threads = [
        threading.Thread(target=refer, args=(world.p1_contact, "practice")),
        threading.Thread(target=refer, args=(world.a_intake, "utilization_management")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in made) == ["linked", "submitted"]
    assert Referral.objects.open().filter(member=world.m_a1).count() == 1


def test_the_database_refuses_a_second_open_referral_whatever_writes_it(world):
    from django.db import IntegrityError, transaction

    first = submit(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.create(plan=world.plan_a, member=world.m_a1, source="hrq", reason="dup", queue_rank=3)
    assert first.status == "submitted"


def test_plan_staff_record_referrals_from_the_plans_own_sources(world, client_for):
    response = client_for(world.a_intake).post(
        "/referrals/new/",
        {
            "member": world.m_a2.public_id,
            "source": "utilization_management",
            "reason": "Concurrent review nurse",
            "urgency": "routine",
        },
    )
    assert response.status_code == 302
    referral = Referral.objects.get(member=world.m_a2)
    assert (referral.source, referral.referring_practice) == ("utilization_management", None)
    with pytest.raises(ValidationError) as error:
        referral_create(
            actor=world.actor(world.a_intake), member=world.m_a1, source="practice", intake=Intake(reason="fax")
        )
    assert "referring_practice" in error.value.message_dict


def test_attachments_are_served_only_through_the_access_check(world, client_for):
    referral = submit(world)
    from referrals.services import referral_attach

    item = referral_attach(
        actor=world.actor(world.p1_contact),
        referral=referral,
        upload=SimpleUploadedFile("x-ray.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
    )
    url = f"/referrals/{referral.public_id}/attachments/{item.public_id}/"
    response = client_for(world.a_cm).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert client_for(world.p2_contact).get(url).status_code == 404
    assert item.file.name.endswith(str(item.public_id))  # the stored name says nothing about the file
    big = SimpleUploadedFile("scan.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))
    with pytest.raises(ValidationError, match="larger than 10 MB"):
        referral_attach(actor=world.actor(world.p1_contact), referral=referral, upload=big)
