"""Build (or refresh) the demo world. Safe to run again: nothing is duplicated."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import tempfile
import time

from django.core.files import File
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from members import services as member_services
from members.demo import roster_rows, write_roster_csv
from members.models import CareTeamMember, Member, ReleaseOfInformation, RosterImport, age_on
from members.roster import COLUMNS
from organizations import services as org_services
from organizations.access import Actor
from organizations.models import Credential, Organization, Partnership, PlanHoliday, Role, User
from organizations.roles import place_in_role_group

SYSTEM = Actor.system()

ORGANIZATIONS = {
    "prairie": dict(
        kind="plan",
        name="Prairie Health Plan",
        timezone="America/Chicago",
        phone="312-555-0100",
        email="care@prairie.example",
        city="Springfield",
        state="IL",
    ),
    "mesa": dict(
        kind="plan",
        name="Mesa Health Plan",
        timezone="America/Phoenix",
        phone="602-555-0100",
        email="care@mesa.example",
        city="Tempe",
        state="AZ",
    ),
    "riverbend": dict(
        kind="practice",
        name="Riverbend Family Medicine",
        npi="1902000011",
        phone="309-555-0110",
        email="office@riverbend.example",
        city="Peoria",
        state="IL",
    ),
    "oakstreet": dict(
        kind="practice",
        name="Oak Street Primary Care",
        npi="1902000029",
        phone="217-555-0120",
        email="office@oakstreet.example",
        city="Springfield",
        state="IL",
    ),
    "desertbloom": dict(
        kind="practice",
        name="Desert Bloom Health Center",
        npi="1902000037",
        phone="480-555-0130",
        email="office@desertbloom.example",
        city="Mesa",
        state="AZ",
        timezone="America/Phoenix",
    ),
    "heartland": dict(
        kind="community",
        name="Heartland Food & Housing Network",
        phone="217-555-0140",
        email="referrals@heartland.example",
        city="Springfield",
        state="IL",
    ),
    "stbrigid": dict(
        kind="facility",
        name="St. Brigid Regional Hospital",
        npi="1902000045",
        phone="217-555-0150",
        city="Springfield",
        state="IL",
    ),
}

# username: (organization, role, first, last, credential, languages, capacity, title)
STAFF = {
    "prairie-admin": ("prairie", Role.PLAN_ADMIN, "Avery", "Lindqvist", "", ["English"], 0, "Plan administrator"),
    "prairie-supervisor": (
        "prairie",
        Role.SUPERVISOR,
        "Renee",
        "Okafor",
        Credential.RN,
        ["English"],
        0,
        "Care management supervisor",
    ),
    "prairie-cm": (
        "prairie",
        Role.CARE_MANAGER,
        "Dana",
        "Whitfield",
        Credential.RN,
        ["English", "Spanish"],
        60,
        "RN care manager",
    ),
    "prairie-cm-lcsw": (
        "prairie",
        Role.CARE_MANAGER,
        "Marcus",
        "Bell",
        Credential.LCSW,
        ["English"],
        50,
        "LCSW care manager",
    ),
    "prairie-coordinator": (
        "prairie",
        Role.CARE_COORDINATOR,
        "Priya",
        "Raman",
        Credential.OTHER,
        ["English", "Tamil"],
        80,
        "Care coordinator",
    ),
    "prairie-advocate": (
        "prairie",
        Role.MEMBER_ADVOCATE,
        "Luis",
        "Ortega",
        Credential.CHW,
        ["English", "Spanish"],
        70,
        "Member advocate",
    ),
    "prairie-intake": ("prairie", Role.INTAKE, "Grace", "Kim", "", ["English", "Korean"], 0, "Intake specialist"),
    "mesa-admin": ("mesa", Role.PLAN_ADMIN, "Jordan", "Beck", "", ["English"], 0, "Plan administrator"),
    "mesa-supervisor": (
        "mesa",
        Role.SUPERVISOR,
        "Alma",
        "Tsosie",
        Credential.RN,
        ["English", "Navajo"],
        0,
        "Care management supervisor",
    ),
    "mesa-cm": (
        "mesa",
        Role.CARE_MANAGER,
        "Sam",
        "Delgado",
        Credential.RN,
        ["English", "Spanish"],
        60,
        "RN care manager",
    ),
    "shared-practice-admin": (
        "riverbend",
        Role.PRACTICE_ADMIN,
        "Helen",
        "Marsh",
        "",
        ["English"],
        0,
        "Practice manager",
    ),
    "shared-practice-contact": (
        "riverbend",
        Role.PRACTICE_CONTACT,
        "Tom",
        "Becker",
        Credential.RN,
        ["English"],
        0,
        "Care coordination nurse",
    ),
    "shared-clinician": (
        "riverbend",
        Role.CLINICIAN,
        "Nadia",
        "Farouk",
        Credential.MD,
        ["English", "Arabic"],
        0,
        "Family physician",
    ),
    "prairie-practice-contact": (
        "oakstreet",
        Role.PRACTICE_CONTACT,
        "Beth",
        "Lowry",
        Credential.RN,
        ["English"],
        0,
        "Referral coordinator",
    ),
    "mesa-practice-contact": (
        "desertbloom",
        Role.PRACTICE_CONTACT,
        "Ray",
        "Yazzie",
        Credential.RN,
        ["English", "Spanish"],
        0,
        "Care coordination nurse",
    ),
    "community-staff": (
        "heartland",
        Role.COMMUNITY_STAFF,
        "Ivy",
        "Chen",
        "",
        ["English", "Mandarin"],
        0,
        "Referral specialist",
    ),
}
STAFF["stbrigid-adt"] = (
    "stbrigid",
    Role.FACILITY_INTERFACE,
    "St. Brigid",
    "ADT feed",
    "",
    [],
    0,
    "HL7 interface account (API token: manage.py create_api_token stbrigid-adt)",
)
# The hospital's ADT feed (transitions): MSH-4 "STBRIGID"; both plans receive it, and the
# hospital names them by their member-number prefixes in IN1-3 / PID-3's assigning authority.
ADT_FEED = ("stbrigid", "STBRIGID", {"prairie": "PHP", "mesa": "MHP"})

LOGINS = (
    "prairie-admin",
    "prairie-supervisor",
    "prairie-cm",
    "mesa-cm",
    "shared-practice-contact",
    "prairie-practice-contact",
    "mesa-practice-contact",
    "community-staff",
)

PARTNERSHIPS = (
    ("prairie", "riverbend", "prairie-supervisor", "shared-practice-contact"),
    ("prairie", "oakstreet", "prairie-supervisor", "prairie-practice-contact"),
    ("mesa", "riverbend", "mesa-supervisor", "shared-practice-contact"),
    ("mesa", "desertbloom", "mesa-supervisor", "mesa-practice-contact"),
)
# The generated roster is a function of this date, not of today: the same file every run, so
# running seed_demo next month changes nothing instead of re-importing shifted coverage dates.
DEMO_ANCHOR = dt.date(2026, 11, 1)
PRAIRIE_CITIES = (
    ("Springfield", "IL", "627"),
    ("Peoria", "IL", "616"),
    ("Decatur", "IL", "625"),
    ("Champaign", "IL", "618"),
    ("Bloomington", "IL", "617"),
)
MESA_CITIES = (("Mesa", "AZ", "852"), ("Tempe", "AZ", "852"), ("Chandler", "AZ", "852"), ("Phoenix", "AZ", "850"))

# Hand-written members the guides and tests refer to (all synthetic).
_FEATURED_FIELDS = [
    "member_id",
    "last_name",
    "first_name",
    "middle_name",
    "date_of_birth",
    "sex",
    "preferred_language",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
    "eligibility_start",
    "product",
    "practice_npi",
    "risk_score",
    "ed_visits_12m",
    "inpatient_admits_12m",
    "chronic_conditions",
]
FEATURED = {
    "prairie": [
        (
            "PHP9000001",
            "Gonzalez",
            "Maria",
            "Elena",
            "1961-04-09",
            "F",
            "Spanish",
            "(217) 555-0101",
            "412 Cedar St",
            "",
            "Springfield",
            "IL",
            "62704",
            "",
            "",
            "",
            "2023-01-01",
            "Medicaid",
            "1902000011",
            "0.62",
            "3",
            "1",
            "4",
        ),
        (
            "PHP9000002",
            "O'Connor",
            "James",
            "",
            "1948-11-23",
            "M",
            "English",
            "(309) 555-0102",
            "88 Willow Ln",
            "Apt 2",
            "Peoria",
            "IL",
            "61602",
            "",
            "",
            "",
            "2022-07-01",
            "Dual Eligible",
            "1902000011",
            "0.41",
            "1",
            "2",
            "3",
        ),
        (
            "PHP9000003",
            "Nguyen",
            "Linh",
            "",
            "2014-02-17",
            "F",
            "Vietnamese",
            "(217) 555-0103",
            "9 Aspen Ct",
            "",
            "Springfield",
            "IL",
            "62702",
            "Thao Nguyen",
            "Parent",
            "(217) 555-0104",
            "2024-03-01",
            "CHIP",
            "1902000029",
            "0.12",
            "1",
            "0",
            "1",
        ),
    ],
    "mesa": [
        (
            "MHP9000001",
            "Whitehorse",
            "Daniel",
            "",
            "1975-06-30",
            "M",
            "English",
            "(480) 555-0105",
            "1520 Mesquite Way",
            "",
            "Mesa",
            "AZ",
            "85201",
            "",
            "",
            "",
            "2023-05-01",
            "Medicaid",
            "1902000011",
            "0.55",
            "2",
            "1",
            "3",
        ),
    ],
}


def _featured_rows(plan_key: str) -> list[list[str]]:
    rows = []
    for values in FEATURED[plan_key]:
        by_name = dict(zip(_FEATURED_FIELDS, values, strict=True))
        rows.append([by_name.get(column, "") for column in COLUMNS])
    return rows


class Command(BaseCommand):
    help = (
        "Build the demo world: two plans, three practices, a community organization, a hospital, staff of "
        "every role with fixed logins, and synthetic members. Running it again changes nothing. "
        "The password for every demo login comes from DEMO_PASSWORD (default: carecoord-demo)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--members",
            type=int,
            default=1200,
            help="Members of Prairie Health Plan (default 1200; Mesa gets 800 or fewer). "
            "Use 1000000 to build a million-member plan for benchmarks.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print only the logins.")

    def handle(self, *args, members: int, quiet: bool, **options) -> None:
        if members < 0:
            raise ValueError("--members must not be negative")
        say = (lambda msg: None) if quiet else (lambda msg: self.stdout.write(msg))
        password = os.environ.get("DEMO_PASSWORD", "carecoord-demo")
        orgs = self._organizations()
        say("Organizations and holidays ready.")
        users = self._staff(orgs, password)
        say(f"{len(users)} staff accounts ready.")
        self._partnerships(orgs, users)
        say("Partnerships and points of contact ready.")
        self._adt_feed(orgs)
        say(f"ADT feed ready ({ADT_FEED[1]}: send HL7 with mllp_listen or POST /api/v1/adt/messages/).")
        plans = (
            ("prairie", "PHP", PRAIRIE_CITIES, ["1902000011", "1902000029"], members, 11),
            ("mesa", "MHP", MESA_CITIES, ["1902000011", "1902000037"], min(800, members), 23),
        )
        for key, prefix, cities, npis, count, seed in plans:
            started = time.monotonic()
            result = self._roster(orgs[key], users[f"{key}-admin"], prefix, cities, npis, count, seed)
            say(
                f"{orgs[key].name}: roster {result.get_status_display().lower()} "
                f"({result.created_count} created, {result.updated_count} updated, "
                f"{result.unchanged_count} unchanged) in {time.monotonic() - started:.1f}s."
            )
            if result.status != RosterImport.Status.SUCCEEDED:
                raise RuntimeError(f"Demo roster for {key} was not applied: {result.errors[:5]}")
        self._care_teams(orgs, users)
        say("Care teams and releases of information ready.")
        made = self._referrals(orgs, users)
        say(f"Referrals ready ({made} new).")
        made = self._caseloads(orgs, users)
        say(f"Caseloads ready ({made} new enrollments).")
        made = self._care_plans(orgs, users)
        say(f"Care plans ready ({made} new).")
        made = self._transitions(orgs, users)
        say(f"Hospital stays ready ({made} ADT messages received over the feed).")
        made = self._care_gaps(orgs, users)
        say(f"Measure catalogs and care gaps ready ({made} new gaps).")
        made = self._social_needs(orgs, users)
        say(f"Resource directory and social needs ready ({made} new screenings).")
        self.stdout.write("\nDemo logins (password from DEMO_PASSWORD, default 'carecoord-demo'):")
        for username in LOGINS:
            user = users[username]
            self.stdout.write(f"  {username:<26} {user.get_role_display()}, {user.organization.name}")

    @transaction.atomic
    def _organizations(self) -> dict[str, Organization]:
        orgs: dict[str, Organization] = {}
        for key, fields in ORGANIZATIONS.items():
            org = Organization.objects.filter(kind=fields["kind"], name=fields["name"]).first()
            orgs[key] = org or org_services.organization_create(**fields)
        year = timezone.localdate().year
        for plan in (orgs["prairie"], orgs["mesa"]):
            for holiday_year in (year, year + 1):
                for day, name in _federal_holidays(holiday_year):
                    PlanHoliday.objects.get_or_create(plan=plan, date=day, defaults={"name": name})
        return orgs

    @transaction.atomic
    def _staff(self, orgs: dict[str, Organization], password: str) -> dict[str, User]:
        users: dict[str, User] = {}
        for username, (org_key, role, first, last, credential, languages, capacity, title) in STAFF.items():
            fields = dict(
                first_name=first,
                last_name=last,
                credential=credential,
                languages=languages,
                caseload_capacity=capacity,
                title=title,
                email=f"{username}@demo.carecoord.invalid",
                phone="217-555-0199",
            )
            user = User.objects.filter(username=username).first()
            if user is None:
                user = org_services.staff_create(
                    actor=SYSTEM, organization=orgs[org_key], username=username, role=role, **fields
                )
            elif user.organization_id != orgs[org_key].pk or user.role != role:
                user.organization, user.role = orgs[org_key], role
                user.save(update_fields=["organization", "role"])
                place_in_role_group(user)
            user.set_password(password)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
            users[username] = user
        return users

    @transaction.atomic
    def _adt_feed(self, orgs: dict[str, Organization]) -> None:
        from transitions.models import AdtFeed, AdtFeedPlan

        facility_key, code, plans = ADT_FEED
        feed, _ = AdtFeed.objects.get_or_create(facility=orgs[facility_key], defaults={"sending_facility": code})
        for plan_key, payer_code in plans.items():
            AdtFeedPlan.objects.get_or_create(feed=feed, plan=orgs[plan_key], defaults={"payer_code": payer_code})

    @transaction.atomic
    def _partnerships(self, orgs: dict[str, Organization], users: dict[str, User]) -> None:
        for plan_key, practice_key, plan_contact, practice_contact in PARTNERSHIPS:
            plan, practice = orgs[plan_key], orgs[practice_key]
            if Partnership.objects.filter(plan=plan, practice=practice).exists():
                continue
            start = timezone.localdate().replace(month=1, day=1)
            partnership = org_services.partnership_create(
                actor=SYSTEM,
                plan=plan,
                practice=practice,
                effective_from=start,
                next_review_on=timezone.localdate() + dt.timedelta(days=45 if practice_key == "oakstreet" else 200),
                agreement_summary=(
                    "The plan assigns care management contacts, confirms receipt, triage and assignment of "
                    "referrals, shares care plan components and care gap reports, and coordinates "
                    "post-discharge outreach. The practice refers eligible patients with clinical context, "
                    "reviews gap reports, schedules 7-day follow-up visits after discharge and reconciles "
                    "medications."
                ),
            )
            for side, username in (("plan", plan_contact), ("practice", practice_contact)):
                person = users[username]
                org_services.partnership_contact_save(
                    actor=SYSTEM,
                    partnership=partnership,
                    side=side,
                    name=person.get_full_name(),
                    user=person,
                    title=person.title,
                    phone=person.phone,
                    email=person.email,
                    is_primary=True,
                )

    def _roster(self, plan, uploader, prefix, cities, npis, count, seed) -> RosterImport:
        with tempfile.NamedTemporaryFile("w+", suffix=".csv", encoding="utf-8", newline="") as handle:
            rows = roster_rows(
                count=count, prefix=prefix, cities=cities, practice_npis=npis, seed=seed, today=DEMO_ANCHOR
            )
            write_roster_csv(handle, rows, extra=_featured_rows("prairie" if prefix == "PHP" else "mesa"))
            handle.flush()
            handle.seek(0)
            digest = hashlib.sha256(handle.buffer.read()).hexdigest()
            done = RosterImport.objects.filter(plan=plan, sha256=digest, status=RosterImport.Status.SUCCEEDED).first()
            if done is not None:
                return done
            handle.seek(0)
            size = os.path.getsize(handle.name)
            roster_import = RosterImport(
                plan=plan,
                uploaded_by=uploader,
                original_name=f"demo-roster-{prefix}.csv",
                sha256=digest,
                size_bytes=size,
            )
            with open(handle.name, "rb") as raw:
                roster_import.file.save(f"{roster_import.public_id}.csv", File(raw), save=False)
            roster_import.save()
        # Run in this process: the demo must exist before the web app starts, worker or not.
        return member_services.roster_import_run(import_id=roster_import.pk)

    @transaction.atomic
    def _care_teams(self, orgs: dict[str, Organization], users: dict[str, User]) -> None:
        for plan_key, cm_username in (("prairie", "prairie-cm"), ("mesa", "mesa-cm")):
            plan, manager = orgs[plan_key], users[cm_username]
            if CareTeamMember.objects.filter(plan=plan).exists():
                continue  # seeded before
            untouched = Member.objects.for_plan(plan.pk).filter(care_team__isnull=True)
            featured = [row[0] for row in FEATURED[plan_key]]
            chosen = [
                *untouched.filter(member_number__in=featured).order_by("member_number"),
                *untouched.exclude(member_number__in=featured).order_by("member_number")[:40],
            ]
            for index, member in enumerate(chosen):
                attribution = member.attributions.filter(end_date__isnull=True).select_related("practice").first()
                if attribution is not None:
                    member_services.care_team_add(
                        actor=SYSTEM,
                        member=member,
                        role=CareTeamMember.Role.PCP,
                        name=f"{attribution.practice.name}",
                        organization=attribution.practice,
                        phone=attribution.practice.phone,
                    )
                member_services.care_team_add(
                    actor=SYSTEM,
                    member=member,
                    role=CareTeamMember.Role.CARE_MANAGER,
                    name=manager.get_full_name(),
                    phone=manager.phone,
                    email=manager.email,
                    is_point_of_contact=True,
                )
                if attribution is not None and index % 2 == 0:
                    signed = timezone.localdate() - dt.timedelta(days=30 + index)
                    minor = age_on(member.date_of_birth, max(signed, member.date_of_birth)) < 18
                    member_services.release_record(
                        actor=SYSTEM,
                        member=member,
                        recipient_kind=ReleaseOfInformation.RecipientKind.PRACTICE,
                        recipient_organization=attribution.practice,
                        recipient_name=attribution.practice.name,
                        purposes=[
                            ReleaseOfInformation.Purpose.CARE_COORDINATION,
                            ReleaseOfInformation.Purpose.TREATMENT,
                        ],
                        signed_by=ReleaseOfInformation.Signer.GUARDIAN if minor else ReleaseOfInformation.Signer.MEMBER,
                        signer_name=member.guardian_name if minor and member.guardian_name else member.full_name,
                        signed_on=max(signed, member.date_of_birth),
                    )

    # (days since discharge or None if still in hospital, days in hospital, PV1-4, hospital service, ICD-10 codes)
    STAYS = (
        (9.0, 4, "E", "MED", ("I50.9", "E11.9", "N18.3")),  # 7-day visit overdue, outreach missed
        (1.0, 2, "E", "MED", ("J44.1",)),
        (2.5, 6, "U", "PSY", ("F32.2",)),  # a mental-health stay: the visit must be with a MH provider
        (None, 1, "E", "MED", ("A41.9",)),  # admitted now: the care manager and the practice were told
    )

    def _transitions(self, orgs: dict[str, Organization], users: dict[str, User]) -> int:
        """Prairie's care manager's members in hospital, sent as HL7 ADT through the same service the
        feed uses (episodes, deadlines and notices are real; past-due steps go missed on the first
        sweep)."""
        from caseloads.models import Enrollment
        from organizations.access import Actor
        from transitions import services as adt_services
        from transitions.models import Encounter

        plan = orgs["prairie"]
        if Encounter.objects.filter(plan=plan).exists():
            return 0
        _facility_key, code, payer_codes = ADT_FEED
        enrolled = (
            Enrollment.objects.filter(plan=plan, status="active", care_manager=users["prairie-cm"])
            .select_related("member")
            .order_by("member__member_number")
        )
        members = [e.member for e in enrolled[: len(self.STAYS)]]
        tz = plan.tz
        sent = 0

        def stamp(moment: dt.datetime) -> str:
            return moment.astimezone(tz).strftime("%Y%m%d%H%M%S")

        for n, (member, (days_out, days_in, adm_type, service, codes)) in enumerate(
            zip(members, self.STAYS, strict=False), 1
        ):
            out = timezone.now() - dt.timedelta(days=days_out or 0)
            admitted = out - dt.timedelta(days=days_in)
            events = ["A01"] if days_out is None else ["A01", "A03"]
            for event in events:
                segments = [
                    f"MSH|^~\\&|EPIC|{code}|CARECOORD|PHP|{stamp(timezone.now())}||ADT^{event}^ADT_{event}|DEMO{n}{event}|P|2.5.1",
                    f"EVN|{event}|{stamp(timezone.now())}",
                    f"PID|1||MRN{n:04d}^^^{code}^MR~{member.member_number}^^^{payer_codes['prairie']}^MB||"
                    f"{member.last_name}^{member.first_name}||{member.date_of_birth:%Y%m%d}|{member.sex}",
                    f"PV1|1|I|4W^40{n}^A^{code}|{adm_type}|||1234^Attending^Ann|||{service}|||||||||DEMOV{n}"
                    + "|" * 17
                    + "01^Home"
                    + "|" * 8
                    + f"{stamp(admitted)}|{stamp(out) if event == 'A03' else ''}",
                    *(f"DG1|{i}||{c}^^I10|||F" + "|" * 9 + str(i) for i, c in enumerate(codes, 1)),
                ]
                adt_services.adt_receive(raw="\r".join(segments).encode(), transport="mllp", actor=Actor.system())
                sent += 1
        return sent

    # Gaps the quality engine reports for Prairie's attributed members: every fifth member, one or
    # two measures each, some already closed (caregaps: CSV through the same import plans use).
    GAP_MEASURES = ("BCS", "COL", "CBP", "GSD", "AWV", "PERSIST", "MRP", "WCV")

    @transaction.atomic
    def _social_needs(self, orgs: dict[str, Organization], users: dict[str, User]) -> int:
        """Prairie's resource directory (the sample file and Heartland's services), and one member
        screened with a housing and a food need, referred to Heartland under a release (seed 001)."""
        from pathlib import Path

        from organizations.access import Actor
        from sdoh import instruments
        from sdoh import services as sdoh_services
        from sdoh.models import Screening

        plan, heartland = orgs["prairie"], orgs["heartland"]
        if Screening.objects.for_plan(plan.pk).exists():
            return 0
        member = (
            Member.objects.for_plan(plan.pk)
            .filter(attributions__end_date__isnull=True)
            .exclude(postal_code="")
            .order_by("member_number")
            .first()
        )
        if member is None:
            return 0
        zip_code = member.postal_code[:5]
        sample = (Path(sdoh_services.__file__).resolve().parent / "sample_data" / "resources_sample.csv").read_text()
        today = plan.local_date().isoformat()
        sample += (
            f"{heartland.name},Eviction prevention fund,housing_instability,One-time rent to stop an eviction,"
            f"An eviction notice,en;es,Mon-Fri 09:00-17:00,{zip_code},{heartland.phone},{heartland.email},,{today}\n"
            f"{heartland.name},Mobile food pantry,food_insecurity,Groceries delivered weekly,,en;es,Wed 10:00-14:00,"
            f"{zip_code},{heartland.phone},,,{today}\n"
        )
        admin = Actor.for_user(users["prairie-admin"])
        sdoh_services.resources_import_csv(actor=admin, stream=io.BytesIO(sample.encode()))
        member_services.release_record(
            actor=admin,
            member=member,
            recipient_kind="community",
            recipient_name=heartland.name,
            recipient_organization=heartland,
            purposes=["social_services"],
            signed_by="member",
            signer_name=member.full_name,
            signed_on=plan.local_date() - dt.timedelta(days=2),
        )
        cm = Actor.for_user(users["prairie-cm"])
        answers = {
            "71802-3": "LA31994-9",  # a place to live, worried about losing it
            "96778-6": ["LA9-3"],
            "88122-7": "LA6729-3",  # sometimes true
            "88123-5": "LA28398-8",
            "93030-5": "LA32-8",
            "96779-4": "LA32-8",
            **dict.fromkeys(("95618-5", "95617-7", "95616-9", "95615-1"), "LA6270-8"),
        }
        screening = sdoh_services.screening_record(
            actor=cm, member=member, instrument=instruments.AHC_HRSN, answers=answers
        )
        housing = screening.needs.get(category="housing_instability")
        sdoh_services.social_referral_create(
            actor=Actor.for_user(users["prairie-advocate"]),
            member=member,
            organization=heartland,
            request_note="Eviction notice received; needs help with two months' rent.",
            need=housing,
        )
        return 1

    # Synthetic rendering providers (made-up names; NPIs of the right shape that belong to nobody).
    GAP_PROVIDERS = (
        ("1999000012", "Dr. Maya Lindqvist"),
        ("1999000020", "Dr. Omar Haddad"),
        ("", "Nurse practitioner"),
    )

    def _care_gaps(self, orgs: dict[str, Organization], users: dict[str, User]) -> int:
        from caregaps import services as gap_services
        from caregaps.models import CareGap
        from organizations.access import Actor

        for key in ("prairie", "mesa"):
            gap_services.measure_catalog_seed(plan=orgs[key])
        plan = orgs["prairie"]
        if CareGap.objects.for_plan(plan.pk).exists():
            return 0
        numbers = (
            Member.objects.for_plan(plan.pk)
            .filter(attributions__end_date__isnull=True)
            .order_by("member_number")
            .values_list("member_number", flat=True)[:1500:5]
        )
        year_end = dt.date(plan.local_date().year, 12, 31)
        lines = ["member_id,measure,description,due_date,status,provider_npi,provider_name"]
        for n, number in enumerate(numbers):
            npi, provider = self.GAP_PROVIDERS[n % len(self.GAP_PROVIDERS)]
            for k in range(1 + n % 2):
                measure = self.GAP_MEASURES[(n + 3 * k) % len(self.GAP_MEASURES)]
                status = "closed" if n % 7 == 0 else "open"
                lines.append(f"{number},{measure},,{year_end.isoformat()},{status},{npi},{provider}")
        result = gap_services.gaps_import_csv(
            actor=Actor.for_user(users["prairie-admin"]), stream=io.BytesIO(("\n".join(lines) + "\n").encode())
        )
        # Spread the demo's gaps over the past months, and close a few more each month, so the
        # closure trend has a history to show.
        now = timezone.now()
        gaps = list(CareGap.objects.for_plan(plan.pk).order_by("id"))
        for n, gap in enumerate(gaps):
            gap.opened_at = now - dt.timedelta(days=30 * (n % 10) + 2)
            if gap.status == "closed":
                gap.closed_at = min(now, gap.opened_at + dt.timedelta(days=20))
        CareGap.objects.bulk_update(gaps, ["opened_at", "closed_at"])
        return result.created

    # (member index among the plan's consented, attributed members, by, source, urgency, final status)
    REFERRAL_SCRIPT = (
        (0, "practice", "practice", "urgent", "submitted"),
        (1, "practice", "practice", "routine", "submitted"),
        (2, "intake", "hrq", "routine", "acknowledged"),
        (3, "practice", "practice", "routine", "triaged"),
        (4, "intake", "predictive_model", "routine", "triaged"),
        (5, "practice", "practice", "routine", "assigned"),
        (6, "practice", "practice", "urgent", "outreach"),
        (7, "intake", "utilization_management", "routine", "enrolled"),
        (8, "practice", "practice", "routine", "declined"),
        (9, "intake", "member_request", "routine", "not_eligible"),
    )

    @transaction.atomic
    def _referrals(self, orgs: dict[str, Organization], users: dict[str, User]) -> int:
        """A queue with something in every state, made through the services (so deadlines,
        timelines and notifications are real); one referral is a few days overdue."""
        from referrals import services as referral_services
        from referrals.models import Referral, Status

        made = 0
        for plan_key, practice_user, intake_user, cm_user in (
            ("prairie", "shared-practice-contact", "prairie-intake", "prairie-cm"),
            ("mesa", "shared-practice-contact", "mesa-admin", "mesa-cm"),
        ):
            plan = orgs[plan_key]
            if Referral.objects.filter(plan=plan).exists():
                continue
            practice_actor = Actor.for_user(users[practice_user])
            consented = list(
                Member.objects.visible_to(practice_actor)
                .filter(plan=plan, releases__isnull=False)
                .select_related("plan")
                .order_by("member_number")
                .distinct()[: len(self.REFERRAL_SCRIPT)]
            )
            supervisor = Actor.for_user(users.get(f"{plan_key}-supervisor") or users[intake_user])
            manager = Actor.for_user(users[cm_user])
            for (index, by, source, urgency, final), member in zip(self.REFERRAL_SCRIPT, consented, strict=False):
                actor = practice_actor if by == "practice" else Actor.for_user(users[intake_user])
                referral = referral_services.referral_create(
                    actor=actor,
                    member=member,
                    source=source,
                    intake=referral_services.Intake(
                        reason=DEMO_REASONS[index % len(DEMO_REASONS)],
                        urgency=urgency,
                        contact_method="phone",
                        contact_time="Weekday mornings",
                    ),
                )
                made += 1
                path = [Status.ACKNOWLEDGED, Status.TRIAGED, Status.ASSIGNED, Status.OUTREACH]
                steps = {
                    "submitted": [],
                    "acknowledged": path[:1],
                    "triaged": path[:2],
                    "assigned": path[:3],
                    "outreach": path,
                    "enrolled": path,
                    "declined": path,
                    "not_eligible": path[:1],
                }[final]
                for to in steps:
                    if to == Status.TRIAGED:
                        referral_services.referral_transition(
                            actor=supervisor,
                            referral=referral,
                            to=to,
                            priority=2,
                            program="complex_care",
                            skill_needed="RN",
                        )
                    elif to == Status.ASSIGNED:
                        referral_services.referral_claim(actor=manager, referral=referral)
                    elif to == Status.OUTREACH:
                        referral_services.outreach_log(
                            actor=manager,
                            referral=referral,
                            method="phone",
                            outcome="reached",
                            note="Spoke with the member.",
                        )
                    else:
                        referral_services.referral_transition(actor=supervisor, referral=referral, to=to)
                if final == "enrolled":
                    referral_services.referral_transition(
                        actor=manager, referral=referral, to=Status.ENROLLED, acuity="high"
                    )
                elif final == "declined":
                    referral_services.referral_transition(
                        actor=manager,
                        referral=referral,
                        to=Status.DECLINED,
                        reason="Prefers to work with her PCP for now.",
                    )
                elif final == "not_eligible":
                    referral_services.referral_transition(
                        actor=supervisor, referral=referral, to=Status.NOT_ELIGIBLE, reason="Coverage ends this month."
                    )
            first = Referral.objects.filter(plan=plan, status=Status.SUBMITTED).order_by("id").first()
            if first is not None:  # a few days old, so the queue shows what overdue looks like
                _backdate(first, days=3)
        return made

    # (acuity, program, care manager) of the Prairie members enrolled directly, besides the referral's
    CASELOAD_SCRIPT = (
        ("intensive", "complex_care", "prairie-cm"),
        ("moderate", "complex_care", "prairie-cm"),
        ("low", "transitions", "prairie-cm"),
        ("high", "behavioral_health", "prairie-cm-lcsw"),
        ("moderate", "behavioral_health", "prairie-cm-lcsw"),
        ("moderate", "perinatal", "prairie-cm"),
        ("self_management", "social_needs", "prairie-advocate"),
    )

    @transaction.atomic
    def _caseloads(self, orgs: dict[str, Organization], users: dict[str, User]) -> int:
        """Prairie's care managers with members at every acuity: a history of acuity moves, a
        behavioral-health case co-managed with a partner, a perinatal member past delivery, tasks
        (one overdue) and contacts, all through the services."""
        from caseloads import services as caseload_services
        from caseloads.models import Enrollment

        plan = orgs["prairie"]
        if Enrollment.objects.filter(plan=plan, referral__isnull=True).exists():
            return 0
        for username, team in (("prairie-cm", "North"), ("prairie-cm-lcsw", "North"), ("prairie-advocate", "South")):
            User.objects.filter(username=username).update(team=team)
        supervisor = Actor.for_user(users["prairie-supervisor"])
        members = list(
            Member.objects.filter(plan=plan, releases__isnull=False)
            .exclude(enrollments__status="active")
            .exclude(referrals__status__in=["submitted", "acknowledged", "triaged", "assigned", "outreach"])
            .select_related("plan")
            .order_by("member_number")
            .distinct()[: len(self.CASELOAD_SCRIPT)]
        )
        today = plan.local_date()
        made = 0
        for made, ((acuity, program, cm), member) in enumerate(
            zip(self.CASELOAD_SCRIPT, members, strict=False), start=1
        ):
            manager = Actor.for_user(users[cm])
            enrollment = caseload_services.enrollment_start(
                actor=supervisor, member=member, program=program, acuity=acuity, care_manager=users[cm]
            )
            if acuity == "intensive":
                enrollment = caseload_services.enrollment_change_acuity(
                    actor=manager, enrollment=enrollment, acuity="high", reason="Two weeks without an ED visit"
                )
            if program == "behavioral_health" and acuity == "high":
                caseload_services.enrollment_set_co_management(
                    actor=manager,
                    enrollment=enrollment,
                    partner=orgs["heartland"],
                    contact="Intake desk, 217-555-0142",
                    reason="Shared behavioral-health plan",
                )
            if program == "perinatal":
                caseload_services.enrollment_record_delivery(
                    actor=manager, enrollment=enrollment, delivery_date=today - dt.timedelta(days=20)
                )
            caseload_services.task_create(
                actor=manager,
                member=member,
                owner=users[cm],
                title="Review medications with the member" if made % 2 else "Confirm the next PCP visit",
                due_date=today + dt.timedelta(days=made - 3),  # the first ones are overdue
                origin="care_plan",
            )
            caseload_services.contact_log(
                actor=manager,
                member=member,
                made_at=timezone.now() - dt.timedelta(days=made),
                method="phone",
                with_whom="Member",
                outcome="completed",
                notes="Talked through the care plan; the member agreed to the next steps.",
                shareable=made % 2 == 0,
            )

    @transaction.atomic
    def _care_plans(self, orgs: dict[str, Organization], users: dict[str, User]) -> int:
        """A small care plan (with an assessment and a PHQ-9) for each plan's enrolled demo
        member, made through the services; part of it is shared with the member's practice."""
        from careplans import services as careplan_services
        from careplans.models import CarePlan
        from referrals.models import Referral, Status

        made = 0
        for plan_key in ("prairie", "mesa"):
            plan = orgs[plan_key]
            enrolled = Referral.objects.filter(plan=plan, status=Status.ENROLLED).select_related("member__plan").first()
            if enrolled is None or CarePlan.objects.filter(plan=plan).exists():
                continue
            member, manager = enrolled.member, Actor.for_user(users[f"{plan_key}-cm"])
            assessment = careplan_services.assessment_record(
                actor=manager,
                member=member,
                values={
                    "self_rated_health": "fair",
                    "chronic_conditions": "Type 2 diabetes, hypertension",
                    "ed_visits_12m": 3,
                    "housing": "stable",
                    "transportation_barrier": True,
                    "behavioral_notes": "Low mood since retiring; sleeps poorly.",
                },
                phq9_answers=[2, 2, 2, 1, 1, 1, 1, 0, 0],
            )
            careplan_services.assessment_add_problem(actor=manager, assessment=assessment)
            care_plan = CarePlan.objects.get(member=member)
            problem = careplan_services.problem_save(
                actor=manager,
                care_plan=care_plan,
                values={
                    "domain": "physical",
                    "description": "Blood sugar often above target",
                    "root_causes": "Skips evening insulin when tired; unsure how to adjust for meals",
                    "shareable": True,
                },
            )
            goal = careplan_services.goal_save(
                actor=manager,
                care_plan=care_plan,
                values={
                    "problem": problem,
                    "member_words": "I want to keep my feet healthy so I can keep gardening",
                    "priority": "high",
                    "target_date": plan.local_date() + dt.timedelta(days=90),
                    "agreed_on": plan.local_date(),
                    "progress": "in_progress",
                    "shareable": True,
                },
            )
            for values in (
                {"description": "Teach insulin adjustment with the member's meal plan", "owner_kind": "care_manager"},
                {"description": "A1c and foot exam at the next visit", "owner_kind": "practice", "shareable": True},
                {"description": "Check blood sugar before supper and write it down", "owner_kind": "member"},
            ):
                careplan_services.intervention_save(actor=manager, care_plan=care_plan, values={"goal": goal, **values})
            careplan_services.careplan_notes_save(
                actor=manager,
                care_plan=care_plan,
                barriers="No car since March; bus trip to the clinic takes an hour.",
                strengths="Daughter nearby helps with shopping; keen gardener.",
            )
            made += 1
        return made


DEMO_REASONS = (
    "Three emergency visits in six weeks for asthma; missed two follow-ups.",
    "Uncontrolled diabetes (A1c 10.2); lives alone and struggles with insulin schedule.",
    "New heart failure diagnosis after admission; needs help with medications and diet.",
    "Depression screen positive (PHQ-9 17); pending eviction reported at visit.",
    "High predicted cost and readmission risk; several specialists, no coordination.",
    "Pregnant, second trimester; missed prenatal visits and no transportation.",
)


def _backdate(referral, *, days: int) -> None:
    from core.models import Deadline
    from referrals.models import Referral

    shift = dt.timedelta(days=days)
    Referral.objects.filter(pk=referral.pk).update(
        submitted_at=referral.submitted_at - shift, due_at=referral.due_at - shift if referral.due_at else None
    )
    for deadline in Deadline.objects.filter(key__startswith=f"referral:{referral.pk}:"):
        Deadline.objects.filter(pk=deadline.pk).update(due_at=deadline.due_at - shift)


def _federal_holidays(year: int) -> list[tuple[dt.date, str]]:
    def nth_weekday(month: int, weekday: int, n: int) -> dt.date:
        day = dt.date(year, month, 1)
        day += dt.timedelta(days=(weekday - day.weekday()) % 7)
        return day + dt.timedelta(weeks=n - 1)

    def last_weekday(month: int, weekday: int) -> dt.date:
        day = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
        return day - dt.timedelta(days=(day.weekday() - weekday) % 7)

    def observed(day: dt.date) -> dt.date:
        return (
            day - dt.timedelta(days=1)
            if day.weekday() == 5
            else day + dt.timedelta(days=1)
            if day.weekday() == 6
            else day
        )

    return [
        (observed(dt.date(year, 1, 1)), "New Year's Day"),
        (nth_weekday(1, 0, 3), "Martin Luther King Jr. Day"),
        (nth_weekday(2, 0, 3), "Presidents' Day"),
        (last_weekday(5, 0), "Memorial Day"),
        (observed(dt.date(year, 6, 19)), "Juneteenth"),
        (observed(dt.date(year, 7, 4)), "Independence Day"),
        (nth_weekday(9, 0, 1), "Labor Day"),
        (nth_weekday(11, 3, 4), "Thanksgiving Day"),
        (observed(dt.date(year, 12, 25)), "Christmas Day"),
    ]
