"""`python manage.py mllp_listen`: receive HL7 v2 ADT over MLLP (README "ADT in")."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from interop.mllp import ClientCertificate, Listener, server_tls
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
        connection.close()  # this thread's own


class Command(BaseCommand):
    help = (
        "Listen for HL7 v2 ADT messages over MLLP (0x0B … 0x1C 0x0D framing). Each message is stored "
        "as received, applied by sending facility (MSH-4, registered as an ADT feed) and control id "
        "(MSH-10), and answered with one ACK on the same connection, in order: AA applied or queued "
        "for review, AE/AR with the reason. Bad framing gets a negative ACK; an oversized frame gets "
        "one and the connection is closed. MLLP itself carries no credentials: bind to a private "
        "interface, or serve TLS (--tls-cert, --tls-key) and require senders' certificates from your "
        "CA (--tls-client-ca: mutual TLS)."
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
            "--workers", type=int, default=4, help="Threads applying messages (database connections; default 4)."
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
        try:
            tls = server_tls(cert=cert, key=key, client_ca=client_ca) if cert else None
        except (OSError, ssl.SSLError) as exc:
            raise CommandError(f"Cannot load the TLS certificate, key or CA: {exc}") from exc
        listener = Listener(
            handle_frame, max_frame_bytes=max_bytes, workers=options["workers"], idle_timeout=options["idle_timeout"]
        )
        asyncio.run(self._serve(listener, options["host"], options["port"], max_bytes, tls))

    async def _serve(self, listener: Listener, host: str, port: int, max_bytes: int, tls) -> None:
        server = await listener.start(host, port, tls=tls)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        bound = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)
        security = "plain TCP" if tls is None else ("mutual TLS" if tls.verify_mode == ssl.CERT_REQUIRED else "TLS")
        self.stdout.write(f"MLLP listening on {bound} ({security}; frames up to {max_bytes} bytes)", ending="\n")
        if tls is not None and tls.verify_mode == ssl.CERT_REQUIRED:
            unbound = await asyncio.to_thread(_unbound_feeds)
            if unbound:  # any sender with a certificate from the CA may send as these
                self.stderr.write(
                    "Feeds not bound to a certificate (AdtFeed.tls_client_subject): " + ", ".join(unbound)
                )
        self.stdout.flush()
        async with server:
            await stop.wait()
        listener.executor.shutdown(wait=True)
        self.stdout.write("MLLP listener stopped")
