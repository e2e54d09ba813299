"""Reads for caseloads: an enrollment and its history, worklists, the contact log, the
supervisor's dashboard and the monthly co-management rounds. Every read starts from a scope."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.html import format_html_join

from caseloads.models import ACUITY_WEIGHT, Acuity, ContactLog, Enrollment, Task
from caseloads.services import CARE_ROLES
from members.models import Member
from organizations.access import Actor
from organizations.models import User
from referrals.models import Referral


def enrollments(actor: Actor) -> QuerySet[Enrollment]:
    return Enrollment.objects.visible_to(actor)


def access_enrollment(actor: Actor, enrollment_id: uuid.UUID | str) -> Enrollment:
    """404 for anyone the enrollment is not visible to; 403 for an insider who may not see
    caseloads (a practice sees enrollment status on the member's page, not this record)."""
    enrollment = get_object_or_404(
        enrollments(actor).select_related("member__plan", "care_manager", "co_manager", "plan", "referral"),
        public_id=enrollment_id,
    )
    actor.require("organizations.view_caseloads")
    return enrollment


def enrollment_history(enrollment: Enrollment) -> list:
    return list(enrollment.events.select_related("actor"))


# Worklists -------------------------------------------------------------------------------------

TASK_ORDER = ("due_date", "id")
TASK_FIELDS = (
    "id",
    "public_id",
    "title",
    "due_date",
    "origin",
    "status",
    "owner_id",
    "owner__first_name",
    "owner__last_name",
    "member__public_id",
    "member__first_name",
    "member__last_name",
    "member__member_number",
)


def tasks(actor: Actor) -> QuerySet[Task]:
    return Task.objects.visible_to(actor)


def worklist(actor: Actor, *, owner: User | None) -> QuerySet[Task]:
    """Open tasks, earliest due first, so overdue ones lead; one person's, or (owner None) the
    whole plan's for a supervisor."""
    actor.require("organizations.view_caseloads")
    qs = tasks(actor).open()
    return qs.filter(owner=owner) if owner is not None else qs


def access_task(actor: Actor, task_id: uuid.UUID | str) -> Task:
    task = get_object_or_404(tasks(actor).select_related("member", "owner"), public_id=task_id)
    actor.require("organizations.view_caseloads")
    return task


def member_tasks(actor: Actor, member: Member) -> list[Task]:
    return list(tasks(actor).open().filter(member=member).select_related("owner"))


# Contact log -----------------------------------------------------------------------------------


def contact_entries(actor: Actor, member: Member) -> list[ContactLog]:
    """The member's contact log as this actor may read it (the scope: all of it for the plan; for
    the member's practice, the shareable entries while a release covers it), newest first."""
    return list(ContactLog.objects.visible_to(actor).filter(member=member).select_related("logged_by")[:200])


# Supervisor dashboard --------------------------------------------------------------------------


_ACUITY_ORDER = tuple(Acuity.values)  # Acuity.values builds a new list on every call


@dataclass
class CaseloadRow:
    user: User
    by_acuity: dict[str, int] = field(default_factory=dict)
    members: int = 0
    load: float = 0.0
    overdue_tasks: int = 0
    due_this_week: int = 0

    @property
    def acuity_counts(self) -> list[int]:
        return [self.by_acuity.get(value, 0) for value in _ACUITY_ORDER]

    @property
    def capacity(self) -> int:
        return self.user.caseload_capacity

    @property
    def percent(self) -> int:
        return round(100 * self.load / self.capacity) if self.capacity else 0

    @property
    def over(self) -> bool:
        return self.load > self.capacity


@dataclass
class Dashboard:
    rows: list[CaseloadRow]
    acuities: list[tuple[str, str]]
    week_ends: dt.date

    @cached_property
    def totals(self) -> dict[str, float]:
        return {
            "members": sum(r.members for r in self.rows),
            "load": round(sum(r.load for r in self.rows), 1),
            "capacity": sum(r.capacity for r in self.rows),
            "overdue_tasks": sum(r.overdue_tasks for r in self.rows),
            "due_this_week": sum(r.due_this_week for r in self.rows),
        }

    @cached_property
    def chart_max(self) -> float:
        return max([1.0, *(max(r.load, r.capacity) for r in self.rows)])

    def display_rows(self, *, caseloads_url: str, worklist_url: str) -> list[dict]:
        """Preformatted rows for the page (plain dicts and strings render several times faster
        than model attributes, properties and tags per row: the page lists every care manager).
        A person's caseload page is `caseloads_url` + their public id (caseloads/urls.py)."""
        scale = 100 / self.chart_max
        out = []
        for r in self.rows:
            person, public_id = r.user, str(r.user.public_id)
            out.append(
                {
                    "public_id": public_id,
                    "name": person.get_full_name() or person.username,
                    "detail": " · ".join(p for p in (person.credential, person.team) if p),
                    "url": f"{caseloads_url}{public_id}/",
                    "worklist": f"{worklist_url}?owner={public_id}",
                    # One cell per acuity level, built here: a loop in the template per row cost more.
                    "acuity_cells": format_html_join("", "<td>{}</td>", ((n,) for n in r.acuity_counts)),
                    "members": r.members,
                    "load": r.load,
                    "capacity": r.capacity,
                    "over": r.over,
                    "percent": r.percent,
                    "bar": round(r.load * scale),
                    "cap": round(r.capacity * scale),
                    "overdue_tasks": r.overdue_tasks,
                    "due_this_week": r.due_this_week,
                }
            )
        return out


def care_staff(actor: Actor) -> QuerySet[User]:
    return User.objects.visible_to(actor).filter(role__in=CARE_ROLES, is_active=True)


def dashboard(actor: Actor, *, team: str = "", program: str = "", credential: str = "") -> Dashboard:
    """Per care manager: members by acuity, acuity-weighted load against capacity, overdue
    tasks, and what falls due this week (tasks and referral steps). Four queries, whatever the
    size of the team or the caseloads."""
    actor.require("organizations.supervise_caseloads")
    plan = actor.organization
    today = plan.local_date()
    week_ends = today + dt.timedelta(days=6 - today.weekday())
    people = care_staff(actor).order_by("last_name", "first_name", "id")
    if team:
        people = people.filter(team=team)
    if credential:
        people = people.filter(credential=credential)
    rows = {u.pk: CaseloadRow(user=u) for u in people}
    active = enrollments(actor).active()
    if team or credential:
        active = active.filter(care_manager_id__in=list(rows))
    # else the whole plan's: the enrollment_active_load index then comes in care-manager order and
    # is counted as it streams, with no hash of 500 ids; rows of anyone else are skipped below.
    if program:
        active = active.filter(program=program)
    # COUNT(*), not COUNT(id): the count then reads only columns of the enrollment_active_load
    # index (an index-only scan), not the table.
    for cm, acuity, n in active.order_by().values_list("care_manager_id", "acuity").annotate(n=Count("*")):
        row = rows.get(cm)
        if row is None:  # assigned to someone no longer on the care staff
            continue
        row.by_acuity[acuity] = n
        row.members += n
        row.load += ACUITY_WEIGHT[acuity] * n
    # Tasks due after this week count for neither column: leave them out (index range).
    open_tasks = tasks(actor).open().filter(owner_id__in=list(rows), due_date__lte=week_ends)
    if program:
        # A semi-join on the member: one active enrollment per member (database rule), so this is
        # the join through members_member without the member table.
        in_program = enrollments(actor).active().filter(program=program).values("member_id")
        open_tasks = open_tasks.filter(member_id__in=in_program)
    for owner, overdue, week in (
        open_tasks.order_by()
        .values_list("owner_id")
        .annotate(
            # due_date, not id: never null, and in the task_open_by_owner index.
            overdue=Count("due_date", filter=Q(due_date__lt=today)),
            week=Count("due_date", filter=Q(due_date__gte=today)),
        )
    ):
        rows[owner].overdue_tasks += overdue
        rows[owner].due_this_week += week
    week_over = dt.datetime.combine(week_ends + dt.timedelta(days=1), dt.time(), tzinfo=plan.tz)
    steps = (
        Referral.objects.visible_to(actor)
        .open()
        .filter(assigned_to_id__in=list(rows), due_at__gte=timezone.now(), due_at__lt=week_over)
    )
    if program:
        steps = steps.filter(program=program)
    for owner, week in steps.order_by().values_list("assigned_to_id").annotate(n=Count("*")):
        rows[owner].due_this_week += week
    for row in rows.values():
        row.load = round(row.load, 1)
    return Dashboard(rows=list(rows.values()), acuities=list(Acuity.choices), week_ends=week_ends)


def teams(actor: Actor) -> list[str]:
    return sorted({t for t in care_staff(actor).exclude(team="").values_list("team", flat=True)})


CASELOAD_FIELDS = (
    "id",
    "public_id",
    "program",
    "acuity",
    "start_date",
    "co_managed",
    "member__public_id",
    "member__first_name",
    "member__last_name",
    "member__member_number",
)


def caseload(actor: Actor, user: User) -> QuerySet:
    """One care manager's active enrollments, as rows for the reassignment page."""
    return (
        enrollments(actor)
        .active()
        .filter(care_manager=user)
        .values(*CASELOAD_FIELDS)
        .order_by("member__last_name", "member__first_name", "id")
    )


def access_care_staff(actor: Actor, user_id: uuid.UUID | str) -> User:
    person = get_object_or_404(User.objects.visible_to(actor), public_id=user_id)
    actor.require("organizations.supervise_caseloads")
    return person


# Co-management rounds --------------------------------------------------------------------------


def rounds(actor: Actor) -> list[tuple[object, list[Enrollment]]]:
    """The monthly rounds list: active co-managed enrollments grouped by partner (seed 001)."""
    actor.require("organizations.view_caseloads")
    grouped: dict[object, list[Enrollment]] = defaultdict(list)
    qs = (
        enrollments(actor)
        .active()
        .filter(co_managed=True)
        .select_related("co_manager", "member", "care_manager")
        .order_by("co_manager__name", "member__last_name", "member__first_name", "id")
    )
    for enrollment in qs:
        grouped[enrollment.co_manager].append(enrollment)
    return list(grouped.items())


def care_managers_of(member_ids: set[int]) -> dict[int, User | None]:
    """Each member's care manager: the latest active enrollment's, while they work here (None
    otherwise). One query, for any number of members."""
    found: dict[int, User | None] = dict.fromkeys(member_ids)
    seen: set[int] = set()
    enrollments = (
        Enrollment.objects.active()
        .filter(member_id__in=member_ids)
        .select_related("care_manager")
        .order_by("member_id", "-id")
    )
    for enrollment in enrollments:
        if enrollment.member_id not in seen:
            seen.add(enrollment.member_id)
            found[enrollment.member_id] = enrollment.care_manager if enrollment.care_manager.is_active else None
    return found


def care_manager_of(member) -> User | None:
    return care_managers_of({member.pk})[member.pk]
