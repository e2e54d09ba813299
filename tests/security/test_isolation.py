"""Tenant isolation: every URL pattern (HTML and API), walked as every persona with objects that
persona must not see. Outsiders get 404, the same answer as for an id that does not exist.

A new URL whose parameters this walk does not know fails here until it is taught what an
"object of another tenant" is for that parameter: isolation is covered in the same change.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from core import notifications
from members import services as member_services
from members.models import CareTeamMember, ReleaseOfInformation
from organizations import services as org_services
from organizations.access import Actor
from organizations.models import Partnership, PartnershipContact
from tests.conftest import SYSTEM, World, make_release

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# Operator console: not tenant-facing; non-superusers are sent to its own login (checked below).
EXCLUDED_PREFIXES = ("admin/",)


def all_routes() -> list[tuple[str, str]]:
    """(route, name) for every path() in the project, prefixes joined."""
    found: list[tuple[str, str]] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                found.append((route, p.name or ""))

    walk(get_resolver().url_patterns, "")
    return [(r, n) for r, n in found if not r.startswith(EXCLUDED_PREFIXES)]


@dataclass
class Objects:
    """One tenant's objects of each kind a URL can name."""

    member: object
    entry: CareTeamMember
    release: ReleaseOfInformation
    roster_import: object
    notification: object
    partnership: Partnership
    contact: PartnershipContact
    staff: object
    organization: object
    referral: object
    attachment: object
    enrollment: object
    task: object
    contact_entry: object
    care_plan: object
    problem: object
    goal: object
    assessment: object
    record_request: object
    record_file: object
    adt_message: object
    adt_unmatched: object
    episode: object
    appointment: object
    gap: object
    screening: object
    need: object
    resource: object
    social_referral: object


def _gap(tag: str, member, uploader):
    import io

    from caregaps import services as gap_services
    from caregaps.models import CareGap

    gap_services.measure_catalog_seed(plan=member.plan)
    gap_services.gaps_import_csv(
        actor=Actor.for_user(uploader),
        stream=io.BytesIO(f"member_id,measure,description\n{member.member_number},BCS,Hidden gap {tag}\n".encode()),
    )
    return CareGap.objects.get(member=member, measure__code="BCS")


def _screening(member, staff):
    """A positive AHC screening of the member (transportation), with its need."""
    from sdoh import instruments
    from sdoh import services as sdoh_services
    from tests.sdoh.test_instruments import YES, ahc_answers

    screening = sdoh_services.screening_record(
        actor=Actor.for_user(staff),
        member=member,
        instrument=instruments.AHC_HRSN,
        answers=ahc_answers(**{"93030-5": YES}),
    )
    return screening, screening.needs.get()


def _social_referral(tag: str, member, staff, need):
    """A referral of the member to a community organization of the tenant's own (with consent)."""
    from sdoh import services as sdoh_services
    from tests.conftest import make_org

    pantry = make_org("community", f"Tenant {tag} Pantry")
    make_release(member, pantry, recipient_kind="community", purposes=["social_services"])
    return sdoh_services.social_referral_create(
        actor=Actor.for_user(staff), member=member, organization=pantry, request_note=f"Hidden request {tag}", need=need
    )


def _objects_for(world: World, tag: str, *, member, plan, partnership, staff, organization, uploader) -> Objects:
    entry = member_services.care_team_add(
        actor=SYSTEM, member=member, role="family", name="Kin Person", phone="555-555-0100"
    )
    release = make_release(member, recipient_name="Somewhere")
    upload = SimpleUploadedFile("r.csv", b"member_id,last_name\n", content_type="text/csv")
    from organizations.access import Actor

    roster_import = member_services.roster_import_start(actor=Actor.for_user(uploader), upload=upload)
    notification = notifications.notify(recipients=[staff], kind="test", title=f"Secret notice {tag}")[0]
    contact = org_services.partnership_contact_save(
        actor=SYSTEM, partnership=partnership, side="plan", name=f"Hidden Contact {tag}", phone="555-555-0101"
    )
    from referrals.services import Intake, referral_attach, referral_create

    practice_staff = next(u for u in (world.p2_contact, world.p3_contact) if u.organization == partnership.practice)
    referral = referral_create(
        actor=Actor.for_user(practice_staff), member=member, source="practice", intake=Intake(reason=f"Referral {tag}")
    )
    attachment = referral_attach(
        actor=Actor.for_user(practice_staff),
        referral=referral,
        upload=SimpleUploadedFile("note.pdf", b"%PDF-1.4 test", content_type="application/pdf"),
    )
    from caseloads import services as caseload_services

    enrollment = caseload_services.enrollment_start(
        actor=SYSTEM, member=member, program="behavioral_health", acuity="high", care_manager=staff
    )
    plan_actor = Actor.for_user(staff)
    enrollment = caseload_services.enrollment_set_co_management(
        actor=plan_actor, enrollment=enrollment, partner=world.community, contact=f"Secret partner contact {tag}"
    )
    task = caseload_services.task_create(
        actor=plan_actor,
        member=member,
        owner=staff,
        title=f"Secret task {tag}",
        due_date=plan.local_date(),
        origin="care_plan",
    )
    import django.utils.timezone as tz

    contact_entry = caseload_services.contact_log(
        actor=plan_actor,
        member=member,
        made_at=tz.now(),
        method="phone",
        with_whom=f"Secret contact {tag}",
        outcome="completed",
        shareable=True,
    )
    from careplans import services as careplan_services

    care_plan = careplan_services.careplan_start(actor=SYSTEM, member=member)
    problem = careplan_services.problem_save(
        actor=SYSTEM,
        care_plan=care_plan,
        values={"domain": "social", "description": f"Hidden problem {tag}", "shareable": True},
    )
    goal = careplan_services.goal_save(
        actor=SYSTEM, care_plan=care_plan, values={"problem": problem, "member_words": f"Hidden goal {tag}"}
    )
    assessment = careplan_services.assessment_record(
        actor=Actor.for_user(staff), member=member, values={"behavioral_notes": f"Hidden note {tag}"}
    )
    plan_staff = Actor.for_user(staff)
    record_request = careplan_services.record_request_create(
        actor=plan_staff,
        member=member,
        practice=partnership.practice,
        what=f"Hidden records {tag}",
        why="Care plan",
        due_on=member.plan.local_date(),
    )
    careplan_services.record_request_answer(
        actor=Actor.for_user(practice_staff),
        request=record_request,
        notes=f"Hidden answer {tag}",
        files=[SimpleUploadedFile("records.pdf", b"%PDF-1.4 records", content_type="application/pdf")],
    )
    record_file = record_request.files.get()
    adt_message, adt_unmatched = _adt_messages(world, tag, member)
    episode, appointment = _episode(tag, member, staff)
    gap = _gap(tag, member, uploader)
    screening, need = _screening(member, staff)
    from sdoh.models import CommunityService

    resource = CommunityService.objects.create(
        plan=plan,
        organization_name=f"Hidden Pantry {tag}",
        name=f"Hidden service {tag}",
        categories=["food_insecurity"],
        zip_codes=["68101"],
        languages=["en"],
        last_verified=plan.local_date(),
    )
    social_referral = _social_referral(tag, member, staff, need)
    return Objects(
        member,
        entry,
        release,
        roster_import,
        notification,
        partnership,
        contact,
        staff,
        organization,
        referral,
        attachment,
        enrollment,
        task,
        contact_entry,
        care_plan,
        problem,
        goal,
        assessment,
        record_request,
        record_file,
        adt_message,
        adt_unmatched,
        episode,
        appointment,
        gap,
        screening,
        need,
        resource,
        social_referral,
    )


def _adt_messages(world: World, tag: str, member):
    """An ADT message matched to the tenant's member, and an unmatched one only the tenant's plan
    is a candidate for (same last name and birth date, another first name)."""
    from tests.transitions.adt import adt, make_feed
    from transitions.models import AdtFeed, AdtMessage

    feed = AdtFeed.objects.filter(sending_facility="ISOHOSP").first() or make_feed(world, code="ISOHOSP")
    from transitions import services

    raw = adt("A01", facility="ISOHOSP", pid3=f"{member.member_number}^^^^MB", control_id=f"ISO{tag}1")
    services.adt_receive(raw=raw.encode(), transport="mllp", actor=SYSTEM)
    unmatched = adt(
        "A01",
        facility="ISOHOSP",
        pid3=f"MRN{tag}",
        last=member.last_name,
        first="Zebulon",
        dob=member.date_of_birth,
        control_id=f"ISO{tag}2",
    )
    services.adt_receive(raw=unmatched.encode(), transport="mllp", actor=SYSTEM)
    matched = AdtMessage.objects.get(control_id=f"ISO{tag}1", member=member)
    queued = AdtMessage.objects.get(control_id=f"ISO{tag}2", status="needs_review")
    assert list(queued.candidate_plans.all()) == [member.plan] and feed
    return matched, queued


def _episode(tag: str, member, care_manager):
    """The member's discharge (same visit as the A01 above) opens an episode; a visit is booked."""
    from tests.transitions.adt import adt
    from transitions import episodes, services

    out = (timezone.now() - dt.timedelta(hours=3)).astimezone(member.plan.tz).strftime("%Y%m%d%H%M%S")
    raw = adt("A03", facility="ISOHOSP", pid3=f"{member.member_number}^^^^MB", control_id=f"ISO{tag}3", discharged=out)
    services.adt_receive(raw=raw.encode(), transport="mllp", actor=SYSTEM)
    episode = member.episodes.get()
    appointment = episodes.appointment_schedule(
        actor=Actor.for_user(care_manager),
        episode=episode,
        scheduled_for=timezone.now() + dt.timedelta(days=2),
        provider_name=f"Dr. Hidden {tag}",
    )
    return episode, appointment


@pytest.fixture
def tenants(world: World) -> dict[str, Objects]:
    """Objects of plan A (attributed to P2, so P1 must not see them) and of plan B (attributed to
    P3). Each persona is walked against the set it must not see."""
    pa2 = Partnership.objects.get(plan=world.plan_a, practice=world.p2)
    pb3 = Partnership.objects.get(plan=world.plan_b, practice=world.p3)
    return {
        "A": _objects_for(
            world,
            "A",
            member=world.m_a2,
            plan=world.plan_a,
            partnership=pa2,
            staff=world.a_cm,
            organization=world.p2,
            uploader=world.a_admin,
        ),
        "B": _objects_for(
            world,
            "B",
            member=world.m_b3,
            plan=world.plan_b,
            partnership=pb3,
            staff=world.b_cm,
            organization=world.p3,
            uploader=world.b_admin,
        ),
    }


# persona -> which tenant's objects are foreign to them
PERSONAS = {
    "a_admin": "B",
    "a_cm": "B",
    "a_supervisor": "B",
    "a_intake": "B",
    "b_cm": "A",
    "b_admin": "A",
    "p1_contact": "A",  # P1 partners with both plans, but the plan-A objects belong to P2
    "p1_admin": "A",
    "p2_contact": "B",
    "p3_contact": "A",
    "c_staff": "A",
}


def _value(name: str, objs: Objects):
    values = {
        "member_id": objs.member.public_id,
        "entry_id": objs.entry.public_id,
        "release_id": objs.release.public_id,
        "import_id": objs.roster_import.public_id,
        "notification_id": objs.notification.public_id,
        "partnership_id": objs.partnership.public_id,
        "contact_id": objs.contact.public_id,
        "user_id": objs.staff.public_id,
        "organization_id": objs.organization.public_id,
        "referral_id": objs.referral.public_id,
        "attachment_id": objs.attachment.public_id,
        "enrollment_id": objs.enrollment.public_id,
        "task_id": objs.task.public_id,
        "item_id": objs.problem.public_id,
        "goal_id": objs.goal.public_id,
        "version": 1,
        "assessment_id": objs.assessment.public_id,
        "care_plan_id": objs.care_plan.public_id,
        "request_id": objs.record_request.public_id,
        "file_id": objs.record_file.public_id,
        "message_id": objs.adt_unmatched.public_id,
        "episode_id": objs.episode.public_id,
        "appointment_id": objs.appointment.public_id,
        "gap_id": objs.gap.public_id,
        "screening_id": objs.screening.public_id,
        "need_id": objs.need.public_id,
        "service_id": objs.resource.public_id,
        "social_referral_id": objs.social_referral.public_id,
        "rest": f"Task/{objs.social_referral.public_id}/_history",  # the FHIR catch-all: 404 for all
    }
    assert name in values, (
        f"URL parameter <{name}> is not covered by the isolation walk: add what an object of another "
        "tenant is for it in tests/security/test_isolation.py"
    )
    return values[name]


def _fill(route: str, objs: Objects) -> str:
    return "/" + PARAM.sub(lambda m: str(_value(m.group("name"), objs)), route)


def _request(client, url: str):
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_outsiders_get_404_on_every_object_url(world, tenants, client_for, persona):
    client = client_for(getattr(world, persona))
    foreign = tenants[PERSONAS[persona]]
    routes = [(r, n) for r, n in all_routes() if PARAM.search(r)]
    assert len(routes) >= 20, "the walk found too few object URLs; has the URL layout changed?"
    failures = []
    for route, name in routes:
        url = _fill(route, foreign)
        status = _request(client, url).status_code
        if status != 404:
            failures.append(f"{name} {url} -> {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("persona", ["a_cm", "p1_contact", "b_cm"])
def test_own_member_with_foreign_child_is_404(world, tenants, client_for, persona):
    """A visible member's URL with another member's care-team entry or release is still 404."""
    client = client_for(getattr(world, persona))
    own = {"a_cm": world.m_a1, "p1_contact": world.m_a1, "b_cm": world.m_b1}[persona]
    foreign = tenants[PERSONAS[persona]]
    nested = [r for r, _ in all_routes() if "<uuid:member_id>" in r and ("entry_id" in r or "release_id" in r)]
    assert nested
    for route in nested:
        url = "/" + PARAM.sub(
            lambda m: str(own.public_id if m.group("name") == "member_id" else _value(m.group("name"), foreign)),
            route,
        )
        assert _request(client, url).status_code == 404, url


def test_unknown_ids_get_the_same_404(world, client_for):
    client = client_for(world.a_admin)
    missing = uuid.uuid4()
    assert client.get(f"/members/{missing}/").status_code == 404
    assert client.get(f"/api/v1/members/{missing}/").status_code == 404


LIST_PROBES = [
    "/members/",
    "/members/?q={last}",
    "/members/?q={number}",
    "/api/v1/members/",
    "/api/v1/members/?q={last}",
    "/api/v1/staff/",
    "/staff/",
    "/partnerships/",
    "/api/v1/partnerships/",
    "/inbox/",
    "/audit/",
    "/rosters/",
    "/api/v1/roster-imports/",
    "/api/v1/organizations/",
    "/referrals/",
    "/referrals/?status=closed",
    "/referrals/sent/",
    "/api/v1/referrals/",
    "/worklist/",
    "/worklist/?owner=all",
    "/caseloads/",
    "/caseloads/rounds/",
    "/api/v1/enrollments/",
    "/api/v1/tasks/",
    "/api/v1/tasks/?owner=all",
    "/api/v1/careplans/",
    "/record-requests/",
    "/care-plans/reviews/",
    "/care-plans/reviews/?mine=1",
    "/record-requests/?status=answered",
    "/transitions/review/",
    "/transitions/",
    "/transitions/?overdue=1",
    "/transitions/rates/",
    "/api/v1/episodes/",
    "/api/v1/episodes/?status=open",
    "/api/v1/caregaps/",
    "/api/v1/caregaps/?open=1",
    "/care-gaps/",
    "/care-gaps/?status=open&measure=BCS",
    "/care-gaps/export.csv",
    "/care-gaps/export.xlsx",
    "/care-gaps/report.pdf",
    "/care-gaps/report.pdf?status=open&new=1",
    "/care-gaps/practices/",
    "/care-gaps/practices/?measure=BCS",
    "/social-needs/",
    "/api/v1/screenings/",
    "/social-referrals/",
    "/social-referrals/?status=open",
    "/api/v1/social-referrals/",
    "/resources/",
    "/resources/?need=food_insecurity&zip_code=68101",
    "/resources/import/",
    "/api/v1/resources/",
    "/api/v1/resources/?need=food_insecurity&zip=68101",
    "/fhir/Task",
    "/fhir/Task?status=requested,received",
    "/",
]


def body_text(response) -> str:
    """What a person could read in a response: pages and CSV as they are, an XLSX's sheets (the
    XML inside the zip), a PDF's content streams (inflated)."""
    import io
    import zipfile
    import zlib

    raw = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        with zipfile.ZipFile(io.BytesIO(raw)) as book:
            return "".join(book.read(name).decode() for name in book.namelist())
    if kind.startswith("application/pdf"):
        streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S)
        # A stream whose last byte is \r loses it to the pattern's "\r?\n": that byte is part of
        # zlib's closing checksum, so inflate without demanding the stream's end.
        return "".join(zlib.decompressobj().decompress(s).decode("latin-1") for s in streams if s[:1] == b"x")
    return raw.decode()


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_lists_never_show_another_tenants_rows(world, tenants, client_for, persona):
    client = client_for(getattr(world, persona))
    foreign = tenants[PERSONAS[persona]]
    member = foreign.member
    secrets = [
        member.last_name,
        member.member_number,
        str(member.public_id),
        foreign.staff.username,
        foreign.contact.name,
        foreign.notification.title,
        str(foreign.roster_import.public_id),
        str(foreign.referral.public_id),
        foreign.referral.reason,
        str(foreign.enrollment.public_id),
        foreign.task.title,
        foreign.contact_entry.with_whom,
        foreign.enrollment.co_manager_contact,
        foreign.problem.description,
        str(foreign.care_plan.public_id),
        foreign.record_request.what,
        str(foreign.record_request.public_id),
        str(foreign.adt_message.public_id),
        str(foreign.adt_unmatched.public_id),
        foreign.adt_unmatched.patient_name,
        str(foreign.episode.public_id),
        str(foreign.appointment.public_id),
        foreign.appointment.provider_name,
        str(foreign.gap.public_id),
        foreign.gap.description,
        str(foreign.screening.public_id),
        str(foreign.need.public_id),
        str(foreign.social_referral.public_id),
        foreign.social_referral.request_note,
    ]
    persona_org = getattr(world, persona).organization
    if not Partnership.objects.filter(plan=foreign.resource.plan, practice=persona_org).exists():
        # The directory is the plan's, read by its partner practices (not patient data): only
        # those outside the partnership must not see it.
        secrets += [foreign.resource.organization_name, str(foreign.resource.public_id)]
    for probe in LIST_PROBES:
        url = probe.format(last=member.last_name, number=member.member_number)
        response = client.get(url)
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        body = body_text(response)
        echoed = url.partition("q=")[2]  # a search page repeats the query it was given
        leaked = [s for s in secrets if s in body and s != echoed]
        assert not leaked, f"{persona} saw {leaked} at {url}"


def test_list_urls_are_all_probed():
    """Every list URL (no parameters) is either probed above or known to hold no tenant rows."""
    no_tenant_rows = {
        "accounts/login/",
        "accounts/logout/",
        "api/schema/",
        "inbox/badge/",
        "staff/add/",
        "inbox/read-all/",
        "rosters/sample.csv",
        "referrals/new/",
        "referrals/lists/",
        "referrals/bulk/",
        "api/v1/adt/messages/",  # POST only, by a facility interface; answers ACKs, lists nothing
        "api/v1/caregaps/imports/",  # POST only, a plan's own gap file; answers counts or its bad rows
        "care-gaps/reviewed/",  # POST only: marks the person's own review time
        "resources/sample.csv",
        "resources/new/",  # a blank form; what it saves goes into the person's own plan's directory
        "fhir/metadata",  # the CapabilityStatement: what the server answers, no rows
    }
    probed = {p.split("?")[0].lstrip("/") for p in LIST_PROBES}
    unprobed = [r for r, _ in all_routes() if not PARAM.search(r) and r not in probed | no_tenant_rows]
    assert not unprobed, f"Add these list URLs to LIST_PROBES: {unprobed}"


def test_operator_console_is_closed_to_staff(world, client_for):
    response = client_for(world.a_admin).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
