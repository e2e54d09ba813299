"""Requests for information (seed 004): the plan asks a practice for records; the practice sees
what is addressed to it and answers with notes and files; an overdue request escalates."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from careplans import services
from careplans.models import RecordRequest, RecordRequestFile
from core import deadlines
from core.models import AuditEvent, Deadline, Notification


def ask(world, *, member=None, practice=None, due_on=None):
    member = member or world.m_a1
    return services.record_request_create(
        actor=world.actor(world.a_cm),
        member=member,
        practice=practice or world.p1,
        what="Last two office notes and the medication list",
        why="Building the care plan",
        due_on=due_on or member.plan.local_date() + dt.timedelta(days=7),
    )


def pdf(name="notes.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 office notes", content_type="application/pdf")


def test_plan_asks_through_the_page_and_the_practice_is_told(world, client_for):
    client = client_for(world.a_cm)
    page = client.get(f"/members/{world.m_a1.public_id}/record-requests/new/")
    assert page.status_code == 200 and page.context["form"].initial["practice"] == world.p1.public_id
    due = world.plan_a.local_date() + dt.timedelta(days=5)
    response = client.post(
        f"/members/{world.m_a1.public_id}/record-requests/new/",
        {"practice": world.p1.public_id, "what": "Office notes", "why": "Care plan", "due_on": due.isoformat()},
    )
    assert response.status_code == 302
    request = RecordRequest.objects.get()
    assert (request.practice, request.requested_by, request.due_on) == (world.p1, world.a_cm, due)
    assert Notification.objects.filter(recipient=world.p1_contact, kind="record_request.new").exists()
    deadline = Deadline.objects.get(key=f"record-request-overdue:{request.pk}")
    assert deadline.due_at.astimezone(world.plan_a.tz) == dt.datetime.combine(
        due + dt.timedelta(days=1), dt.time.min, tzinfo=world.plan_a.tz
    )


def test_bad_requests_name_the_field(world, client_for):
    response = client_for(world.a_cm).post(
        f"/members/{world.m_a1.public_id}/record-requests/new/",
        {"practice": world.p3.public_id, "what": "", "why": "x", "due_on": "2001-01-01"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) >= {"practice", "what"}
    with pytest.raises(ValidationError) as error:
        ask(world, practice=world.p3, due_on=world.plan_a.local_date() - dt.timedelta(days=1))
    assert set(error.value.message_dict) == {"practice", "due_on"}
    assert not RecordRequest.objects.exists()


def test_practice_answers_with_notes_and_files_and_the_requester_hears(world, client_for):
    request = ask(world)
    practice = client_for(world.p1_contact)
    assert b"Last two office notes" in practice.get("/record-requests/").content
    response = practice.post(
        f"/record-requests/{request.public_id}/answer/",
        {"notes": "Attached, A1c 8.1 in March", "files": [pdf(), pdf("meds.pdf")]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "answered" and request.answered_by == world.p1_contact
    assert Deadline.objects.get(key=f"record-request-overdue:{request.pk}").state == "cancelled"
    assert Notification.objects.filter(recipient=world.a_cm, kind="record_request.answered").exists()
    stored = RecordRequestFile.objects.get(original_name="meds.pdf")
    assert stored.file.name.split("/")[-1] == str(stored.public_id)  # a name that says nothing
    download = client_for(world.a_cm).get(f"/record-requests/{request.public_id}/files/{stored.public_id}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 office notes"
    assert download["Content-Type"] == "application/pdf" and download["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(object_type="record_request_file", object_id=str(stored.public_id)).exists()
    assert (
        client_for(world.p2_contact).get(f"/record-requests/{request.public_id}/files/{stored.public_id}/").status_code
        == 404
    )


def test_a_bad_file_refuses_the_whole_answer(world, client_for):
    request = ask(world)
    response = client_for(world.p1_contact).post(
        f"/record-requests/{request.public_id}/answer/",
        {
            "notes": "x",
            "files": [pdf(), SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="application/pdf")],
        },
    )
    assert response.status_code == 400 and "virus.exe is not a PDF, PNG or JPEG file" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "open" and not RecordRequestFile.objects.exists()
    with pytest.raises(ValidationError, match="note or attach"):
        services.record_request_answer(actor=world.actor(world.p1_contact), request=request, notes=" ")


def test_only_the_addressed_practice_answers(world, client_for):
    request = ask(world)
    with pytest.raises(PermissionDenied):
        services.record_request_answer(actor=world.actor(world.a_cm), request=request, notes="x")
    assert client_for(world.p2_contact).get(f"/record-requests/{request.public_id}/").status_code == 404
    assert client_for(world.b_cm).get(f"/record-requests/{request.public_id}/").status_code == 404
    assert client_for(world.a_intake).get(f"/record-requests/{request.public_id}/").status_code == 403
    assert b"Last two office notes" not in client_for(world.p2_contact).get("/record-requests/").content


def test_an_overdue_request_tells_the_requester_and_the_supervisor(world):
    request = ask(world, due_on=world.plan_a.local_date())
    deadline = Deadline.objects.get(key=f"record-request-overdue:{request.pk}")
    Deadline.objects.filter(pk=deadline.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert deadlines.fire(deadline.pk) == "done"
    recipients = set(Notification.objects.filter(kind="record_request.overdue").values_list("recipient", flat=True))
    assert recipients == {world.a_cm.pk, world.a_supervisor.pk}
    request.refresh_from_db()
    assert request.escalated_at is not None


def test_an_answered_request_does_not_escalate(world):
    request = ask(world, due_on=world.plan_a.local_date())
    services.record_request_answer(actor=world.actor(world.p1_contact), request=request, notes="Sent by fax")
    services.record_request_escalate(request_id=request.pk, dedupe_key="x")
    assert not Notification.objects.filter(kind="record_request.overdue").exists()
