"""Statistics, targets and verdicts, and the plain-text tables. Verdicts come from the numbers."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.adt_ingest import IngestRun
from bench.care_gaps import ExportResult, PageResult
from bench.care_plan_page import Result as CarePlanResult
from bench.caseload_dashboard import Result as CaseloadResult
from bench.deadline_sweep import SweepRun
from bench.referral_queue import Result as ReferralResult
from bench.roster_import import ImportRun
from bench.web import Measurement

LIST_MEDIAN_MS = 30.0  # list and search pages, median
IMPORT_ROWS_PER_SECOND = 20_000
OK, MISSED, NONE = "ok", "MISSED", "-"


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


def queries_label(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"


@dataclass(frozen=True)
class Row:
    measurement: Measurement
    target: str
    verdict: str

    @property
    def missed(self) -> bool:
        return self.verdict == MISSED


def _queries_flat(sizes: list[Measurement]) -> bool:
    """The same baseline query count (the fewest seen, so an occasional session write does not
    count) at every page size, and no more at the largest page than at the smallest."""
    baselines = [min(m.query_counts) for m in sizes]
    return len(set(baselines)) == 1 and max(sizes[-1].query_counts) <= max(sizes[0].query_counts)


def rows(measurements: list[Measurement]) -> list[Row]:
    sizes = [m for m in measurements if m.scenario.kind == "size"]
    flat = _queries_flat(sizes) if sizes else True
    result = []
    for m in measurements:
        kind = m.scenario.kind
        if kind in ("list", "search"):
            target = f"median < {LIST_MEDIAN_MS:g} ms"
            verdict = OK if median(m.timings_ms) < LIST_MEDIAN_MS else MISSED
        elif kind == "size":
            target = "queries flat"
            verdict = OK if flat else MISSED
        else:
            target, verdict = NONE, NONE
        result.append(Row(m, target, verdict))
    return result


def import_missed(run: ImportRun) -> list[bool]:
    return [load.rows_per_second < IMPORT_ROWS_PER_SECOND for load in run.loads]


def _table(headers: list[str], body: list[list[str]], right: set[int]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *body, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(cell).rjust(width) if i in right else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(cells) for cells in body)])


def web_table(table_rows: list[Row]) -> str:
    body = [
        [
            row.measurement.scenario.name,
            f"{median(row.measurement.timings_ms):.1f}",
            f"{p95(row.measurement.timings_ms):.1f}",
            queries_label(row.measurement.query_counts),
            row.target,
            row.verdict,
        ]
        for row in table_rows
    ]
    return _table(["scenario", "median ms", "p95 ms", "queries", "target", "verdict"], body, right={1, 2, 3})


def import_table(run: ImportRun) -> str:
    body = [
        [
            load.label,
            f"{load.rows:,}",
            f"{load.checking_seconds:.1f}",
            f"{load.applying_seconds:.1f}",
            f"{load.seconds:.1f}",
            f"{load.created:,}/{load.updated:,}/{load.unchanged:,}",
            f"{load.rows_per_second:,.0f}",
            f">= {IMPORT_ROWS_PER_SECOND:,}",
            MISSED if missed else OK,
        ]
        for load, missed in zip(run.loads, import_missed(run), strict=True)
    ]
    headers = ["roster import", "rows", "check+COPY s", "apply s", "total s", "new/upd/same", "rows/s", "target"]
    return _table([*headers, "verdict"], body, right={1, 2, 3, 4, 5, 6})


# The referral queue ---------------------------------------------------------------------------

RAW_RATIO = 3.0  # a page's median within this many times that of the same page served from raw SQL
REFERRAL_TARGETS = (f"median < {LIST_MEDIAN_MS:g} ms", f"<= {RAW_RATIO:g}x raw-SQL page", "queries flat")


@dataclass(frozen=True)
class ReferralRow:
    result: ReferralResult
    verdicts: tuple[str, str, str]  # one per REFERRAL_TARGETS

    @property
    def measurement(self) -> Measurement:
        return self.result.measurement

    @property
    def raw_page_ms(self) -> float:
        return median(self.result.raw_page.timings_ms)

    @property
    def ratio(self) -> float:
        """The page to the same page served from one hand-written SELECT (bench/raw_pages.py)."""
        return median(self.result.measurement.timings_ms) / self.raw_page_ms

    @property
    def select_ratio(self) -> float:
        """The page to that SELECT alone, outside any request."""
        return median(self.result.measurement.timings_ms) / median(self.result.raw_ms)

    @property
    def missed(self) -> int:
        return sum(verdict == MISSED for verdict in self.verdicts)


def referral_rows(results: list[ReferralResult]) -> list[ReferralRow]:
    """Median and ratio verdicts for every row; "queries flat" for the rows that have a partner at
    another page size (the same page and filters), judged over the pair smallest size first."""
    pairs: dict[str, list[ReferralResult]] = {}
    for result in results:
        if result.case.pair:
            pairs.setdefault(result.case.pair, []).append(result)
    flat = {
        pair: _queries_flat([r.measurement for r in sorted(members, key=lambda r: r.case.size)])
        for pair, members in pairs.items()
        if len(members) > 1
    }
    table_rows = []
    for result in results:
        page = median(result.measurement.timings_ms)
        fast = OK if page < LIST_MEDIAN_MS else MISSED
        near_raw = OK if page <= RAW_RATIO * median(result.raw_page.timings_ms) else MISSED
        pair_flat = flat.get(result.case.pair)
        queries = NONE if pair_flat is None else (OK if pair_flat else MISSED)
        table_rows.append(ReferralRow(result, (fast, near_raw, queries)))
    return table_rows


def referral_missed(table_rows: list[ReferralRow]) -> int:
    """Missed targets, a "queries flat" pair counted once."""
    missed = sum(row.verdicts[0] == MISSED for row in table_rows)
    missed += sum(row.verdicts[1] == MISSED for row in table_rows)
    missed += len({row.result.case.pair for row in table_rows if row.verdicts[2] == MISSED})
    return missed


def referral_table(table_rows: list[ReferralRow]) -> str:
    body = [
        [
            row.result.case.scenario.name,
            f"{median(row.measurement.timings_ms):.1f}",
            f"{p95(row.measurement.timings_ms):.1f}",
            queries_label(row.measurement.query_counts),
            f"{median(row.measurement.sql_ms):.1f}" if row.measurement.sql_ms else NONE,
            f"{row.raw_page_ms:.1f} ({queries_label(row.result.raw_page.query_counts)} q)",
            f"{row.ratio:.1f}x",
            f"{median(row.result.raw_ms):.2f}",
            f"{row.select_ratio:.1f}x",
            *row.verdicts,
        ]
        for row in table_rows
    ]
    headers = [
        "referral queue",
        "median ms",
        "p95 ms",
        "queries",
        "SQL ms",
        "raw-SQL page ms",
        "page/raw page",
        "SELECT alone ms",
        "page/SELECT",
    ]
    return _table([*headers, *REFERRAL_TARGETS], body, right=set(range(1, 9)))


# Pages measured at two sizes: the caseload dashboard, the care-plan page ---------------------------

DASHBOARD_MEDIAN_MS = 100.0
CASELOAD_TARGETS = (f"median < {DASHBOARD_MEDIAN_MS:g} ms", "queries fixed")
CAREPLAN_MEDIAN_MS = 100.0  # the care-plan page and the API detail, median, at any item count
CAREPLAN_TARGETS = (f"median < {CAREPLAN_MEDIAN_MS:g} ms", "queries fixed")


@dataclass(frozen=True)
class SizedRow:
    """One scenario of a page measured at several sizes (care managers listed, items shown)."""

    result: CaseloadResult | CarePlanResult
    verdicts: tuple[str, str]  # median target, queries fixed

    @property
    def measurement(self) -> Measurement:
        return self.result.measurement

    @property
    def missed(self) -> int:
        return sum(verdict == MISSED for verdict in self.verdicts)


def sized_rows(results: list, *, size: Callable[[object], int], median_ms: float) -> list[SizedRow]:
    """The median target for the timed scenarios; "queries fixed" judged over each group (one
    view as one user), smallest first: the same baseline count whatever the size."""
    groups: dict[str, list] = {}
    for result in results:
        groups.setdefault(result.case.group, []).append(result)
    fixed = {
        group: _queries_flat([r.measurement for r in sorted(members, key=size)])
        for group, members in groups.items()
        if len(members) > 1
    }
    table_rows = []
    for result in results:
        fast = NONE
        if result.case.timed:
            fast = OK if median(result.measurement.timings_ms) < median_ms else MISSED
        group_fixed = fixed.get(result.case.group)
        queries = NONE if group_fixed is None else (OK if group_fixed else MISSED)
        table_rows.append(SizedRow(result, (fast, queries)))
    return table_rows


def sized_missed(table_rows: list[SizedRow]) -> int:
    """Missed targets, a "queries fixed" group counted once."""
    missed = sum(row.verdicts[0] == MISSED for row in table_rows)
    missed += len({row.result.case.group for row in table_rows if row.verdicts[1] == MISSED})
    return missed


def sized_table(
    table_rows: list[SizedRow], *, title: str, count_header: str, seen: Callable[[object], int], targets: tuple
) -> str:
    body = [
        [
            row.result.case.scenario.name,
            f"{seen(row.result):,}",
            f"{median(row.measurement.timings_ms):.1f}",
            f"{p95(row.measurement.timings_ms):.1f}",
            queries_label(row.measurement.query_counts),
            f"{median(row.measurement.sql_ms):.1f}" if row.measurement.sql_ms else NONE,
            *row.verdicts,
        ]
        for row in table_rows
    ]
    headers = [title, count_header, "median ms", "p95 ms", "queries", "SQL ms"]
    return _table([*headers, *targets], body, right=set(range(1, 6)))


def caseload_rows(results: list[CaseloadResult]) -> list[SizedRow]:
    return sized_rows(results, size=lambda r: r.case.rows, median_ms=DASHBOARD_MEDIAN_MS)


def caseload_table(table_rows: list[SizedRow]) -> str:
    return sized_table(
        table_rows, title="caseloads", count_header="rows", seen=lambda r: r.rows_seen, targets=CASELOAD_TARGETS
    )


def careplan_rows(results: list[CarePlanResult]) -> list[SizedRow]:
    return sized_rows(results, size=lambda r: r.case.size, median_ms=CAREPLAN_MEDIAN_MS)


def careplan_table(table_rows: list[SizedRow]) -> str:
    return sized_table(
        table_rows, title="care plan", count_header="items", seen=lambda r: r.items_seen, targets=CAREPLAN_TARGETS
    )


# ADT in and the deadline sweep (issue 5) ----------------------------------------------------------

MLLP_PER_SECOND = 500  # messages/s over MLLP
SWEEP_DEADLINES = 100_000
SWEEP_SECONDS = 120  # for SWEEP_DEADLINES, one worker


def _mllp_verdict(name: str, per_second: float) -> tuple[str, str]:
    if name.startswith("MLLP"):
        return f">= {MLLP_PER_SECOND} msg/s", OK if per_second >= MLLP_PER_SECOND else MISSED
    return NONE, NONE


def ingest_missed(run: IngestRun) -> int:
    """The MLLP target is met when the listener reaches it on any of the connection counts."""
    mllp = [t.per_second for t in run.throughputs if t.name.startswith("MLLP")]
    return int(bool(mllp) and max(mllp) < MLLP_PER_SECOND)


def ingest_header(run: IngestRun) -> str:
    from bench import adt_ingest

    total = run.throughputs[0].messages if run.throughputs else 0
    return "\n".join(
        [
            f"ADT in: {total:,} messages per row (A01, A08, A03 of {total // 3:,} inpatient stays, one member each, "
            "member id in IN1 and PID-3; each A03 opens an episode with five deadlines), every ACK checked AA.",
            f"HTTP: test client in-process as {adt_ingest.INTERFACE_USER} (token). MLLP: manage.py mllp_listen "
            f"--workers {run.listener_workers} (--processes 1, then {run.listener_processes}) in a subprocess on "
            "loopback, DJANGO_DEBUG=0; each connection sends a message after the ACK of the one before. "
            "Split: transitions.services.adt_receive in-process, parts timed inside it.",
        ]
    )


def ingest_table(run: IngestRun) -> str:
    body = []
    for t in run.throughputs:
        target, verdict = _mllp_verdict(t.name, t.per_second)
        body.append(
            [
                t.name,
                f"{t.messages:,}",
                f"{t.seconds:.1f}",
                f"{t.per_second:,.0f}",
                f"{t.queries / t.messages:.1f}" if t.queries is not None else NONE,
                target,
                verdict,
            ]
        )
    headers = ["ADT ingest", "messages", "seconds", "msg/s", "queries/msg", "target", "verdict"]
    return _table(headers, body, right={1, 2, 3, 4})


def ingest_split_table(run: IngestRun) -> str:
    body = []
    for split in run.splits:
        med = split.med
        body.append(
            [
                split.event,
                f"{split.messages:,}",
                f"{med(split.total_ms):.2f}",
                f"{med(split.parse_ms):.2f}",
                f"{med(split.match_ms):.2f}",
                f"{med(split.apply_ms):.2f}",
                f"{split.rest_ms:.2f}",
                f"{statistics.median(split.queries):.0f}",
            ]
        )
    headers = ["in-process", "messages", "total ms", "parse ms", "match ms", "apply ms", "store+ack ms", "queries"]
    return _table(headers, body, right=set(range(1, 8)))


def sweep_missed(run: SweepRun) -> int:
    return int(_sweep_verdict(run) == MISSED)


def _sweep_verdict(run: SweepRun) -> str:
    """Judged at the target's size only; a smaller run is a rehearsal (its time is scaled, shown, not judged)."""
    if run.generated.deadlines < SWEEP_DEADLINES:
        return NONE
    ok = run.seconds < SWEEP_SECONDS and run.done == run.generated.deadlines and not run.noticed_twice
    return OK if ok else MISSED


def sweep_header(run: SweepRun) -> str:
    g = run.generated
    return "\n".join(
        [
            f"Deadlines: {g.deadlines:,} due transitions.step_due deadlines of {g.episodes:,} generated discharges "
            f"(tag {g.tag}; generated in {g.seconds:.1f}s, not counted), one celery worker -c {run.concurrency} on a "
            f"private Redis; clock from sending the sweep task to every deadline finished ({run.sweeps} sweep(s); "
            f"one hands over up to {run.sweep_row_limit:,}).",
            f"In-process first, one by one: {run.sample.deadlines} deadlines of the same kind, median "
            f"{run.sample.median_queries:.0f} queries and {run.sample.median_ms:.2f} ms each.",
            f"Effects: {run.missed_steps:,} of {run.steps:,} steps missed and told once; {run.tasks:,} worklist tasks; "
            f"{run.notices:,} overdue notices ({run.noticed_twice} sent twice); {run.escalations:,} escalations "
            f"scheduled. States: {', '.join(f'{k} {v:,}' for k, v in sorted(run.states.items()))}.",
        ]
    )


def sweep_table(run: SweepRun) -> str:
    target = f"{SWEEP_DEADLINES:,} in < {SWEEP_SECONDS} s"
    scaled = run.seconds * SWEEP_DEADLINES / run.generated.deadlines if run.generated.deadlines else 0.0
    body = [
        [
            "sweep and act, one worker",
            f"{run.generated.deadlines:,}",
            f"{run.seconds:.1f}",
            f"{run.per_second:,.0f}",
            f"{scaled:.1f}",
            f"{run.emails_seconds:.1f}",
            target,
            _sweep_verdict(run),
        ]
    ]
    headers = ["deadlines", "rows", "seconds", "per s", "s per 100k", "with emails s", "target", "verdict"]
    return _table(headers, body, right={1, 2, 3, 4, 5})


# Care gaps (issue 6) ------------------------------------------------------------------------------

GAP_PAGE_MEDIAN_MS = 50.0
GAP_EXPORT_PEAK_RATIO = 2.0  # the whole plan's export peak within this of a tenth's: constant memory


def _gap_fixed(pages: list[PageResult]) -> bool:
    by_name: dict[str, list[PageResult]] = {}
    for p in pages:
        by_name.setdefault(p.name.split(", size")[0] + p.name.rsplit("(", 1)[-1], []).append(p)
    return all(_queries_flat([p.measurement for p in sorted(g, key=lambda p: p.size)]) for g in by_name.values())


def _gap_export_constant(exports: list[ExportResult]) -> bool:
    peaks = [e.peak_mb for e in exports]
    return len(peaks) < 2 or max(peaks) <= GAP_EXPORT_PEAK_RATIO * max(min(peaks), 1.0)


def gap_missed(pages: list[PageResult], exports: list[ExportResult]) -> int:
    slow = sum(median(p.measurement.timings_ms) >= GAP_PAGE_MEDIAN_MS for p in pages)
    return slow + (not _gap_fixed(pages)) + (not _gap_export_constant(exports))


def gap_page_table(pages: list[PageResult]) -> str:
    fixed = OK if _gap_fixed(pages) else MISSED
    body = [
        [
            p.name,
            f"{median(p.measurement.timings_ms):.1f}",
            f"{p95(p.measurement.timings_ms):.1f}",
            queries_label(p.measurement.query_counts),
            f"{median(p.measurement.sql_ms):.1f}",
            OK if median(p.measurement.timings_ms) < GAP_PAGE_MEDIAN_MS else MISSED,
            fixed,
        ]
        for p in pages
    ]
    headers = ["care-gap report", "median ms", "p95 ms", "queries", "SQL ms", f"< {GAP_PAGE_MEDIAN_MS:g} ms"]
    return _table([*headers, "queries fixed"], body, right={1, 2, 3, 4})


RESOURCE_MEDIAN_MS = 30.0


def resource_table(pages: list[PageResult]) -> str:
    """Directory search: median under RESOURCE_MEDIAN_MS, the query count the same in every search."""
    counts = {c for p in pages for c in p.measurement.query_counts}
    body = [
        [
            p.name,
            f"{median(p.measurement.timings_ms):.1f}",
            f"{p95(p.measurement.timings_ms):.1f}",
            queries_label(p.measurement.query_counts),
            f"{median(p.measurement.sql_ms):.1f}",
            OK if median(p.measurement.timings_ms) < RESOURCE_MEDIAN_MS else MISSED,
        ]
        for p in pages
    ]
    headers = ["resource search", "median ms", "p95 ms", "queries", "SQL ms", f"< {RESOURCE_MEDIAN_MS:g} ms"]
    return _table(headers, body, right={1, 2, 3, 4}) + ("" if len(counts) <= 2 else "\n(query counts differ)")


def inbox_table(pages: list[PageResult]) -> str:
    """The community organization's inbox: the query count must not grow with the page size."""
    fixed = OK if len({c for p in pages for c in p.measurement.query_counts}) == 1 else MISSED
    body = [
        [
            p.name,
            f"{median(p.measurement.timings_ms):.1f}",
            f"{p95(p.measurement.timings_ms):.1f}",
            queries_label(p.measurement.query_counts),
            f"{median(p.measurement.sql_ms):.1f}",
            fixed,
        ]
        for p in pages
    ]
    return _table(
        ["referral inbox", "median ms", "p95 ms", "queries", "SQL ms", "queries fixed"], body, right={1, 2, 3, 4}
    )


def inbox_missed(pages: list[PageResult]) -> int:
    return 0 if len({c for p in pages for c in p.measurement.query_counts}) == 1 else 1


def resource_missed(pages: list[PageResult]) -> int:
    return sum(1 for p in pages if median(p.measurement.timings_ms) >= RESOURCE_MEDIAN_MS)


def gap_export_table(exports: list[ExportResult]) -> str:
    constant = OK if _gap_export_constant(exports) else MISSED
    body = [
        [e.name, f"{e.rows:,}", f"{e.seconds:.1f}", f"{e.rows / e.seconds:,.0f}", f"{e.peak_mb:.1f}", constant]
        for e in exports
    ]
    return _table(
        ["care-gap export", "rows", "seconds", "rows/s", "peak MB", "constant memory"], body, right={1, 2, 3, 4}
    )
