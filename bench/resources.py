"""Community resource search over 50,000 services (issue 7: median under 30 ms).

Services are generated set-based in SQL in the million-member plan's directory (names
`Bench service N`, kept for the next run): need categories in turn, one to three of them, English
and one other language, ten ZIP codes each out of a thousand. The search page is fetched like the
other pages (bench.web.measure: warm-up, timed pass, counting pass) as the plan care manager and
as the practice contact, by need alone, need + ZIP, and need + ZIP + language.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.care_gaps import PageResult
from bench.environment import PLAN_NAME, BenchError
from bench.web import PLAN_USER, PRACTICE_USER, Scenario, _client, measure

SERVICES = 50_000

_INSERT = """
INSERT INTO sdoh_communityservice (public_id, plan_id, organization_name, name, description, categories,
    eligibility, languages, hours, zip_codes, phone, email, website, last_verified, is_active, updated_at)
SELECT gen_random_uuid(), %(plan)s, 'Bench organization ' || (n / 5), 'Bench service ' || n, '',
       (SELECT array_agg(c) FROM unnest(%(cats)s::text[]) WITH ORDINALITY AS t(c, i)
         WHERE i - 1 IN (n %% %(ncats)s, (n * 7) %% %(ncats)s, (n * 13) %% %(ncats)s)
           AND (i - 1 = n %% %(ncats)s OR n %% 3 = 0)),
       '', ARRAY['en', (ARRAY['es', 'vi', 'so', 'ar', 'zh'])[1 + n %% 5]], '',
       (SELECT array_agg(lpad((68000 + ((n + k * 97) %% 1000))::text, 5, '0')) FROM generate_series(0, 9) AS k),
       '', '', '', CURRENT_DATE - (n %% 500), true, now()
FROM generate_series(%(first)s, %(last)s) AS n
"""


@dataclass
class Generation:
    added: int
    total: int
    seconds: float


def ensure_services(*, say: Callable[[str], None]) -> Generation:
    from django.db import connection, transaction

    from organizations.models import Organization
    from sdoh.instruments import NEED_CATEGORIES
    from sdoh.models import CommunityService

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    have = CommunityService.objects.filter(plan=plan, name__startswith="Bench service ").count()
    started = time.perf_counter()
    if have < SERVICES:
        say(f"Generating {SERVICES - have:,} directory services ...")
        with transaction.atomic(), connection.cursor() as cursor:
            cats = list(NEED_CATEGORIES)
            cursor.execute(
                _INSERT, {"plan": plan.pk, "cats": cats, "ncats": len(cats), "first": have, "last": SERVICES - 1}
            )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) sdoh_communityservice")
    total = CommunityService.objects.filter(plan=plan).count()
    if total < SERVICES:
        raise BenchError(f"Only {total:,} directory services.")
    return Generation(SERVICES - have if have < SERVICES else 0, total, time.perf_counter() - started)


def run(*, requests: int, warmup: int, say: Callable[[str], None]) -> list[PageResult]:
    clients = {user: _client(user) for user in (PLAN_USER, PRACTICE_USER)}
    pages = []
    for user, who in ((PLAN_USER, "plan cm"), (PRACTICE_USER, "practice")):
        for label, query in (
            ("food", "need=food_insecurity"),
            ("food in 68101", "need=food_insecurity&zip_code=68101"),
            ("housing in 68500, Spanish", "need=housing_instability&zip_code=68500&language=es"),
        ):
            name = f"resources, {label} ({who})"
            scenario = Scenario(name, "list", user, [f"/resources/?{query}"])
            result = measure(clients[user], scenario, requests=requests, warmup=warmup)
            say(f"  {name:<48} median {sorted(result.timings_ms)[len(result.timings_ms) // 2]:8.1f} ms")
            pages.append(PageResult(name, 50, result))
    return pages


REFERRALS = 100_000
COMMUNITY_USER = "community-staff"  # Heartland Food & Housing Network's staff in the demo
INBOX_SIZES = (25, 100)

_REFERRALS = """
INSERT INTO sdoh_socialreferral (public_id, plan_id, member_id, organization_id, kind, status, request_note,
    status_reason, pickup, share_with_practice, requested_by_id, created_at)
SELECT gen_random_uuid(), %(plan)s, m.id, %(org)s, 'service',
       (ARRAY['requested', 'received', 'accepted', 'completed', 'rejected'])[1 + m.n %% 5],
       'Bench referral', '', '', false, %(user)s, now() - make_interval(mins => m.n::int)
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM members_member WHERE plan_id = %(plan)s
      ORDER BY id LIMIT %(n)s) AS m
"""


def ensure_referrals(*, say: Callable[[str], None]) -> int:
    """Top Heartland's inbox up to REFERRALS referrals from the big plan (one per member)."""
    from django.db import connection, transaction

    from organizations.models import Organization, User
    from sdoh.models import SocialReferral

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    staff = User.objects.get(username=COMMUNITY_USER)
    have = SocialReferral.objects.filter(organization=staff.organization, request_note="Bench referral").count()
    if have < REFERRALS:
        say(f"Generating {REFERRALS - have:,} community referrals ...")
        SocialReferral.objects.filter(organization=staff.organization, request_note="Bench referral").delete()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _REFERRALS,
                {
                    "plan": plan.pk,
                    "org": staff.organization_id,
                    "user": User.objects.get(username=PLAN_USER).pk,
                    "n": REFERRALS,
                },
            )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) sdoh_socialreferral")
    return SocialReferral.objects.filter(organization=staff.organization).count()


def run_inbox(*, requests: int, warmup: int, say: Callable[[str], None]) -> list[PageResult]:
    client = _client(COMMUNITY_USER)
    pages = []
    for size in INBOX_SIZES:
        for label, query in (("inbox", ""), ("inbox, open", "&status=open")):
            name = f"{label}, size {size} (community staff)"
            scenario = Scenario(name, "list", COMMUNITY_USER, [f"/social-referrals/?size={size}{query}"])
            result = measure(client, scenario, requests=requests, warmup=warmup)
            say(f"  {name:<48} median {sorted(result.timings_ms)[len(result.timings_ms) // 2]:8.1f} ms")
            pages.append(PageResult(name, size, result))
    return pages
