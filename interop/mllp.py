"""MLLP: the Minimal Lower Layer Protocol HL7 v2 travels in over TCP.

A frame is 0x0B, the message bytes, 0x1C 0x0D. `FrameDecoder` turns a byte stream into frames
and framing errors; `Listener.serve()` runs an asyncio listener that answers every frame with one
ACK on the same connection, in order. The handler (bytes → ACK text) is ordinary blocking code (it
uses the Django ORM), so it runs in a worker thread; the event loop only moves bytes, and one slow
or broken client never stalls the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from interop import hl7v2

START = b"\x0b"
END = b"\x1c\x0d"
DEFAULT_MAX_FRAME_BYTES = hl7v2.DEFAULT_MAX_BYTES
IDLE_TIMEOUT_SECONDS = 300
LISTEN_BACKLOG = 128
TLS_HANDSHAKE_SECONDS = 15
ACCEPT_PAUSE_SECONDS = 0.002  # per connection held, up to 50 ms (Listener.serve)

log = logging.getLogger(__name__)


def frame(payload: bytes) -> bytes:
    return START + payload + END


@dataclass(frozen=True)
class FramingError:
    """Bytes that are not a frame. `fatal` when the stream cannot be trusted any further (an
    oversized frame: we will not buffer the rest of it to find where it ends)."""

    reason: str
    fatal: bool = False


class FrameDecoder:
    """Incremental: feed it whatever `recv` returned, get complete frames (bytes) and errors."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._in_frame = False
        self._scanned = 0  # how far into the open frame we already looked for the end marker

    @property
    def mid_frame(self) -> bool:
        return self._in_frame

    def feed(self, data: bytes) -> list[bytes | FramingError]:
        out: list[bytes | FramingError] = []
        buffer = self._buffer
        buffer += data
        while True:
            if not self._in_frame:
                start = buffer.find(START)
                stray = buffer if start == -1 else buffer[:start]
                # Line ends between frames are harmless (some senders add them); anything else
                # is not MLLP, and the sender hears so.
                if bytes(stray).strip(b"\r\n\t "):
                    out.append(FramingError(f"{len(stray)} bytes outside an MLLP frame (expected 0x0B)"))
                if start == -1:
                    buffer.clear()
                    break
                del buffer[: start + 1]
                self._in_frame = True
                self._scanned = 0
            # Look again from one byte back: the end marker may have been split across reads.
            end = buffer.find(END, max(0, self._scanned - 1))
            if end == -1:
                if len(buffer) > self.max_frame_bytes:
                    out.append(FramingError(f"frame exceeds the limit of {self.max_frame_bytes} bytes", fatal=True))
                    buffer.clear()
                    self._in_frame = False
                    break
                self._scanned = len(buffer)
                break
            body = bytes(buffer[:end])
            del buffer[: end + len(END)]
            self._in_frame = False
            if len(body) > self.max_frame_bytes:
                out.append(FramingError(f"frame exceeds the limit of {self.max_frame_bytes} bytes", fatal=True))
                break
            nested = body.rfind(START)
            if nested != -1:
                out.append(FramingError("a frame started before the previous one ended (missing 0x1C 0x0D)"))
                body = body[nested + 1 :]
            out.append(body)
        return out


# Bytes in → the ACK, as text (sent as UTF-8) or as bytes already encoded in the message's charset.
@dataclass(frozen=True)
class ClientCertificate:
    """The verified certificate a sender presented under mutual TLS: its common name (None unless
    exactly one) and the SHA-256 fingerprint of the certificate itself."""

    common_name: str | None
    sha256: str

    def matches(self, binding: str) -> bool:
        """`binding` as a feed keeps it: "sha256:<hex>" (colons allowed) for this very
        certificate, or a common name."""
        if binding.lower().startswith("sha256:"):
            return binding[7:].replace(":", "").lower() == self.sha256
        return self.common_name is not None and binding == self.common_name


# (frame payload, the sender's verified TLS certificate or None) -> the ACK
Handler = Callable[[bytes, ClientCertificate | None], str | bytes]


def reject_text(reason: str) -> bytes:
    """The negative ACK for bytes that never became a message (no control id to echo)."""
    error = hl7v2.HL7Error(reason)
    return hl7v2.build_ack(None, hl7v2.AR, error=error).encode("utf-8")


class Listener:
    """Serves MLLP on a listening socket (`serve`). The ORM work for each frame runs in a thread
    pool (`workers`); the event loop only moves bytes, so one slow or broken client never stalls
    the others."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        workers: int = 4,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ):
        self.handler = handler
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout = idle_timeout
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mllp")
        self.connections = 0
        self.closing = False
        self._clients: set[asyncio.Task] = set()
        self._busy: set[asyncio.Task] = set()  # answering frames: left to finish when stopping

    def _handle(self, payload: bytes, client: ClientCertificate | None) -> bytes:
        """Runs in a worker thread. Whatever goes wrong, the sender gets an ACK, never silence."""
        try:
            ack = self.handler(payload, client)
        except Exception:
            log.exception("MLLP handler failed")
            ack = hl7v2.build_ack(None, hl7v2.AE, "internal error; the message was not applied")
        return ack if isinstance(ack, bytes) else ack.encode("utf-8", errors="replace")

    async def serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = client_certificate(writer.get_extra_info("ssl_object"))
        decoder = FrameDecoder(self.max_frame_bytes)
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        self.connections += 1
        try:
            while not self.closing:
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout=self.idle_timeout)
                except TimeoutError:
                    log.info("MLLP %s idle for %ss: closing", peer, self.idle_timeout)
                    break
                if not data:
                    if decoder.mid_frame:
                        log.warning("MLLP %s disconnected mid-frame; the partial message is dropped", peer)
                    break
                self._busy.add(me)
                for item in decoder.feed(data):
                    if isinstance(item, FramingError):
                        log.warning("MLLP %s: %s", peer, item.reason)
                        writer.write(frame(reject_text(item.reason)))
                        await writer.drain()
                        if item.fatal:
                            return
                        continue
                    ack = await loop.run_in_executor(self.executor, self._handle, item, client)
                    writer.write(frame(ack))
                    await writer.drain()
                    if self.closing:  # what else the sender sent is unanswered: it sends it again
                        return
                self._busy.discard(me)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("MLLP %s connection lost: %s", peer, exc)
        finally:
            self._busy.discard(me)
            self.connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _open(self, conn: socket.socket, tls: ssl.SSLContext | None) -> None:
        """One accepted connection: TLS first with `tls` (a failed handshake closes this
        connection only), then `serve_client`."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.max_frame_bytes + 1024)
        protocol = asyncio.StreamReaderProtocol(reader)
        handshake = {"ssl": tls, "ssl_handshake_timeout": TLS_HANDSHAKE_SECONDS} if tls is not None else {}
        try:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn, **handshake)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            log.info("MLLP connection refused before its first frame: %s", exc)
            conn.close()
            return
        await self.serve_client(reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    async def serve(self, sock: socket.socket, *, stop: asyncio.Event, tls: ssl.SSLContext | None = None) -> None:
        """Serve on a bound, listening socket (`listening_socket`) until `stop` is set.

        Connections are accepted one at a time (not all those waiting at once, as
        `asyncio.start_server` does), and after each a process pauses a little longer the more
        connections it holds: where several processes share the port, the one with fewer takes
        the next connection. When stopping, connections
        waiting for their next frame are closed at once; one being answered gets its ACK first.
        A frame whose ACK was not sent may have been applied: the sender sends it again and the
        duplicate is answered AA and changes nothing (transitions.services)."""
        loop = asyncio.get_running_loop()

        async def accept() -> None:
            while True:
                conn, _ = await loop.sock_accept(sock)
                task = asyncio.create_task(self._open(conn, tls))
                self._clients.add(task)
                task.add_done_callback(self._clients.discard)
                # Let a process with fewer connections take the next one (connections that arrive
                # together would otherwise all go to whichever process woke first).
                await asyncio.sleep(min(ACCEPT_PAUSE_SECONDS * len(self._clients), 0.05))

        accepting = asyncio.create_task(accept())
        try:
            await stop.wait()
        finally:
            self.closing = True
            accepting.cancel()
            for task in self._clients - self._busy:
                task.cancel()
            await asyncio.gather(accepting, *self._clients, return_exceptions=True)
            await asyncio.to_thread(self.executor.shutdown, wait=True)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening, made once: every listener process accepts
    from it (`Listener.serve`), and a process that dies leaves the connections waiting in it to
    the others."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def certificate_name(peercert: dict | None) -> str | None:
    """The common name (CN) of a verified client certificate, as ssl reports it; None without one,
    and None for a certificate with several CNs (which one names the sender is a guess)."""
    names = [value for rdn in (peercert or {}).get("subject", ()) for key, value in rdn if key == "commonName"]
    return names[0] if len(names) == 1 else None


def client_certificate(ssl_object: ssl.SSLObject | None) -> ClientCertificate | None:
    """The sender's verified certificate on a TLS connection; None on plain TCP or without one."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return ClientCertificate(certificate_name(ssl_object.getpeercert()), hashlib.sha256(der).hexdigest())


def server_tls(*, cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """TLS for the listener (TLS 1.2 or newer): the server's certificate and key, and with
    `client_ca`, mutual TLS: only senders with a certificate from that CA get past the handshake
    (IHE ATNA's node authentication for MLLP)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=cert, keyfile=key)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
