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
4. Tops the plan up to 200,000 referrals (generated set-based in SQL, kept for the next run),
   then times the referral queue page (first page, a deep page, two filtered pages) and the
   referrals API at page sizes 25 and 100, the same way, each beside the same page fetched by
   one hand-written SQL query: that SELECT alone, and the same page served from it through the
   same sign-in, middleware and template or JSON (bench/raw_pages.py, checked to show the very
   same rows and counts).
5. Tops the plan up to 500 care managers (bench-cm-0001 ...), 100,000 active enrollments spread
   unevenly over them and 150,000 open worklist tasks (generated set-based in SQL, kept for the
   next run), then times, signed in as prairie-supervisor, the caseload dashboard (all care
   managers; a 10-person team; team North; program and credential filters) and the caseload
   (reassignment) page of the care manager nearest 400 members and of the smallest caseload.
6. Makes (once, through careplans.services, kept for the next run) the care plan of one Prairie
   member with 200 items and of another with 10 (problems, goals and interventions in the three
   domains, shareable and plan-internal, some owned or added by the practice) and a release naming
   the members' practice for care coordination; then times, as prairie-cm and as
   shared-practice-contact, the care-plan page, the API detail, the printable page and the PDF.
7. Loads a generated 100,000-row roster with members.roster.load() inside the plan, twice
   (new members, then "nothing changed"), and reports rows/second.
8. ADT in (bench/adt_ingest.py): inpatient stays of Prairie members (A01, A08, A03, the member
   id in IN1 and PID-3) sent as the demo hospital's feed over HTTP (test client; one message per
   request, then batches) and over MLLP (the real `mllp_listen` in a subprocess, DEBUG off; one
   connection, then several at once to one process and to --mllp-processes processes), reported
   as messages/second; then the same kind of messages through
   the service in-process with parse, match and apply timed and queries counted per message.
9. Deadlines (bench/deadline_sweep.py): generates discharges with 100,000 due transition-step
   deadlines (set-based SQL, a fresh tag each run), starts a private Redis and one
   `celery worker -c 2`, sends it the sweep task, and times until every deadline is finished
   (each acted on by the real handler); then counts the effects (each step missed once, one
   task per plan step, no notice twice).
10. Care gaps (bench/care_gaps.py): tops the plan up to 100,000 open gaps (20,000 of them for
   Riverbend's patients; set-based SQL, kept), times the gap report as shared-practice-contact
   and prairie-cm at page sizes 25 and 100, and reads the CSV export of the whole plan and of one
   measure to the end, with its time and tracemalloc peak.
11. Community resources (bench/resources.py): tops the plan's directory up to 50,000 services
   (set-based SQL, kept), then times the resource search as prairie-cm and shared-practice-contact
   by need, need + ZIP code, and need + ZIP code + language; then tops Heartland's referral inbox
   up to 100,000 referrals and times it as community-staff at page sizes 25 and 100.

Targets: list and search median under 30 ms, with a query count that does not grow with page
size; referral queue and API median under 30 ms, within 3x of the same page served from raw SQL,
queries flat across page sizes; caseload dashboard median under 100 ms at every filter, its
query count the same for 10 and for 500 care managers (and the caseload page's the same for a small and a
400-member caseload); care-plan page and API detail median under 100 ms (the issue gives no time
for it; the printable page and PDF are timed but not judged), the query count of the page, API,
printable page and PDF the same for the 10- and the 200-item plan; roster import at least 20,000
rows/s; ADT over MLLP at least 500 messages/s; 100,000 due deadlines swept and acted on by one worker
in under 2 minutes; gap report median under 50 ms with queries fixed across page sizes; the gap
export in constant memory (the whole plan's peak within 2x of a tenth's). Exit status is 0 (it is a
report) unless --strict.
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
    p.add_argument(
        "--referrals",
        type=_positive,
        default=200_000,
        metavar="N",
        help="referrals of Prairie Health Plan to top up to before measuring the queue (default 200,000; "
        "existing ones are counted, never deleted)",
    )
    p.add_argument(
        "--care-managers",
        type=_positive,
        default=500,
        metavar="N",
        help="care managers of Prairie Health Plan (bench-cm-0001 ...) to top up to before measuring the caseload "
        "dashboard (default 500; existing ones are counted, never deleted)",
    )
    p.add_argument(
        "--enrollments",
        type=_positive,
        default=100_000,
        metavar="N",
        help="active enrollments of those care managers to top up to (default 100,000)",
    )
    p.add_argument(
        "--tasks",
        type=_positive,
        default=150_000,
        metavar="N",
        help="open worklist tasks of those care managers to top up to (default 150,000)",
    )
    p.add_argument("--skip-web", action="store_true", help="skip the member page and API measurements")
    p.add_argument(
        "--skip-referrals", action="store_true", help="skip generating referrals and the referral queue measurements"
    )
    p.add_argument(
        "--skip-caseloads",
        action="store_true",
        help="skip generating care managers, enrollments and tasks and the caseload dashboard measurements",
    )
    p.add_argument(
        "--skip-careplans",
        action="store_true",
        help="skip making the bench care plans and the care-plan page measurements",
    )
    p.add_argument("--skip-import", action="store_true", help="skip the roster import measurement")
    p.add_argument(
        "--adt-messages",
        type=_positive,
        default=1_500,
        metavar="N",
        help="ADT messages per transport measurement (a multiple of 3: A01, A08, A03 per stay; default 1,500). "
        "Six sets of N are sent (HTTP single, HTTP batches, MLLP one connection, MLLP several on one process and "
        "on --mllp-processes, in-process split), each to its own members: the plan needs 2N attributed members",
    )
    p.add_argument(
        "--mllp-workers", type=_positive, default=4, metavar="N", help="mllp_listen --workers (default 4, its default)"
    )
    p.add_argument(
        "--mllp-processes",
        type=_positive,
        default=min(len(os.sched_getaffinity(0)), 4),  # the cores this process may use; 4 connections
        metavar="N",
        help="mllp_listen --processes for the second several-connection row (default: one per core, at most 4)",
    )
    p.add_argument("--skip-adt", action="store_true", help="skip the ADT ingest measurements")
    p.add_argument(
        "--deadlines",
        type=_positive,
        default=100_000,
        metavar="N",
        help="due deadlines to generate and have one worker act on (a multiple of 5; default 100,000)",
    )
    p.add_argument(
        "--worker-concurrency",
        type=_positive,
        default=2,
        metavar="N",
        help="the worker's -c (default 2, as make run and docker-compose run it)",
    )
    p.add_argument(
        "--deadline-timeout",
        type=_positive,
        default=1800,
        metavar="SECONDS",
        help="give up on the deadline measurement after this long (default 1800)",
    )
    p.add_argument("--skip-deadlines", action="store_true", help="skip the deadline sweep measurement")
    p.add_argument("--skip-caregaps", action="store_true", help="skip the care-gap report and export measurements")
    p.add_argument("--skip-resources", action="store_true", help="skip the community resource search measurement")
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
    from bench import (
        adt_ingest,
        care_gaps,
        care_plan_page,
        caseload_dashboard,
        deadline_sweep,
        explain,
        referral_queue,
        report,
        resources,
        roster_import,
        web,
    )

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
    referral_results: list = []
    generation = None
    caseload_generation = None
    caseload_results: list = []
    careplan_generation = None
    careplan_results: list = []
    imported = None
    ingest = None
    swept = None
    gap_generation = None
    gap_pages: list = []
    gap_exports: list = []
    resource_generation = None
    resource_pages: list = []
    inbox_total = 0
    inbox_pages: list = []
    try:
        if not args.skip_web:
            say("Measuring pages and API ...")
            measurements = web.run(members=args.members, requests=args.requests, warmup=args.warmup, say=say)
        if not args.skip_referrals:
            generation = referral_queue.ensure_referrals(target=args.referrals, say=say)
            say("Measuring the referral queue and API ...")
            referral_results = referral_queue.run(requests=args.requests, warmup=args.warmup, say=say)
        if not args.skip_caseloads:
            caseload_generation = caseload_dashboard.ensure_caseloads(
                care_managers=args.care_managers, enrollments=args.enrollments, tasks=args.tasks, say=say
            )
            say("Measuring the caseload dashboard and a caseload page ...")
            caseload_results = caseload_dashboard.run(requests=args.requests, warmup=args.warmup, say=say)
        if not args.skip_careplans:
            careplan_generation = care_plan_page.ensure_care_plans(say=say)
            say("Measuring the care-plan page, API, printable page and PDF ...")
            careplan_results = care_plan_page.run(
                careplan_generation, requests=args.requests, warmup=args.warmup, say=say
            )
        if not args.skip_import:
            say("Measuring roster import ...")
            imported = roster_import.run(rows=args.import_rows, keep=args.keep_import_members, say=say)
        if not args.skip_adt:
            say("Measuring ADT ingest ...")
            ingest = adt_ingest.run(
                count=args.adt_messages,
                listener_workers=args.mllp_workers,
                listener_processes=args.mllp_processes,
                say=say,
            )
        if not args.skip_deadlines:
            say("Measuring the deadline sweep ...")
            swept = deadline_sweep.run(
                deadlines=args.deadlines, concurrency=args.worker_concurrency, timeout=args.deadline_timeout, say=say
            )
        if not args.skip_caregaps:
            gap_generation = care_gaps.ensure_gaps(say=say)
            say("Measuring the care-gap report and export ...")
            gap_pages, gap_exports = care_gaps.run(requests=args.requests, warmup=args.warmup, say=say)
        if not args.skip_resources:
            resource_generation = resources.ensure_services(say=say)
            say("Measuring the community resource search ...")
            resource_pages = resources.run(requests=args.requests, warmup=args.warmup, say=say)
            inbox_total = resources.ensure_referrals(say=say)
            say("Measuring the community organization's referral inbox ...")
            inbox_pages = resources.run_inbox(requests=args.requests, warmup=args.warmup, say=say)
    except environment.BenchError as exc:
        say(f"bench: {exc}")
        return 2

    table_rows = report.rows(measurements)
    missed = [row for row in table_rows if row.missed]
    import_missed = report.import_missed(imported) if imported else []
    referral_rows = report.referral_rows(referral_results)
    caseload_rows = report.caseload_rows(caseload_results)
    careplan_rows = report.careplan_rows(careplan_results)

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
    if generation:
        print()
        print(_referral_header(generation))
        if referral_rows:
            print()
            print(report.referral_table(referral_rows))
    if caseload_generation:
        print()
        print(_caseload_header(caseload_generation, args))
        if caseload_rows:
            print()
            print(report.caseload_table(caseload_rows))
    if careplan_generation:
        print()
        print(_careplan_header(careplan_generation))
        if careplan_rows:
            print()
            print(report.careplan_table(careplan_rows))
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
    if ingest:
        print()
        print(report.ingest_header(ingest))
        print()
        print(report.ingest_table(ingest))
        print()
        print(report.ingest_split_table(ingest))
    if swept:
        print()
        print(report.sweep_header(swept))
        print()
        print(report.sweep_table(swept))
    if gap_generation:
        print()
        print(
            f"Care gaps: {gap_generation.total:,} open bench gaps in {environment.PLAN_NAME}, "
            f"{gap_generation.practice_open:,} of them for {care_gaps.PRACTICE_NAME}'s patients "
            f"({gap_generation.added:,} generated this run in {gap_generation.seconds:.1f}s)."
        )
        print()
        print(report.gap_page_table(gap_pages))
        print()
        print(report.gap_export_table(gap_exports))
    if resource_generation:
        print()
        print(
            f"Community resources: {resource_generation.total:,} services in {environment.PLAN_NAME}'s directory "
            f"({resource_generation.added:,} generated this run in {resource_generation.seconds:.1f}s)."
        )
        print()
        print(report.resource_table(resource_pages))
        print()
        print(f"Community referral inbox: {inbox_total:,} referrals sent to Heartland Food & Housing Network.")
        print()
        print(report.inbox_table(inbox_pages))
    if web.DOUBLED_QUESTION_MARK:
        print()
        print(
            f'Note: the rel="next" links of {", ".join(sorted(web.DOUBLED_QUESTION_MARK))} start with "??" '
            '(templates/includes/pager.html writes "?" before {% querystring %}, which already begins with one): '
            "a browser following them loses the first parameter (the cursor on an unfiltered list, so Next shows "
            "page 1 again). The benchmark follows the cursor itself, so deep pages are deep pages."
        )
    print()
    print(
        f"Targets: list and search median < {report.LIST_MEDIAN_MS:g} ms with a query count that does not grow "
        f"with page size; referral queue and API median < {report.LIST_MEDIAN_MS:g} ms, <= {report.RAW_RATIO:g}x "
        f"the same page served from raw SQL, queries flat across page sizes; caseload dashboard median < "
        f"{report.DASHBOARD_MEDIAN_MS:g} ms, queries fixed (the same for 10 and 500 care managers, for a small and "
        f"a big caseload); care-plan page and API detail median < {report.CAREPLAN_MEDIAN_MS:g} ms, queries "
        "fixed (page, API, printable page and PDF: the same for 10 and 200 items); roster import >= "
        f"{report.IMPORT_ROWS_PER_SECOND:,} rows/s; ADT over MLLP >= {report.MLLP_PER_SECOND} messages/s; "
        f"{report.SWEEP_DEADLINES:,} deadlines acted on in < {report.SWEEP_SECONDS} s."
    )
    total_missed = (
        len(missed)
        + sum(import_missed)
        + report.referral_missed(referral_rows)
        + report.sized_missed(caseload_rows)
        + report.sized_missed(careplan_rows)
        + (report.ingest_missed(ingest) if ingest else 0)
        + (report.sweep_missed(swept) if swept else 0)
        + (report.gap_missed(gap_pages, gap_exports) if gap_generation else 0)
        + (report.resource_missed(resource_pages) + report.inbox_missed(inbox_pages) if resource_generation else 0)
    )
    print(f"Result: {'all targets met' if not total_missed else f'{total_missed} target(s) MISSED'}.")
    print(
        f"Machine: {os.cpu_count()} CPUs; 1-minute load average {load_before:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end (other work running beside the benchmark skews the timings). "
        f"Benchmark wall time {time.perf_counter() - started:.0f}s."
    )

    missed_referrals = [row for row in referral_rows if row.missed]
    missed_caseloads = [row for row in caseload_rows if row.missed]
    missed_careplans = [row for row in careplan_rows if row.missed]
    missed_gaps = [p for p in gap_pages if report.median(p.measurement.timings_ms) >= report.GAP_PAGE_MEDIAN_MS]
    if args.explain and (missed or missed_referrals or missed_caseloads or missed_careplans or missed_gaps):
        print()
        for row in [*missed, *missed_referrals, *missed_caseloads, *missed_careplans, *missed_gaps]:
            print(explain.report(row.measurement))
    return 1 if args.strict and total_missed else 0


def _referral_header(generation) -> str:
    from bench import referral_queue, web

    statuses = ", ".join(
        f"{status} {generation.by_status.get(status, 0):,}"
        for status in (*referral_queue.OPEN_STATUSES, *referral_queue.CLOSED_STATUSES, "linked")
    )
    if generation.added:
        made = (
            f"{generation.added:,} generated this run in {generation.seconds:.1f}s (set-based INSERT ... SELECT; "
            f"then VACUUM (ANALYZE), {generation.vacuum_seconds:.1f}s, not counted)"
        )
    else:
        made = "reused from an earlier run"
    sizes = " and ".join(str(size) for size in referral_queue.SIZES)
    return "\n".join(
        [
            f"Referral queue: {environment.PLAN_NAME}, {generation.total:,} referrals ({generation.open:,} open); "
            f"{made}.",
            f"By status: {statuses}. No enrollments, events, deadlines or audit rows were generated (the queue "
            "reads none of them).",
            f"Page sizes {sizes} (queue ?size=, API ?page_size=); deep pages reached by following the next cursor "
            f"{web.DEEP_HOPS} times. Raw SQL: for each page one hand-written SELECT (the page's columns, member, "
            "practice and assignee by joins, the page's filters, ORDER BY queue_rank, submitted_at, id LIMIT n + 1; "
            'for the queue page also the per-status counts, by UNION ALL). "SELECT alone": that query through the '
            'connection\'s cursor, execute + fetchall. "Raw-SQL page": the same request served from it '
            "(bench/raw_pages.py: same sign-in, middleware, permission check and template or JSON; checked to show "
            "the same rows and counts), timed as the page is; the target ratio is to this. "
            "SQL ms: time of the page's own queries in the counting pass.",
        ]
    )


def _caseload_header(generation, args) -> str:
    from bench import caseload_dashboard

    def mix(counts: dict[str, int]) -> str:
        return ", ".join(f"{key or '(none)'} {value:,}" for key, value in counts.items())

    total = generation.total
    if generation.added:
        made = (
            f"{generation.created['care_managers']:,} care managers, {generation.created['enrollments']:,} "
            f"enrollments and {generation.created['tasks']:,} tasks generated this run in {generation.seconds:.1f}s "
            f"(set-based INSERT ... SELECT; then VACUUM (ANALYZE), {generation.vacuum_seconds:.1f}s, not counted)"
        )
    else:
        made = "reused from an earlier run"
    return "\n".join(
        [
            f"Caseloads: {environment.PLAN_NAME}, {total['care_managers']:,} bench care managers "
            f"({caseload_dashboard.USER_PREFIX}0001 ...) with {total['enrollments']:,} active enrollments and "
            f"{total['tasks']:,} open tasks ({generation.overdue:,} overdue); {made}.",
            f"Roles: {mix(generation.by_role)}. Teams: {mix(generation.by_team)}.",
            f"Programs: {mix(generation.by_program)}. Acuity: {mix(generation.by_acuity)}.",
            "No enrollment events, audit rows or notifications were generated (the dashboard reads none of them). "
            f"Signed in as {caseload_dashboard.SUPERVISOR}; rows: care managers listed (dashboard) or members listed "
            "(caseload page), checked against the database. SQL ms: time of the page's own queries in the "
            "counting pass.",
        ]
    )


def _careplan_header(generation) -> str:
    from bench import care_plan_page

    def plan_line(p) -> str:
        made = f"{p.created} items made this run" if p.created else "reused from an earlier run"
        released = "; a release naming the practice was recorded this run" if p.release_recorded else ""
        mix = ", ".join(f"{n} {kind}" for kind, n in p.items.items())
        shared = ", ".join(f"{n} {kind}" for kind, n in p.shared.items())
        return f"{p.size}-item plan of {p.member_number}: {mix}; the practice sees {shared} ({made}{released})."

    return "\n".join(
        [
            f"Care plans: {environment.PLAN_NAME}, members attributed to {generation.practice} under a release "
            f"for care coordination; made through careplans.services ({generation.created} service calls this "
            f"run, {generation.seconds:.1f}s, not counted).",
            *(plan_line(p) for p in generation.plans),
            f"Signed in as {care_plan_page.PLAN_USER} (plan cm) and {care_plan_page.PRACTICE_USER} (practice); items: "
            "problems + goals + interventions in the response (page, API; checked against what the viewer may "
            "see), or what the viewer may see (printable page, PDF). SQL ms: time of the request's own queries "
            "in the counting pass. Every request writes its audit row (a read, or an export for print and PDF).",
        ]
    )
