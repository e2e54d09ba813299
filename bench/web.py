"""Request scenarios through Django's test client, signed in as demo users.

Each scenario is a warm-up, a timed pass (DEBUG off, nothing captured: time.perf_counter around
client.get, the whole request/response cycle in this process), then a separate counting pass
under CaptureQueriesContext, so capturing does not inflate the timings. Audit writes stay in:
every list page and summary writes its audit rows, as in production.
"""

from __future__ import annotations

import html
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

from bench.environment import PLAN_NAME, BenchError

PLAN_USER = "prairie-cm"  # care manager of the big plan
PRACTICE_USER = "shared-practice-contact"  # Riverbend: sees attributed members through a join
FEATURED = "PHP9000001"  # Maria Elena Gonzalez, born 1961-04-09
SEARCHES = (
    ("typo'd full name", "maria gonzales", FEATURED),
    ("last name", "nguyen", "Nguyen"),
    ("date of birth", "1961-04-09", FEATURED),
    ("member id", FEATURED, FEATURED),
)
DEEP_HOPS = 5  # "next" links followed to reach the deep page
PAGE_SIZES = (10, 50, 200)
RANDOM_MEMBERS = 10
RANDOM_SEED = 2024
COUNT_PASSES = 5
_NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')


@dataclass
class Scenario:
    name: str
    kind: str  # "list", "search", "summary" or "size"
    user: str
    urls: list[str]
    expect: str = ""  # text the first response must contain (the result is what was asked for)


@dataclass
class Measurement:
    scenario: Scenario
    timings_ms: list[float]
    query_counts: list[int]
    captured: list[dict] = field(default_factory=list)  # the queries of the last counted request
    sql_ms: list[float] = field(default_factory=list)  # per counted request: the time its queries took


def _client(username: str):
    from django.test import Client

    from organizations.models import User

    client = Client(SERVER_NAME="localhost")  # a host ALLOWED_HOSTS accepts
    client.force_login(User.objects.get(username=username))
    return client


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return response


# Set when a page's rel="next" link starts with "??": the template writes "?" before Django 6's
# {% querystring %}, which begins with "?" itself, so a browser would send the first parameter as
# "?cursor" (or "?size") and the server would ignore it. The benchmark follows the cursor as meant.
DOUBLED_QUESTION_MARK: set[str] = set()


def _follow_html(client, url: str, hops: int) -> str:
    """The URL `hops` pages further on, following the page's own rel="next" link (its cursor)."""
    for _ in range(hops):
        match = _NEXT_LINK.search(_get(client, url).content.decode())
        if match is None:
            raise BenchError(f"{url} has no next page; the plan is too small for a deep page.")
        href = html.unescape(match.group(1))
        if href.startswith("??"):
            DOUBLED_QUESTION_MARK.add(urlsplit(url).path)
            href = "?" + href.lstrip("?")
        url = urljoin(url, href)
    return url


def _follow_api(client, url: str, hops: int) -> str:
    for _ in range(hops):
        next_url = _get(client, url).json()["next"]
        if next_url is None:
            raise BenchError(f"{url} has no next page; the plan is too small for a deep page.")
        parts = urlsplit(next_url)
        url = f"{parts.path}?{parts.query}"
    return url


def scenarios(clients: dict, members: int) -> list[Scenario]:
    from django.urls import reverse

    from members.models import Member
    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    in_plan = Member.objects.for_plan(plan.pk)
    featured = in_plan.get(member_number=FEATURED)
    numbers = [f"PHP{n:07d}" for n in random.Random(RANDOM_SEED).sample(range(1, members + 1), RANDOM_MEMBERS)]
    randoms = list(in_plan.filter(member_number__in=numbers).values_list("public_id", flat=True))
    if not randoms:
        raise BenchError("None of the randomly chosen members exist; was the plan built?")
    page, api = reverse("member-list"), reverse("api-member-list")
    deep = f"page {DEEP_HOPS + 1}"
    result = [
        Scenario("list page 1 (plan cm)", "list", PLAN_USER, [page]),
        Scenario(f"list {deep} (plan cm)", "list", PLAN_USER, [_follow_html(clients[PLAN_USER], page, DEEP_HOPS)]),
        Scenario("list page 1 (practice)", "list", PRACTICE_USER, [page]),
        Scenario(
            f"list {deep} (practice)", "list", PRACTICE_USER, [_follow_html(clients[PRACTICE_USER], page, DEEP_HOPS)]
        ),
        Scenario("api list page 1 (plan cm)", "list", PLAN_USER, [api]),
        Scenario(f"api list {deep} (plan cm)", "list", PLAN_USER, [_follow_api(clients[PLAN_USER], api, DEEP_HOPS)]),
        Scenario("api list page 1 (practice)", "list", PRACTICE_USER, [api]),
    ]
    for label, query, expect in SEARCHES:
        url = f"{page}?{urlencode({'q': query})}"
        result.append(Scenario(f"search {label}: {query}", "search", PLAN_USER, [url], expect))
    result.append(
        Scenario(
            "search (practice): maria gonzales",
            "search",
            PRACTICE_USER,
            [f"{page}?{urlencode({'q': 'maria gonzales'})}"],
            FEATURED,
        )
    )
    result += [
        Scenario(
            f"summary {FEATURED}",
            "summary",
            PLAN_USER,
            [reverse("member-detail", args=[featured.public_id])],
            FEATURED,
        ),
        Scenario(
            f"summary, {len(randoms)} random members",
            "summary",
            PLAN_USER,
            [reverse("member-detail", args=[public_id]) for public_id in randoms],
        ),
    ]
    result += [
        Scenario(f"list page 1 size={size} (plan cm)", "size", PLAN_USER, [f"{page}?size={size}"])
        for size in PAGE_SIZES
    ]
    return result


def measure(client, scenario: Scenario, *, requests: int, warmup: int) -> Measurement:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = scenario.urls
    for i in range(max(warmup, 1)):
        response = _get(client, urls[i % len(urls)])
        if i == 0 and scenario.expect and scenario.expect not in response.content.decode():
            raise BenchError(f"{scenario.name}: the response does not contain {scenario.expect!r}.")
    timings = []
    for i in range(requests):
        url = urls[i % len(urls)]
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"GET {url} answered {response.status_code}")
    counts, captured, sql_ms = [], [], []
    for i in range(COUNT_PASSES):
        with CaptureQueriesContext(connection) as context:
            _get(client, urls[i % len(urls)])
        counts.append(len(context.captured_queries))
        sql_ms.append(sum(float(q["time"]) for q in context.captured_queries) * 1000)
        captured = context.captured_queries
    return Measurement(scenario, timings, counts, captured, sql_ms)


def run(*, members: int, requests: int, warmup: int, say: Callable[[str], None]) -> list[Measurement]:
    clients = {username: _client(username) for username in (PLAN_USER, PRACTICE_USER)}
    say("Finding the deep-page cursors and the members to open ...")
    results = []
    for scenario in scenarios(clients, members):
        measurement = measure(clients[scenario.user], scenario, requests=requests, warmup=warmup)
        ms = sorted(measurement.timings_ms)
        say(f"  {scenario.name:<42} median {ms[len(ms) // 2]:8.1f} ms")
        results.append(measurement)
    return results
