"""CareCoord benchmark: member list, search, summary and roster import at a million members.

Run from the project folder with ``python -m bench`` (or ``make bench``); ``--help`` lists the
options. It works in its own database (``carecoord_bench``, or ``BENCH_DATABASE_URL``), built with
the project's own ``seed_demo`` command, so the developer's demo data is never touched.
"""
