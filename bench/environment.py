"""The benchmark's own world: its database (created if missing, migrated), its file storage, and
the million-member demo plan built by the project's own ``seed_demo``.

``configure()`` must run before anything imports Django settings: it points DATABASE_URL at the
benchmark database so the developer's database is never opened.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/carecoord_bench"
DEVELOPMENT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/carecoord"  # settings.py's default
BASE_DIR = Path(__file__).resolve().parent.parent
PLAN_NAME = "Prairie Health Plan"
IN_MEMORY_BROKER = "memory://localhost/"  # kombu's in-process transport (with a host, so it does not warn)
# Tables a big roster import or cleanup changes; vacuumed so measurements see a settled database.
MEMBER_TABLES = ("members_member", "members_eligibilityspan", "members_attribution")


class BenchError(RuntimeError):
    """The benchmark cannot go on (bad environment, unexpected response)."""


def _database_name(url: str) -> str:
    import dj_database_url

    return dj_database_url.parse(url)["NAME"]


def configure() -> str:
    """Put the benchmark's database URL and file storage in the environment; returns the URL."""
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    development = os.environ.get("DATABASE_URL") or DEVELOPMENT_DATABASE_URL
    if _database_name(url) == _database_name(development):
        raise BenchError(
            f"The benchmark database ({_database_name(url)}) is the development database; "
            "set BENCH_DATABASE_URL to another database."
        )
    os.environ["DATABASE_URL"] = url
    # Deadlines due at once are handed to the broker after commit. This process's broker is an
    # in-memory one, so none of its messages (ids of rows in the benchmark database) can reach a
    # developer's worker, which would look those ids up in its own database. The deadline-sweep
    # measurement starts a Redis and a worker of its own.
    os.environ["CELERY_BROKER_URL"] = IN_MEMORY_BROKER
    # seed_demo stores the roster file it imports; keep the big one out of the developer's var/.
    os.environ["CARECOORD_VAR_DIR"] = os.environ.get("BENCH_VAR_DIR") or str(BASE_DIR / "var" / "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecoord.settings")
    return url


def ensure_database(url: str) -> bool:
    """Create the database if it does not exist (through the server's `postgres` database).
    Returns True if it was created."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {
        key: value
        for key, value in (
            ("host", config.get("HOST")),
            ("port", config.get("PORT")),
            ("user", config.get("USER")),
            ("password", config.get("PASSWORD")),
        )
        if value
    }
    name = config["NAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def start_django() -> None:
    """django.setup(), DEBUG off for everything that follows, then migrate."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # With DEBUG on, every query goes through CursorDebugWrapper and is kept in
    # connection.queries; production runs with DEBUG off, so the measurements do too. (The
    # template engine is created lazily, after this, so it is built with debug off as well.)
    settings.DEBUG = False
    call_command("migrate", interactive=False, verbosity=0)


@dataclass(frozen=True)
class Build:
    built: bool
    seconds: float
    plan_members: int
    vacuum_seconds: float


def build_plan(members: int) -> Build:
    """seed_demo with a `members`-member Prairie plan. It skips a roster file it already applied,
    so a second run reuses the data (it still generates and hashes the file to find out)."""
    from django.core.management import call_command

    from members.models import Member, RosterImport
    from organizations.models import Organization

    succeeded = RosterImport.objects.filter(status=RosterImport.Status.SUCCEEDED)
    before = succeeded.count()
    started = time.perf_counter()
    call_command("seed_demo", members=members, quiet=True, stdout=io.StringIO())
    seconds = time.perf_counter() - started
    built = succeeded.count() > before
    # A reused plan may come from a run that stopped before its VACUUM: ANALYZE (a sample, a few
    # seconds) so the planner never measures on the statistics of an empty table.
    vacuum_seconds = vacuum_member_tables() if built else analyze_member_tables()
    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    return Build(
        built=built,
        seconds=seconds,
        plan_members=Member.objects.for_plan(plan.pk).count(),
        vacuum_seconds=vacuum_seconds,
    )


def vacuum_member_tables() -> float:
    """VACUUM (ANALYZE) what a bulk load changed: what autovacuum does a minute later anyway.
    Without it the first measurements would run on missing statistics and unset hint bits."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in MEMBER_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return time.perf_counter() - started


def analyze_member_tables() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in MEMBER_TABLES:
            cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - started


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]
