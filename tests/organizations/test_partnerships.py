import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core import deadlines
from core.models import Deadline, Notification
from organizations import services
from organizations.models import Partnership
from tests.conftest import SYSTEM


def _pa1(world):
    return Partnership.objects.get(plan=world.plan_a, practice=world.p1)


def test_partnership_schedules_review_reminders_at_plan_opening_time(world):
    partnership = _pa1(world)
    keys = set(Deadline.objects.filter(payload__partnership_id=partnership.pk).values_list("key", flat=True))
    review = partnership.next_review_on.isoformat()
    assert keys == {
        f"partnership-review:{partnership.pk}:{review}:r0:reminder",
        f"partnership-review:{partnership.pk}:{review}:r0:due",
    }
    reminder = Deadline.objects.get(key__endswith=":reminder", payload__partnership_id=partnership.pk)
    local = reminder.due_at.astimezone(world.plan_a.tz)
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() <= partnership.next_review_on - dt.timedelta(days=30)


def test_reminder_reaches_both_sides_points_of_contact_and_plan_admins(world):
    partnership = _pa1(world)
    services.partnership_contact_save(
        actor=SYSTEM,
        partnership=partnership,
        side="plan",
        name="Sup",
        user=world.a_supervisor,
        email="s@example.test",
        is_primary=True,
    )
    services.partnership_contact_save(
        actor=SYSTEM,
        partnership=partnership,
        side="practice",
        name="Contact",
        user=world.p1_contact,
        phone="555-555-0100",
        is_primary=True,
    )
    services.partnership_contact_save(
        actor=SYSTEM, partnership=partnership, side="practice", name="No Account", email="outside@example.test"
    )
    reminder = Deadline.objects.get(key__endswith=":reminder", payload__partnership_id=partnership.pk)
    Deadline.objects.filter(pk=reminder.pk).update(due_at=timezone.now())
    assert deadlines.fire(reminder.pk) == "done"
    notified = set(Notification.objects.filter(kind="partnership.review").values_list("recipient__username", flat=True))
    assert notified == {"a_supervisor", "p1_contact", "a_admin"}
    assert Deadline.objects.filter(kind="notification.email", payload__to="outside@example.test").exists()


def test_recording_the_review_sets_the_next_and_replaces_the_reminders(world, client_for):
    partnership = _pa1(world)
    old = set(Deadline.objects.filter(payload__partnership_id=partnership.pk).values_list("pk", flat=True))
    response = client_for(world.a_supervisor).post(
        f"/partnerships/{partnership.public_id}/review/",
        {"reviewed_on": world.plan_a.local_date().isoformat(), "notes": "Roles unchanged."},
    )
    assert response.status_code == 302
    partnership.refresh_from_db()
    assert partnership.next_review_on == world.plan_a.local_date().replace(year=world.plan_a.local_date().year + 1)
    assert set(Deadline.objects.filter(pk__in=old).values_list("state", flat=True)) == {"cancelled"}
    assert Deadline.objects.filter(payload__partnership_id=partnership.pk, state="pending").count() == 2
    assert partnership.reviews.get().notes == "Roles unchanged."


def test_review_dates_are_checked(world):
    actor = world.actor(world.a_admin)
    partnership = _pa1(world)
    today = world.plan_a.local_date()
    with pytest.raises(ValidationError) as error:
        services.partnership_review_record(
            actor=actor, partnership=partnership, reviewed_on=today, next_review_on=today + dt.timedelta(days=400)
        )
    assert "next_review_on" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.partnership_review_record(
            actor=actor, partnership=partnership, reviewed_on=today + dt.timedelta(days=1)
        )
    assert "reviewed_on" in error.value.message_dict


def test_practice_cannot_record_the_plans_review(world, client_for):
    partnership = _pa1(world)
    response = client_for(world.p1_admin).post(
        f"/partnerships/{partnership.public_id}/review/", {"reviewed_on": world.plan_a.local_date().isoformat()}
    )
    assert response.status_code == 403


def test_each_side_edits_only_its_own_points_of_contact(world, client_for):
    partnership = _pa1(world)
    plan_contact = services.partnership_contact_save(
        actor=SYSTEM, partnership=partnership, side="plan", name="Plan Person", phone="555-555-0100"
    )
    practice_admin = client_for(world.p1_admin)
    response = practice_admin.post(
        f"/partnerships/{partnership.public_id}/contacts/add/",
        {"name": "Front Desk", "phone": "555-555-0111", "is_primary": "on"},
    )
    assert response.status_code == 302
    assert partnership.contacts.get(name="Front Desk").side == "practice"
    assert (
        practice_admin.get(f"/partnerships/{partnership.public_id}/contacts/{plan_contact.public_id}/edit/").status_code
        == 403
    )
    assert (
        practice_admin.post(
            f"/partnerships/{partnership.public_id}/contacts/{plan_contact.public_id}/remove/"
        ).status_code
        == 403
    )
    with pytest.raises(PermissionDenied):
        services.partnership_contact_remove(actor=world.actor(world.p1_admin), contact=plan_contact)


def test_a_contact_needs_a_phone_or_an_email(world, client_for):
    partnership = _pa1(world)
    response = client_for(world.a_admin).post(
        f"/partnerships/{partnership.public_id}/contacts/add/", {"name": "Unreachable"}
    )
    assert response.status_code == 400
    assert b"Give a phone number or an email address." in response.content


def test_one_primary_contact_per_side(world):
    partnership = _pa1(world)
    first = services.partnership_contact_save(
        actor=SYSTEM, partnership=partnership, side="plan", name="One", phone="555-555-0100", is_primary=True
    )
    services.partnership_contact_save(
        actor=SYSTEM, partnership=partnership, side="plan", name="Two", phone="555-555-0101", is_primary=True
    )
    first.refresh_from_db()
    assert first.is_primary is False


def test_a_review_that_keeps_the_next_date_still_leaves_reminders(world):
    partnership = _pa1(world)
    services.partnership_review_record(
        actor=world.actor(world.a_admin),
        partnership=partnership,
        reviewed_on=world.plan_a.local_date(),
        next_review_on=partnership.next_review_on,
    )
    open_reminders = Deadline.objects.filter(payload__partnership_id=partnership.pk, state="pending")
    assert open_reminders.count() == 2


def test_a_review_date_far_in_the_future_is_a_field_error(world, client_for):
    partnership = _pa1(world)
    response = client_for(world.a_admin).post(
        f"/partnerships/{partnership.public_id}/review/", {"reviewed_on": "9999-12-31"}
    )
    assert response.status_code == 400 and "reviewed_on" in response.context["form"].errors


@pytest.mark.django_db(transaction=True)
def test_two_people_making_a_primary_contact_at_once_do_not_collide(world):
    import threading

    from django.db import connection

    partnership = _pa1(world)
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def save(name: str) -> None:
        barrier.wait()
        try:
            services.partnership_contact_save(
                actor=SYSTEM, partnership=partnership, side="plan", name=name, phone="555-555-0100", is_primary=True
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in ("One", "Two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert partnership.contacts.filter(is_primary=True).count() == 1
