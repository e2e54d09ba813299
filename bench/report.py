"""Statistics, targets and verdicts, and the plain-text tables. Verdicts come from the numbers."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.care_plan_page import Result as CarePlanResult
from bench.caseload_dashboard import Result as CaseloadResult
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

RAW_RATIO = 3.0  # a page's median within this many times the raw SQL's median
REFERRAL_TARGETS = (f"median < {LIST_MEDIAN_MS:g} ms", f"<= {RAW_RATIO:g}x raw SQL", "queries flat")


@dataclass(frozen=True)
class ReferralRow:
    result: ReferralResult
    verdicts: tuple[str, str, str]  # one per REFERRAL_TARGETS

    @property
    def measurement(self) -> Measurement:
        return self.result.measurement

    @property
    def ratio(self) -> float:
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
        near_raw = OK if page <= RAW_RATIO * median(result.raw_ms) else MISSED
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
            f"{median(row.result.raw_ms):.2f}",
            f"{p95(row.result.raw_ms):.2f}",
            f"{row.ratio:.1f}x",
            *row.verdicts,
        ]
        for row in table_rows
    ]
    headers = ["referral queue", "median ms", "p95 ms", "queries", "SQL ms", "raw median", "raw p95", "page/raw"]
    return _table([*headers, *REFERRAL_TARGETS], body, right=set(range(1, 8)))


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
