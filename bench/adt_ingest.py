"""ADT ingest throughput over HTTP and over MLLP, with the cost split into parse, match and apply
(issue 5: "at least 500 messages/second over MLLP").

The messages: for each of N/3 Prairie members attributed to a practice, an inpatient stay as the
demo hospital's feed (STBRIGID) sends it: A01 admit, A08 update, A03 discharge (which opens the
transition episode with its five deadlines, the notices and the care-plan review prompt). Each
message carries the member id in IN1 (the plan's payer code) and PID-3, as a hospital that knows
the payer sends it. Every set of messages has its own tag in MSH-10 and PV1-19, so a second run
sends new stays rather than duplicates; what they make stays in the database.

* HTTP: Django's test client in-process, POST /api/v1/adt/messages/ with the interface account's
  token (stbrigid-adt), one message per request, then batches of BATCH messages per request.
* MLLP: the real `manage.py mllp_listen` in a subprocess on a free loopback port, run as in
  production (DJANGO_DEBUG=0); one connection sending each message after the previous ACK (as an
  interface engine sends one feed, in order), then CONNECTIONS connections at once, each with its
  own share of the messages, first to a listener of one process, then to one of PROCESSES
  processes (`--processes`: threads share one interpreter, processes use every core).
* Cost split: the same kind of messages through transitions.services.adt_receive in-process,
  timing hl7v2.parse, matching.match_patient and services._apply (the encounter and, for A03, the
  episode) inside it, and counting each message's SQL queries.

Every ACK is checked: anything but AA stops the benchmark.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.environment import BASE_DIR, PLAN_NAME, BenchError

EVENTS = ("A01", "A08", "A03")
BATCH = 100
CONNECTIONS = 4
INTERFACE_USER = "stbrigid-adt"


@dataclass
class Throughput:
    name: str
    messages: int
    seconds: float
    queries: int | None = None  # counted in-process (HTTP only)

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


@dataclass
class Split:
    """Per event: median ms of the whole adt_receive and of its parts, and median queries."""

    event: str
    messages: int
    total_ms: list[float] = field(default_factory=list)
    parse_ms: list[float] = field(default_factory=list)
    match_ms: list[float] = field(default_factory=list)
    apply_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    @property
    def rest_ms(self) -> float:
        """Feed lookup, duplicate check, storing the message, audit, ACK."""
        return self.med(self.total_ms) - self.med(self.parse_ms) - self.med(self.match_ms) - self.med(self.apply_ms)


@dataclass
class IngestRun:
    throughputs: list[Throughput]
    splits: list[Split]
    listener_workers: int
    listener_processes: int


def _members(n: int, offset: int):
    from members.models import Member
    from organizations.models import Organization

    plan = Organization.objects.get(kind=Organization.Kind.PLAN, name=PLAN_NAME)
    members = list(
        Member.objects.for_plan(plan.pk)
        .filter(attributions__end_date__isnull=True)
        .order_by("-id")
        .values("member_number", "last_name", "first_name", "date_of_birth", "sex")[offset : offset + n]
    )
    if len(members) < n:
        raise BenchError(f"{PLAN_NAME} has fewer than {offset + n:,} attributed members (--members).")
    return members


def _feed():
    from transitions.models import AdtFeed

    feed = AdtFeed.objects.filter(sending_facility="STBRIGID").prefetch_related("plans__plan").first()
    if feed is None:
        raise BenchError("No STBRIGID ADT feed (seed_demo makes it).")
    codes = {fp.plan.name: fp.payer_code for fp in feed.plans.all()}
    return feed, codes[PLAN_NAME]


def messages(*, count: int, tag: str, offset: int) -> list[bytes]:
    """`count` messages (a multiple of 3): A01, A08, A03 for count/3 members, in that order per member."""
    feed, payer = _feed()
    stays = _members(count // len(EVENTS), offset)
    out = []
    stamp = time.strftime("%Y%m%d%H%M%S")
    for n, m in enumerate(stays):
        visit = f"{tag}V{n:06d}"
        for event in EVENTS:
            discharged = "20261130101500" if event == "A03" else ""
            segments = [
                f"MSH|^~\\&|EPIC|{feed.sending_facility}|CARECOORD|PHP|{stamp}||ADT^{event}^ADT_{event}|"
                f"{tag}{n:06d}{event}|P|2.5.1",
                f"EVN|{event}|{stamp}",
                f"PID|1||MRN{n:06d}^^^{feed.sending_facility}^MR~{m['member_number']}^^^{payer}^MB||"
                f"{m['last_name']}^{m['first_name']}||{m['date_of_birth']:%Y%m%d}|{m['sex']}",
                f"PV1|1|I|4W^401^A^{feed.sending_facility}|E|||1234^Attending^Ann|||MED|||||||||{visit}"
                + "|" * 17
                + "01^Home"
                + "|" * 8
                + f"20261127083000|{discharged}",
                "DG1|1||I50.9^Heart failure^I10|||F" + "|" * 9 + "1",
                f"IN1|1|PPO|{payer}|{PLAN_NAME}" + "|" * 45 + m["member_number"],
            ]
            out.append(("\r".join(segments) + "\r").encode())
    return out


def _check_acks(acks: list[str], what: str) -> None:
    bad = [a for a in acks if "|AA|" not in a]
    if bad:
        raise BenchError(f"{what}: {len(bad)} of {len(acks)} messages not accepted; first ACK: {bad[0]!r}")


def _http(batch_of: list[bytes], token: str, batch: int) -> tuple[float, int]:
    from django.db import connection
    from django.test import Client

    from bench.counting import QueryCounter

    client = Client(SERVER_NAME="localhost")  # a host ALLOWED_HOSTS accepts
    started = time.perf_counter()
    acks: list[str] = []
    with QueryCounter(connection) as captured:
        for start in range(0, len(batch_of), batch):
            body = b"".join(batch_of[start : start + batch])
            response = client.post(
                "/api/v1/adt/messages/",
                data=body,
                content_type="application/hl7-v2",
                HTTP_AUTHORIZATION=f"Token {token}",
            )
            if response.status_code != 200:
                raise BenchError(f"ADT over HTTP answered {response.status_code}: {response.content[:300]!r}")
            acks.extend(a for a in response.content.decode().split("MSH|")[1:])
    seconds = time.perf_counter() - started
    _check_acks(acks, "HTTP")
    return seconds, captured.count


def _token() -> str:
    from knox.models import AuthToken

    from organizations.models import User

    user = User.objects.get(username=INTERFACE_USER)
    _, token = AuthToken.objects.create(user=user, expiry=None)
    return token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Listener:
    def __init__(self, workers: int, processes: int) -> None:
        self.port = _free_port()
        command = ["manage.py", "mllp_listen", "--port", str(self.port), "--workers", str(workers)]
        # As in production: DEBUG off (no CursorDebugWrapper keeping every query), which wants a
        # secret key of its own; this one lives as long as the listener.
        production = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(48)}
        self.process = subprocess.Popen(
            [sys.executable, *command, "--processes", str(processes)],
            cwd=BASE_DIR,
            env={**os.environ, **production, "LOG_LEVEL": "WARNING"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        line = self.process.stdout.readline().decode()
        if "MLLP listening" not in line:
            self.process.kill()
            raise BenchError(f"mllp_listen did not start: {line}{self.process.stdout.read().decode()[:2000]}")

    def __enter__(self) -> _Listener:
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _mllp_send(port: int, payloads: list[bytes], acks: list[str]) -> None:
    from interop.mllp import END, START, frame

    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        buffer = b""
        for payload in payloads:
            sock.sendall(frame(payload))
            while END not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise BenchError("mllp_listen closed the connection")
                buffer += chunk
            ack, buffer = buffer.split(END, 1)
            acks.append(ack.removeprefix(START).decode("utf-8", "replace"))


def _mllp(port: int, payloads: list[bytes], connections: int) -> float:
    acks_per: list[list[str]] = [[] for _ in range(connections)]
    # Each connection sends whole stays (A01, A08, A03 of one member stay on one connection, in order).
    stays = [payloads[i : i + len(EVENTS)] for i in range(0, len(payloads), len(EVENTS))]
    shares = [[m for stay in stays[c::connections] for m in stay] for c in range(connections)]
    errors: list[BaseException] = []

    def send(c: int) -> None:
        try:
            _mllp_send(port, shares[c], acks_per[c])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(c,)) for c in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise BenchError(f"MLLP client failed: {errors[0]}")
    _check_acks([a for acks in acks_per for a in acks], f"MLLP ({connections} connections)")
    return seconds


def _split(payloads: list[bytes]) -> list[Split]:
    """adt_receive in-process with its parts timed (wrapped for this pass only, then restored)."""
    from django.db import connection

    from bench.counting import QueryCounter
    from interop import hl7v2
    from organizations.access import Actor
    from transitions import matching, services

    timings: dict[str, float] = {}

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + (time.perf_counter() - started) * 1000

        return wrapper

    originals = (hl7v2.parse, matching.match_patient, services._apply)
    hl7v2.parse = timed("parse", hl7v2.parse)
    matching.match_patient = timed("match", matching.match_patient)
    services._apply = timed("apply", services._apply)
    splits = {event: Split(event, 0) for event in EVENTS}
    try:
        for payload in payloads:
            event = payload.split(b"|ADT^", 1)[1][:3].decode()
            timings.clear()
            with QueryCounter(connection) as captured:
                started = time.perf_counter()
                result = services.adt_receive(raw=payload, transport="mllp", actor=Actor.system())
                total = (time.perf_counter() - started) * 1000
            if result.code != "AA":
                raise BenchError(f"in-process {event}: {result.code} {result.text}")
            split = splits[event]
            split.messages += 1
            split.total_ms.append(total)
            split.parse_ms.append(timings.get("parse", 0.0))
            split.match_ms.append(timings.get("match", 0.0))
            split.apply_ms.append(timings.get("apply", 0.0))
            split.queries.append(captured.count)
    finally:
        hl7v2.parse, matching.match_patient, services._apply = originals
    return list(splits.values())


def run(*, count: int, listener_workers: int, listener_processes: int, say: Callable[[str], None]) -> IngestRun:
    if count % len(EVENTS):
        raise BenchError(f"--adt-messages must be a multiple of {len(EVENTS)} (A01, A08, A03 per stay).")
    tag = f"B{time.strftime('%H%M%S')}"
    sets = {name: messages(count=count, tag=f"{tag}{name}", offset=i * count) for i, name in enumerate("HBMCPS")}
    results: list[Throughput] = []
    token = _token()
    say(f"  HTTP, one message per request ({count:,}) ...")
    seconds, queries = _http(sets["H"], token, 1)
    results.append(Throughput("HTTP, one message per request", count, seconds, queries))
    say(f"  HTTP, {BATCH} per request ({count:,}) ...")
    seconds, queries = _http(sets["B"], token, BATCH)
    results.append(Throughput(f"HTTP, batches of {BATCH}", count, seconds, queries))
    runs = [("MLLP, one connection", 1, 1, "M"), (f"MLLP, {CONNECTIONS} connections, 1 process", 1, CONNECTIONS, "C")]
    if listener_processes > 1:
        name = f"MLLP, {CONNECTIONS} connections, {listener_processes} processes"
        runs.append((name, listener_processes, CONNECTIONS, "P"))
    for name, processes, connections, messages_set in runs:
        say(f"  {name} ({count:,}) ...")
        with _Listener(listener_workers, processes) as listener:
            results.append(Throughput(name, count, _mllp(listener.port, sets[messages_set], connections)))
    say("  cost split, in-process ...")
    splits = _split(sets["S"])
    return IngestRun(
        throughputs=results, splits=splits, listener_workers=listener_workers, listener_processes=listener_processes
    )
