"""`python manage.py mllp_listen`: receive HL7 v2 ADT over MLLP (README "ADT in")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from interop.mllp import ClientCertificate, Listener, listening_sockets, server_tls
from organizations.access import Actor
from transitions import services
from transitions.models import Transport

log = logging.getLogger("transitions.mllp")


def handle_frame(payload: bytes, client: ClientCertificate | None = None) -> bytes:
    """One message in a worker thread: a fresh or healthy connection before, none leaked after.
    The ACK goes back in the charset the message came in (it echoes the message's MSH fields).
    `client`: the sender's certificate under mutual TLS."""
    close_old_connections()
    try:
        result = services.adt_receive(raw=payload, transport=Transport.MLLP, actor=Actor.system(), tls_client=client)
    finally:
        close_old_connections()
    charset = result.message.charset if result.message is not None and result.message.charset else "utf-8"
    return result.ack.encode(charset, errors="replace")


def _unbound_feeds() -> list[str]:
    from django.db import connection

    from transitions.models import AdtFeed

    try:
        return list(
            AdtFeed.objects.filter(is_active=True, tls_client_subject="").values_list("sending_facility", flat=True)
        )
    finally:
        connection.close()  # no connection of this process's may outlive it (nor cross a fork)


class Command(BaseCommand):
    help = (
        "Listen for HL7 v2 ADT messages over MLLP (0x0B … 0x1C 0x0D framing). Each message is stored "
        "as received, applied by sending facility (MSH-4, registered as an ADT feed) and control id "
        "(MSH-10), and answered with one ACK on the same connection, in order: AA applied or queued "
        "for review, AE/AR with the reason. Bad framing gets a negative ACK; an oversized frame gets "
        "one and the connection is closed. MLLP itself carries no credentials: bind to a private "
        "interface, or serve TLS (--tls-cert, --tls-key) and require senders' certificates from your "
        "CA (--tls-client-ca: mutual TLS). With --processes N, N processes accept from the one port "
        "(one per core lets a listener use every core); a process that dies is replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=2575, help="TCP port (default 2575, the HL7 port).")
        parser.add_argument(
            "--max-frame-bytes",
            type=int,
            default=None,
            help="Largest frame accepted (default HL7_MAX_MESSAGE_KB from the settings, 1 MiB).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=4,
            help="Threads applying messages in each process (database connections; default 4).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help=(
                "Processes accepting connections on the port (default 1). Threads share one Python "
                "interpreter, so one process uses about one core; give one process per core to use "
                "them all. A connection stays with the process that accepted it, so its messages are "
                "still answered in order."
            ),
        )
        parser.add_argument(
            "--idle-timeout", type=float, default=300, help="Seconds before a silent connection is closed."
        )
        parser.add_argument("--tls-cert", help="PEM certificate (chain) of this listener: serve MLLP over TLS.")
        parser.add_argument("--tls-key", help="PEM private key of --tls-cert.")
        parser.add_argument(
            "--tls-client-ca",
            help="PEM CA certificate(s): accept only senders presenting a certificate it signed (mutual TLS).",
        )

    def handle(self, *args, **options) -> None:
        max_bytes = options["max_frame_bytes"] or settings.HL7_MAX_MESSAGE_BYTES
        cert, key, client_ca = options["tls_cert"], options["tls_key"], options["tls_client_ca"]
        if bool(cert) != bool(key) or (client_ca and not cert):
            raise CommandError("TLS needs both --tls-cert and --tls-key (and --tls-client-ca only with them).")
        for name in ("workers", "processes"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be 1 or more.")
        try:
            tls = server_tls(cert=cert, key=key, client_ca=client_ca) if cert else None
        except (OSError, ssl.SSLError) as exc:
            raise CommandError(f"Cannot load the TLS certificate, key or CA: {exc}") from exc
        processes = options["processes"]
        try:
            sockets = listening_sockets(options["host"], options["port"])
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc

        def serve() -> None:
            listener = Listener(
                handle_frame,
                max_frame_bytes=max_bytes,
                workers=options["workers"],
                idle_timeout=options["idle_timeout"],
                shared=processes > 1,
            )
            asyncio.run(_serve(listener, sockets, tls))

        bound = ", ".join(_address(sock) for sock in sockets)
        security = "plain TCP" if tls is None else ("mutual TLS" if tls.verify_mode == ssl.CERT_REQUIRED else "TLS")
        # Connections wait in the sockets' backlog from here on, so the line below means "send now".
        self.stdout.write(
            f"MLLP listening on {bound} ({security}; frames up to {max_bytes} bytes"
            + (f"; {processes} processes" if processes > 1 else "")
            + ")",
            ending="\n",
        )
        if tls is not None and tls.verify_mode == ssl.CERT_REQUIRED:
            unbound = _unbound_feeds()
            if unbound:  # any sender with a certificate from the CA may send as these
                self.stderr.write(
                    "Feeds not bound to a certificate (AdtFeed.tls_client_subject): " + ", ".join(unbound)
                )
        self.stdout.flush()
        try:
            if processes == 1:
                serve()
            else:
                _Supervisor(processes, serve).run()
        finally:
            for sock in sockets:
                sock.close()
        self.stdout.write("MLLP listener stopped")


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"


async def _serve(listener: Listener, sockets: list[socket.socket], tls: ssl.SSLContext | None) -> None:
    """One process's listener on the shared sockets, until SIGTERM or SIGINT (another one more than
    a second later ends the process at once), or, in a process the supervisor started, until the
    supervisor is gone."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    first_signal_at = None

    def on_signal() -> None:
        nonlocal first_signal_at
        # A terminal's Ctrl-C and a process manager's SIGTERM often come together: a second signal
        # counts only a second after the first.
        if first_signal_at is None:
            first_signal_at = time.monotonic()
        elif time.monotonic() - first_signal_at > 1:
            log.warning("MLLP process %s told twice to stop: stopping now", os.getpid())
            os._exit(1)
        stop.set()

    # A supervised process leaves Ctrl-C (SIGINT to the whole process group) to its supervisor,
    # which passes it on as SIGTERM: otherwise one Ctrl-C would reach it twice, and stop it at once.
    for sig in (signal.SIGTERM,) if _Supervisor.pid else (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)

    async def orphaned(parent: int) -> None:
        while os.getppid() == parent:
            await asyncio.sleep(1)
        log.warning("MLLP supervisor %s is gone: this process stops", parent)
        stop.set()

    watch = asyncio.create_task(orphaned(_Supervisor.pid)) if _Supervisor.pid else None
    await listener.serve(sockets, stop=stop, tls=tls)
    if watch is not None:
        watch.cancel()


class _Supervisor:
    """Forks `count` processes that accept from the same listening sockets, replaces one that
    dies, and on SIGTERM or SIGINT tells each to stop (a second signal: to stop at once) and waits
    for them; each answers the message it is applying first. A process that keeps dying at start
    (CRASH_LOOP times running, each within CRASH_SECONDS) stops the listener instead of being
    restarted forever; until then each restart waits a second longer."""

    CRASH_SECONDS = 5.0
    CRASH_LOOP = 5
    SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
    pid = 0  # in a forked process: its supervisor's pid (watched, `_serve`)

    def __init__(self, count: int, serve: Callable[[], None]) -> None:
        self.count = count
        self.serve = serve
        self.children: dict[int, float] = {}  # pid → started (monotonic)
        self.stopping = False
        self.quick_deaths = 0

    def _spawn(self) -> None:
        """Fork one process. Stop signals are held back around the fork, so that `_stop` knows
        every child it must tell, and a child never runs the supervisor's handler."""
        connections.close_all()  # a forked child must never share the parent's database socket
        supervisor = os.getpid()
        signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:  # the child
                code = 0
                try:
                    _Supervisor.pid = supervisor
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor's to pass on (`_serve`)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)
                    self.serve()
                except BaseException:
                    log.exception("MLLP listener process %s failed", os.getpid())
                    code = 1
                finally:
                    os._exit(code)  # never return into the parent's code (its atexit, its stdout)
            self.children[pid] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)  # a held signal is handled here

    def _stop(self, signum, frame) -> None:
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in self.SIGNALS}
        failure = None
        try:
            for _ in range(self.count):
                if not self.stopping:
                    self._spawn()
            while self.children:
                pid, status = os.wait()
                started = self.children.pop(pid, None)
                if started is None or self.stopping:
                    continue
                log.error("MLLP listener process %s ended (%s)", pid, _how(status))
                self.quick_deaths = self.quick_deaths + 1 if time.monotonic() - started < self.CRASH_SECONDS else 0
                if self.quick_deaths >= self.CRASH_LOOP:
                    failure = f"MLLP listener processes keep dying at start ({_how(status)}); stopping."
                    self._stop(None, None)  # and wait for the others below
                    continue
                time.sleep(self.quick_deaths)  # 0 after a process that ran a while
                if not self.stopping:
                    self._spawn()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failure:
            raise CommandError(failure)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
