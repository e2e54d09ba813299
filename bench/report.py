"""Statistics, targets and verdicts, and the plain-text tables. Verdicts come from the numbers."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

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
