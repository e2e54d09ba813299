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
import errno
import hashlib
import logging
import os
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
TLS_SHUTDOWN_SECONDS = 2
STOP_GRACE_SECONDS = 10  # a stop waits this long for connections answering a frame
ACCEPT_PAUSE_SECONDS = 0.002  # per connection held, up to 50 ms (Listener._accept)
# accept() errors: the connection failed before it was taken (Linux passes pending network errors
# on through accept(); try the next one at once), or the process is short of descriptors or memory.
_ACCEPT_AGAIN_NAMES = "ECONNABORTED EPROTO ENETDOWN ENOPROTOOPT EHOSTDOWN ENONET EHOSTUNREACH EOPNOTSUPP ENETUNREACH"
_ACCEPT_AGAIN = {getattr(errno, name) for name in _ACCEPT_AGAIN_NAMES.split() if hasattr(errno, name)}
_ACCEPT_LATER = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

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
    """Serves MLLP on listening sockets (`serve`). The ORM work for each frame runs in a thread
    pool (`workers`); the event loop only moves bytes, so one slow or broken client never stalls
    the others."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        workers: int = 4,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        shared: bool = False,
    ):
        """`shared`: other processes accept from the same sockets (`mllp_listen --processes`)."""
        self.handler = handler
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout = idle_timeout
        self.shared = shared
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mllp")
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
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _open(self, conn: socket.socket, tls: ssl.SSLContext | None) -> None:
        """One accepted connection: TLS first with `tls` (a failed handshake closes this
        connection only), then `serve_client`."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.max_frame_bytes + 1024)
        protocol = asyncio.StreamReaderProtocol(reader)
        handshake = {}
        if tls is not None:  # a stop must not wait 30 s (asyncio's default) for a peer's TLS goodbye
            handshake = {
                "ssl": tls,
                "ssl_handshake_timeout": TLS_HANDSHAKE_SECONDS,
                "ssl_shutdown_timeout": TLS_SHUTDOWN_SECONDS,
            }
        try:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn, **handshake)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            log.info("MLLP connection refused before its first frame: %s", exc)
            conn.close()
            return
        except asyncio.CancelledError:
            conn.close()
            raise
        await self.serve_client(reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    async def _accept(self, sock: socket.socket, tls: ssl.SSLContext | None, stop: asyncio.Event) -> None:
        """Accept connections one at a time (not every one waiting at once, as
        `asyncio.start_server` does). Where other processes accept from the same socket, pause
        after each, longer the more connections this process holds, so that one with fewer takes
        the next: connections arriving together would otherwise all go to whichever woke first."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:
                if exc.errno in _ACCEPT_AGAIN:  # the connection failed before we took it
                    continue
                if exc.errno in _ACCEPT_LATER:  # out of file descriptors or memory, for now
                    log.error("MLLP cannot accept a connection (%s): trying again in 1 s", exc)
                    await asyncio.sleep(1)
                    continue
                log.exception("MLLP cannot accept connections: this process stops")
                stop.set()
                return
            task = asyncio.create_task(self._open(conn, tls))
            self._clients.add(task)
            task.add_done_callback(self._clients.discard)
            if self.shared:
                await asyncio.sleep(min(ACCEPT_PAUSE_SECONDS * len(self._clients), 0.05))

    async def serve(
        self, sockets: list[socket.socket], *, stop: asyncio.Event, tls: ssl.SSLContext | None = None
    ) -> None:
        """Serve on bound, listening sockets (`listening_sockets`) until `stop` is set.

        When stopping, connections waiting for their next frame are closed at once; one being
        answered gets its ACK first (up to STOP_GRACE_SECONDS). A frame whose ACK was not sent may
        have been applied: the sender sends it again and the duplicate is answered AA and changes
        nothing (transitions.services)."""
        accepting = [asyncio.create_task(self._accept(sock, tls, stop)) for sock in sockets]
        log.info("MLLP process %s accepting connections", os.getpid())
        try:
            await stop.wait()
        finally:
            self.closing = True
            for task in accepting:
                task.cancel()
            for task in self._clients - self._busy:
                task.cancel()
            if self._busy:
                _, late = await asyncio.wait(set(self._busy), timeout=STOP_GRACE_SECONDS)
                for task in late:  # a sender that never reads its ACKs, say
                    task.cancel()
            await asyncio.gather(*accepting, *self._clients, return_exceptions=True)
            await asyncio.to_thread(self.executor.shutdown, wait=True, cancel_futures=True)


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """TCP sockets bound to every address `host` names (all interfaces for ""), listening, as
    `asyncio.start_server` binds them (an IPv6 socket is IPv6 only, beside an IPv4 one). Made
    once: every listener process accepts from them (`Listener.serve`), and a process that dies
    leaves the connections waiting in them to the others."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:  # the port the first one got, on every address
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


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
