"""Real services for tests that need more than the database: a private Redis server (so a test
can restart it and lose its queue) and real Celery worker and beat processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def row_locked(table: str, row_id: int) -> Iterator[None]:
    """While the block runs, another connection holds `SELECT … FOR UPDATE` on one row, as a
    person's transaction (or another worker) would. Needs a transactional test."""
    from django.db import connections

    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [row_id])
                locked.set()
                release.wait(20)
                cursor.execute("ROLLBACK")
        finally:
            locked.set()
            conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


def wait_for(predicate: Callable[[], object], *, timeout: float = 30, interval: float = 0.1, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


class RedisServer:
    """A redis-server of our own on a free port, keeping nothing on disk: a restart loses
    every queued message, as a crashed production Redis without persistence would."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; the reliability tests start their own Redis")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="redis to answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()


class CeleryProcess:
    """`celery worker` or `celery beat` in its own process group, so SIGKILL takes all of it."""

    def __init__(
        self, kind: str, env: dict[str, str], app: str = "tests.reliability.worker_app", *, concurrency: int = 1
    ) -> None:
        self.kind = kind
        self.workdir = Path(tempfile.mkdtemp(prefix=f"celery-{kind}-"))
        self.log_path = self.workdir / "output.log"
        self._log_handle = self.log_path.open("wb")  # closed in stop()
        if kind == "worker":
            args = [
                "worker",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ]
        else:
            args = ["beat", "-l", "info", "--schedule", str(self.workdir / "beat-schedule")]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", app, *args],
            cwd=ROOT,
            env=env,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        marker = "ready." if self.kind == "worker" else "beat: Starting"
        wait_for(
            lambda: marker in self.output() or self.process.poll() is not None,
            timeout=timeout,
            what=f"celery {self.kind} to start",
        )
        if self.process.poll() is not None:
            raise AssertionError(f"celery {self.kind} exited:\n{self.output()[-3000:]}")

    def sigkill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.sigkill()
        self._log_handle.close()


def two_sweeps_at_once(limit: int = 1000) -> list[int]:
    """Run core.deadlines.sweep() in two threads, each with its own database connection, released
    together; returns how many rows each claimed."""
    import threading

    from django.db import close_old_connections, connection

    from core import deadlines

    claimed: list[int] = []
    barrier = threading.Barrier(2)

    def sweep_in_own_connection() -> None:
        close_old_connections()
        barrier.wait()
        claimed.append(deadlines.sweep(limit=limit))
        connection.close()

    threads = [threading.Thread(target=sweep_in_own_connection) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return claimed
