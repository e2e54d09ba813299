"""Find PostgreSQL and Redis for `make run` and `make test`, and say plainly what to do when
they are not there.

    services.py check      Both must answer at the configured addresses (the test suite needs
                           the real thing). Exit 1 with how to start whichever is down.

`prepare()` (called by scripts/run.py for `make run`) is `check` for the demo: where no PostgreSQL
server is installed at all it starts an embedded one (pgserver, data in var/pgdata) that lives as
long as the calling process; where no Redis is installed at all it falls back to kombu's
filesystem broker and an in-process cache. CARECOORD_EMBEDDED_SERVICES=1 takes both fallbacks
even where servers are installed (to try the demo without touching them).

Where a server is installed but stopped, nothing is started behind your back: the message says
how to start it.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/carecoord"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _postgres_installed() -> bool:
    if shutil.which("postgres") or shutil.which("pg_ctl") or shutil.which("pg_ctlcluster"):
        return True
    return any(Path("/usr/lib/postgresql").glob("*/bin/postgres"))


def _redis_installed() -> bool:
    return shutil.which("redis-server") is not None


def _postgres_hint(url) -> str:
    return (
        f"PostgreSQL is not answering at {url.hostname}:{url.port or 5432}.\n"
        "  Start it, for example:\n"
        "    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (Debian/Ubuntu)\n"
        "    brew services start postgresql                                           (macOS)\n"
        "  or set DATABASE_URL to a server that is running."
    )


def _redis_hint(url) -> str:
    return (
        f"Redis is not answering at {url.hostname}:{url.port or 6379}.\n"
        "  Start it, for example:\n"
        '    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n'
        "  or set REDIS_URL to a server that is running."
    )


def check() -> int:
    db = urlparse(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    redis = urlparse(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    problems = []
    if db.hostname and not db.hostname.startswith("%2F") and not _reachable(db.hostname, db.port or 5432):
        problems.append(_postgres_hint(db))
    if not _reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        problems.append(_redis_hint(redis))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}.", file=sys.stderr)


def prepare() -> dict[str, str] | None:
    """Where the demo's database and broker live: the environment to add, or None (and a message
    on stderr) when a server is installed but not running."""
    env: dict[str, str] = {}
    forced = os.environ.get("CARECOORD_EMBEDDED_SERVICES") == "1"
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    db = urlparse(database_url)
    if forced or not _reachable(db.hostname or "127.0.0.1", db.port or 5432):
        if not forced and (_postgres_installed() or "DATABASE_URL" in os.environ):
            print(_postgres_hint(db), file=sys.stderr)
            return None
        print(
            "Starting an embedded PostgreSQL (pgserver, data in var/pgdata): no server is installed here, "
            "or CARECOORD_EMBEDDED_SERVICES=1. Name search is less forgiving there (no pg_trgm).",
            file=sys.stderr,
        )
        database_url = start_embedded_postgres()
        env["DATABASE_URL"] = database_url
    _ensure_database(database_url)

    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    redis = urlparse(redis_url)
    if forced or not _reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        if not forced and (_redis_installed() or "REDIS_URL" in os.environ):
            print(_redis_hint(redis), file=sys.stderr)
            return None
        print(
            "Using kombu's filesystem broker (var/broker) and an in-process cache instead of Redis: none "
            "is installed here, or CARECOORD_EMBEDDED_SERVICES=1. Deadlines stay durable either way: "
            "they are database rows.",
            file=sys.stderr,
        )
        env["CELERY_BROKER_URL"] = "filesystem://"
        env["CACHE_URL"] = "locmem://"
    return env


_server = None


def start_embedded_postgres() -> str:
    """Start (or reuse) the embedded server and return a DATABASE_URL for it. The server lives as
    long as this process; scripts/run.py keeps it for the app's lifetime."""
    global _server
    try:
        import pgserver
    except ImportError:
        raise SystemExit(
            "The embedded PostgreSQL (pgserver) is not available for this Python. Install PostgreSQL "
            "or set DATABASE_URL to a server you can reach."
        ) from None

    data = VAR / "pgdata"
    data.parent.mkdir(parents=True, exist_ok=True)
    _server = pgserver.get_server(data, cleanup_mode="stop")
    socket_dir = urlparse(_server.get_uri()).query.split("host=", 1)[1].split("&", 1)[0]
    return f"postgres://postgres@{quote(socket_dir, safe='')}/carecoord"


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[1] == "check":
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
