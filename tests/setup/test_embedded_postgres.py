"""`make run` on a machine without PostgreSQL uses an embedded server (pgserver), which ships
without the pg_trgm and btree_gist extensions. The migrations and the demo must work there."""

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

pgserver = pytest.importorskip("pgserver", reason="pgserver has no wheels for this Python")  # see pyproject


def test_migrations_demo_and_search_work_on_the_embedded_server(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import services

    server = pgserver.get_server(tmp_path / "pgdata", cleanup_mode="delete")
    try:
        socket_dir = server.get_uri().split("host=", 1)[1].split("&", 1)[0]
        from urllib.parse import quote

        url = f"postgres://postgres@{quote(socket_dir, safe='')}/carecoord"
        services._ensure_database(url)
        env = {**os.environ, "DATABASE_URL": url, "CARECOORD_VAR_DIR": str(tmp_path / "var")}

        def manage(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stderr[-3000:]
            return done.stdout

        manage("migrate", "--no-input", "-v", "0")
        assert "prairie-cm" in manage("seed_demo", "--members", "30")
        found = manage(
            "shell",
            "-c",
            (
                "from members import search; from members.models import Member; "
                "print(search.has_trigram(), [m.member_number for m in search.search("
                "Member.objects.all(), search.parse('maria gonzales'))])"
            ),
        )
        assert found.strip().splitlines()[-1] == "False ['PHP9000001']"
    finally:
        server.cleanup()
