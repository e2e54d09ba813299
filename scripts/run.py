"""`make run`: make sure the database and broker are there, migrate, build the demo world, then
run the web app, a Celery worker, Celery beat and the MLLP listener together until Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import services
from honcho.manager import Manager

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
MLLP_PORT = os.environ.get("MLLP_PORT", "2575")


def main() -> int:
    extra = services.prepare()
    if extra is None:
        return 1
    env = {**os.environ, **extra, "PYTHONUNBUFFERED": "1"}
    env.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    (ROOT / "var").mkdir(exist_ok=True)
    for step in (["migrate", "--no-input", "-v", "0"], ["seed_demo"]):
        print(f"$ manage.py {' '.join(step)}", flush=True)
        done = subprocess.run([PY, "manage.py", *step], cwd=ROOT, env=env)
        if done.returncode:
            return done.returncode
    print(f"\nCareCoord is starting at http://{HOST}:{PORT}/  (Ctrl-C stops everything)\n", flush=True)
    manager = Manager()
    manager.add_process("web", f"{PY} manage.py runserver {HOST}:{PORT}", cwd=str(ROOT), env=env)
    manager.add_process("worker", f"{PY} -m celery -A carecoord worker -l info -c 2", cwd=str(ROOT), env=env)
    manager.add_process(
        "beat",
        f"{PY} -m celery -A carecoord beat -l info --schedule {ROOT / 'var' / 'celerybeat-schedule'}",
        cwd=str(ROOT),
        env=env,
    )
    # HL7 ADT over MLLP (README "ADT in"), on this machine only: MLLP carries no credentials.
    manager.add_process("mllp", f"{PY} manage.py mllp_listen --host {HOST} --port {MLLP_PORT}", cwd=str(ROOT), env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
