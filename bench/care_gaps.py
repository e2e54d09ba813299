"""The care-gap report over 20,000 open gaps of one practice, and a 100,000-row CSV export
(issue 6: page median under 50 ms with a fixed query count; the export streams in constant memory).

Gaps are generated set-based in SQL (source "csv", keys `bench:…`, kept for the next run): the
first GAPS_PRACTICE attributed members of Riverbend Family Medicine (what shared-practice-contact
sees) and then members of the plan's other practice, up to GAPS_TOTAL, all open, measures in turn;
then each gap's attributed practice is set by caregaps.services.attributed_practices_refresh.
The report is fetched like the other pages (bench.web.measure: warm-up, timed pass, counting pass)
as the practice contact and as the plan care manager, at page sizes 25 and 100. The export is
read to the end through the test client; tracemalloc's peak (Python allocations) is taken for the
whole plan's export and for a tenth of it: constant memory means the two peaks are alike.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from bench.environment import PLAN_NAME, BenchError
from bench.web import PLAN_USER, PRACTICE_USER, Measurement, Scenario, _client, measure

GAPS_PRACTICE = 20_000
GAPS_TOTAL = 100_000
PRACTICE_NAME = "Riverbend Family Medicine"
SIZES = (25, 100)
CODES = ("BCS", "COL", "CBP", "GSD", "AWV", "PERSIST", "MRP", "WCV", "CCS", "PPC")

_INSERT = """
INSERT INTO caregaps_caregap (public_id, plan_id, member_id, measure_id, description, due_date, status, source,
                              source_key, opened_at, updated_at, provider_npi, provider_name)
SELECT gen_random_uuid(), %(plan)s, p.member_id, m.id, '', %(due)s, 'open', 'csv',
       'bench:' || p.member_id || ':' || m.code, now() - make_interval(secs => p.n), now(),
       '', 'Dr. Bench ' || (p.n %% 7)
FROM (
    SELECT a.member_id, row_number() OVER (ORDER BY a.member_id) AS n
    FROM members_attribution a
    WHERE a.plan_id = %(plan)s AND a.end_date IS NULL AND a.practice_id {practice_test} %(practice)s
      AND NOT EXISTS (SELECT 1 FROM caregaps_caregap g WHERE g.member_id = a.member_id AND g.source_key LIKE 'bench:%%')
    ORDER BY a.member_id
    LIMIT %(n)s
) AS p
JOIN caregaps_measure m ON m.plan_id = %(plan)s AND m.code = (%(codes)s::text[])[1 + p.n %% %(ncodes)s]
"""


@dataclass
class Generation:
    added: int
    practice_open: int
    total: int
    seconds: float


@dataclass
class PageResult:
    name: str
    size: int
    measurement: Measurement


@dataclass
class ExportResult:
    name: str
    rows: int
    seconds: float
    peak_mb: float


def ensure_gaps(*, say: Callable[[str], None]) -> Generation:
    from django.db import connection, transaction

    from caregaps.models import CareGap
    from caregaps.services import attributed_practices_refresh, measure_catalog_seed
    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    practice = Organization.objects.get(kind=Organization.Kind.PRACTICE, name=PRACTICE_NAME)
    measure_catalog_seed(plan=plan)
    bench_gaps = CareGap.objects.for_plan(plan.pk).filter(source_key__startswith="bench:")
    at_practice = bench_gaps.filter(member__attributions__practice=practice, member__attributions__end_date=None)
    on_the_gap = bench_gaps.filter(practice=practice)  # what the report reads (CareGap.practice)
    need_practice = max(GAPS_PRACTICE - at_practice.count(), 0)
    started, added = time.perf_counter(), 0
    params = {"plan": plan.pk, "practice": practice.pk, "due": plan.local_date().replace(month=12, day=31)}
    params.update(codes=list(CODES), ncodes=len(CODES))
    with transaction.atomic(), connection.cursor() as cursor:
        if need_practice:
            say(f"Generating {need_practice:,} open gaps for {PRACTICE_NAME} ...")
            cursor.execute(_INSERT.format(practice_test="="), {**params, "n": need_practice})
            added += cursor.rowcount
        need_other = max(GAPS_TOTAL - bench_gaps.count(), 0)
        if need_other:
            say(f"Generating {need_other:,} open gaps for the plan's other members ...")
            cursor.execute(_INSERT.format(practice_test="<>"), {**params, "n": need_other})
            added += cursor.rowcount
        refreshed = 0
        if added or on_the_gap.count() < at_practice.count():
            # Gaps made in SQL carry no attributed practice yet: the service the imports use sets it.
            refreshed = attributed_practices_refresh(plan_id=plan.pk)
    if added or refreshed:  # fresh statistics and visibility map (the counts are index-only scans)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) caregaps_caregap")
    generation = Generation(added, on_the_gap.count(), bench_gaps.count(), time.perf_counter() - started)
    if generation.practice_open < GAPS_PRACTICE or generation.total < GAPS_TOTAL:
        raise BenchError(f"Only {generation.practice_open:,} / {generation.total:,} gaps; build a bigger plan.")
    return generation


def _export(client, url: str) -> tuple[int, float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url)
    if response.status_code != 200 or not response.streaming:
        raise BenchError(f"GET {url} answered {response.status_code} (streaming: {response.streaming})")
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, seconds, peak / 1e6


def run(*, requests: int, warmup: int, say: Callable[[str], None]) -> tuple[list[PageResult], list[ExportResult]]:
    clients = {user: _client(user) for user in (PRACTICE_USER, PLAN_USER)}
    pages = []
    for user, who in ((PRACTICE_USER, "practice"), (PLAN_USER, "plan cm")):
        for size in SIZES:
            for label, query in (("report", ""), ("report, BCS still to close", "&measure=BCS&status=open")):
                name = f"{label}, size {size} ({who})"
                url = f"/care-gaps/?size={size}{query}"
                shown = clients[user].get(url).content.decode().count("data-gap=")
                if shown != size:  # a fast page of nothing would prove nothing
                    raise BenchError(f"{url} as {user} shows {shown} gaps, not {size}")
                scenario = Scenario(name, "list", user, [url])
                result = measure(clients[user], scenario, requests=requests, warmup=warmup)
                say(f"  {name:<48} median {sorted(result.timings_ms)[len(result.timings_ms) // 2]:8.1f} ms")
                pages.append(PageResult(name, size, result))
    exports = []
    for name, url in (
        ("export, the whole plan (plan cm)", "/care-gaps/export.csv"),
        ("export, one measure (plan cm)", "/care-gaps/export.csv?measure=BCS"),
    ):
        rows, seconds, peak = _export(clients[PLAN_USER], url)
        say(f"  {name:<48} {rows:,} rows in {seconds:.1f}s, peak {peak:.1f} MB")
        exports.append(ExportResult(name, rows, seconds, peak))
    return pages, exports
