"""``python -m bench``: options, the phases in order, the report."""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench import environment

DESCRIPTION = """\
Benchmark CareCoord at scale, in its own database.

1. Uses postgres://postgres@127.0.0.1:5432/carecoord_bench (or BENCH_DATABASE_URL), never the
   development database; creates it if missing and runs migrate. Roster files go to var/bench/
   (or BENCH_VAR_DIR).
2. Builds the demo world with `seed_demo --members N` (a million-member Prairie Health Plan by
   default). seed_demo skips a roster it already applied, so a second run reuses the data.
3. Times, through Django's test client signed in as prairie-cm (plan care manager) and
   shared-practice-contact (practice contact): the member list (first page, a deep page
   reached by following "next" cursors, the API list), name / date-of-birth / member-id
   search, and the member summary. Each scenario: warm-up, timed requests with DEBUG off,
   then a separate pass that counts SQL queries. Audit writes are part of the cost.
4. Loads a generated 100,000-row roster with members.roster.load() inside the plan, twice
   (new members, then "nothing changed"), and reports rows/second.

Targets: list and search median under 30 ms, with a query count that does not grow with page
size; roster import at least 20,000 rows/s. Exit status is 0 (it is a report) unless --strict.
"""


def _positive(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--members",
        type=_positive,
        default=1_000_000,
        metavar="N",
        help="members of Prairie Health Plan to build with seed_demo (default 1,000,000; 50000 is a quick run). "
        "Members already in the benchmark database stay: building a smaller plan does not shrink it.",
    )
    p.add_argument(
        "--requests", type=_positive, default=30, metavar="N", help="timed requests per scenario (default 30)"
    )
    p.add_argument(
        "--warmup", type=_non_negative, default=3, metavar="N", help="warm-up requests per scenario (default 3)"
    )
    p.add_argument(
        "--import-rows",
        type=_positive,
        default=100_000,
        metavar="N",
        help="rows in the generated roster file for the import measurement (default 100,000)",
    )
    p.add_argument(
        "--keep-import-members",
        action="store_true",
        help="keep the members the import measurement creates (by default they are deleted again, so the plan "
        "stays the size seed_demo built; the next run deletes leftovers before measuring either way)",
    )
    p.add_argument("--skip-web", action="store_true", help="skip the page and API measurements")
    p.add_argument("--skip-import", action="store_true", help="skip the roster import measurement")
    p.add_argument(
        "--explain",
        action="store_true",
        help="for every scenario that missed its target, print EXPLAIN (ANALYZE, BUFFERS) of its slowest SELECTs",
    )
    p.add_argument("--strict", action="store_true", help="exit with status 1 if any target is missed")
    return p


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    try:
        url = environment.configure()
        created = environment.ensure_database(url)
        environment.start_django()
    except environment.BenchError as exc:
        say(f"bench: {exc}")
        return 2

    # Imported only now: Django is set up, with the benchmark database.
    from bench import explain, report, roster_import, web

    database = url.rsplit("/", 1)[-1]
    say(f"Database {database} ({'created' if created else 'exists'}), migrated.")
    say(f"Building the demo world with seed_demo --members {args.members:,} ...")
    build = environment.build_plan(args.members)
    if build.built:
        build_line = (
            f"built in {build.seconds:.1f}s with seed_demo --members {args.members:,}"
            f" (then VACUUM ANALYZE of the member tables, {build.vacuum_seconds:.1f}s, not counted)"
        )
    else:
        build_line = (
            f"reused (seed_demo found its roster already applied; generating and hashing it took {build.seconds:.1f}s)"
        )
    say(f"Plan {build_line}.")

    measurements: list = []
    imported = None
    try:
        if not args.skip_web:
            say("Measuring pages and API ...")
            measurements = web.run(members=args.members, requests=args.requests, warmup=args.warmup, say=say)
        if not args.skip_import:
            say("Measuring roster import ...")
            imported = roster_import.run(rows=args.import_rows, keep=args.keep_import_members, say=say)
    except environment.BenchError as exc:
        say(f"bench: {exc}")
        return 2

    table_rows = report.rows(measurements)
    missed = [row for row in table_rows if row.missed]
    import_missed = report.import_missed(imported) if imported else []

    print()
    print(f"CareCoord benchmark, {time.strftime('%Y-%m-%d %H:%M')}, PostgreSQL {environment.server_version()}")
    print(f"Database: {database}. {environment.PLAN_NAME}: {build.plan_members:,} members; {build_line}.")
    if measurements:
        print(
            f"Requests: Django test client in-process, DEBUG off; {args.warmup} warm-up + {args.requests} timed "
            f"requests per scenario; queries counted in a separate pass of {web.COUNT_PASSES} requests "
            "(min-max shown). Audit writes included."
        )
        print()
        print(report.web_table(table_rows))
    if imported:
        print()
        how = (
            f"{imported.removed_before:,} {roster_import.PREFIX} members left by an earlier run were deleted first"
            if imported.removed_before
            else f"no {roster_import.PREFIX} members existed before"
        )
        after = (
            "kept afterwards (--keep-import-members)"
            if imported.kept
            else f"the {imported.removed_after:,} created were deleted again afterwards"
        )
        print(
            f"Roster import: {imported.loads[0].rows:,} rows ({imported.file_bytes / 1e6:.1f} MB), member ids "
            f"{roster_import.PREFIX}0000001..., practices {' and '.join(roster_import.PRACTICE_NPIS)}, loaded with "
            f"members.roster.load() into {environment.PLAN_NAME}; {how}, so the first load creates them all; "
            f"{after} (not timed)."
        )
        print()
        print(report.import_table(imported))
    print()
    print(
        f"Targets: list and search median < {report.LIST_MEDIAN_MS:g} ms with a query count that does not grow "
        f"with page size; roster import >= {report.IMPORT_ROWS_PER_SECOND:,} rows/s."
    )
    total_missed = len(missed) + sum(import_missed)
    print(f"Result: {'all targets met' if not total_missed else f'{total_missed} target(s) MISSED'}.")
    print(
        f"Machine: {os.cpu_count()} CPUs; 1-minute load average {load_before:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end (other work running beside the benchmark skews the timings). "
        f"Benchmark wall time {time.perf_counter() - started:.0f}s."
    )

    if args.explain and missed:
        print()
        for row in missed:
            print(explain.report(row.measurement))
    return 1 if args.strict and total_missed else 0
