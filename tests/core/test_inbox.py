from django.core import mail

from core import deadlines, notifications
from core.models import Deadline, Notification


def test_notify_puts_a_notice_in_each_inbox_once_per_dedupe_key(world):
    notifications.notify(
        recipients=[world.a_cm, world.a_cm, world.p1_contact], kind="k", title="Hello", dedupe_key="event-1"
    )
    notifications.notify(recipients=[world.a_cm], kind="k", title="Hello", dedupe_key="event-1")
    assert Notification.objects.filter(kind="k").count() == 2


def test_email_goes_out_through_a_deadline_without_member_details(world):
    [notice] = notifications.notify(recipients=[world.a_cm], kind="k", title="Admission: Alice Arbor", email=True)
    deadline = Deadline.objects.get(kind="notification.email")
    assert deadlines.fire(deadline.pk) == "done"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.a_cm.email]
    assert "Alice" not in message.subject + message.body  # no PHI in email
    assert "/inbox/" in message.body
    notice.refresh_from_db()
    assert notice.emailed_at is not None


def test_inbox_page_badge_and_open_marks_read(world, client_for):
    [notice] = notifications.notify(recipients=[world.a_cm], kind="k", title="Review due", url="/partnerships/")
    notifications.notify(recipients=[world.b_cm], kind="k", title="Other tenant notice")
    client = client_for(world.a_cm)
    page = client.get("/inbox/")
    assert b"Review due" in page.content and b"Other tenant notice" not in page.content
    assert b"1 unread" in client.get("/inbox/badge/").content
    response = client.post(f"/inbox/{notice.public_id}/open/")
    assert response.status_code == 302 and response["Location"] == "/partnerships/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert b"unread" not in client.get("/inbox/badge/").content


def test_an_offsite_notification_link_is_not_followed(world, client_for):
    [notice] = notifications.notify(recipients=[world.a_cm], kind="k", title="x", url="https://evil.example/")
    response = client_for(world.a_cm).post(f"/inbox/{notice.public_id}/open/")
    assert response["Location"] == "/inbox/"
