"""MLLP framing, and the real `mllp_listen` command in a subprocess, over real sockets."""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from interop import hl7v2
from interop.mllp import START, FrameDecoder, FramingError, frame
from tests.support import ROOT, free_port, wait_for
from tests.transitions.adt import CORPUS, adt, make_feed
from transitions.models import AdtMessage, Encounter


def test_decoder_handles_split_end_markers_and_blank_lines_between_frames():
    decoder = FrameDecoder()
    assert decoder.feed(b"\x0bMSH|a\x1c") == []
    assert decoder.mid_frame
    assert decoder.feed(b"\x0d\r\n\x0bMSH|b\x1c\x0d") == [b"MSH|a", b"MSH|b"]
    assert not decoder.mid_frame


def test_decoder_reports_junk_and_an_unended_frame_but_keeps_going():
    decoder = FrameDecoder()
    out = decoder.feed(b"junk\x0bMSH|c\x0bMSH|d\x1c\x0d")
    assert [type(x) for x in out] == [FramingError, FramingError, bytes]
    assert out[-1] == b"MSH|d"
    assert not any(x.fatal for x in out[:2])


def test_decoder_refuses_an_oversized_frame():
    decoder = FrameDecoder(max_frame_bytes=100)
    (error,) = decoder.feed(START + b"x" * 101)
    assert error.fatal and "limit of 100" in error.reason


# ---- the listener ----------------------------------------------------------------------------


@pytest.fixture
def listener(world, settings):
    port = free_port()
    process = _start_listener(settings, "--port", str(port), "--max-frame-bytes", "20000")
    _ready(process)
    yield port
    _stop(process)


def _start_listener(settings, *args: str, text: bool = False) -> subprocess.Popen:
    """`manage.py mllp_listen` in a subprocess, on the test database."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "mllp_listen", *args],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=text,
        start_new_session=True,  # its own process group, as in a terminal (Ctrl-C reaches all of it)
    )


def _output_until(process: subprocess.Popen, text: str, times: int = 1, timeout: float = 30) -> str:
    """The listener's output (its log included) until `text` has appeared `times` times."""
    fd, out = process.stdout.fileno(), ""
    deadline = time.monotonic() + timeout
    while out.count(text) < times:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {text!r} x{times} in {timeout}s:\n{out}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"the listener ended:\n{out}")
        out += chunk.decode(errors="replace")
    return out


def _ready(process: subprocess.Popen, processes: int = 1) -> str:
    """Wait until every listener process accepts connections; its output so far."""
    return _output_until(process, "accepting connections", processes)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=15)


def _read_acks(sock: socket.socket, n: int) -> list[hl7v2.Message]:
    decoder, acks = FrameDecoder(), []
    while len(acks) < n:
        data = sock.recv(65536)
        if not data:
            break
        acks += [hl7v2.parse(f) for f in decoder.feed(data) if isinstance(f, bytes)]
    return acks


def _msa(ack: hl7v2.Message) -> tuple[str, str]:
    return ack.segment("MSA").get(1), ack.segment("MSA").get(2)


pytestmark = pytest.mark.django_db(transaction=True)


def test_one_ack_per_message_in_order_on_the_same_connection(world, listener):
    make_feed(world)
    pid3 = f"{world.m_a1.member_number}^^^PLANA^MB"
    messages = [
        adt("A01", pid3=pid3, control_id="M1"),
        adt("A99", control_id="M2"),
        adt("A03", pid3=pid3, control_id="M3"),
    ]
    with _connect(listener) as sock:
        sock.sendall(b"".join(frame(m.encode()) for m in messages))
        acks = _read_acks(sock, 3)
    assert [_msa(a) for a in acks] == [("AA", "M1"), ("AR", "M2"), ("AA", "M3")]
    assert Encounter.objects.get().status == "discharged"
    assert set(AdtMessage.objects.values_list("transport", flat=True)) == {"mllp"}


def test_corpus_files_over_mllp(world, listener):
    make_feed(world)
    with _connect(listener) as sock:
        for name in ("ADT-A01-02.hl7", "SIU-S12-01.hl7", "ADT-A05-02.hl7"):
            sock.sendall(frame((CORPUS / name).read_bytes()))
        acks = _read_acks(sock, 3)
    assert [a.segment("MSA").get(1) for a in acks] == ["AA", "AR", "AR"]


def test_unregistered_facility_and_bad_framing_get_negative_acks_and_the_connection_stays(world, listener):
    make_feed(world)
    with _connect(listener) as sock:
        sock.sendall(frame(adt("A01", facility="NOBODY", control_id="U1").encode()))
        sock.sendall(b"not mllp at all" + frame(b"PID|1||X\r") + frame(adt("A01", control_id="OK1").encode()))
        acks = _read_acks(sock, 4)
    codes = [_msa(a) for a in acks]
    assert codes[0] == ("AR", "U1") and "MSH-4" in acks[0].segment("MSA").get(3)
    assert codes[1][0] == "AR" and "outside an MLLP frame" in acks[1].segment("MSA").get(3)
    assert codes[2][0] == "AR" and "MSH" in acks[2].segment("MSA").get(3)
    assert codes[3] == ("AA", "OK1")


def test_oversized_frame_is_refused_and_the_connection_closed(world, listener):
    make_feed(world)
    with _connect(listener) as sock:
        sock.sendall(START + b"MSH|" + b"x" * 30000)
        acks = _read_acks(sock, 1)
        assert acks[0].segment("MSA").get(1) == "AR" and "limit" in acks[0].segment("MSA").get(3)
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed by the listener
    assert not AdtMessage.objects.exists()


def test_a_client_dropping_mid_frame_harms_nobody_else(world, listener):
    make_feed(world)
    steady = _connect(listener)
    dropper = _connect(listener)
    dropper.sendall(START + adt("A01", control_id="HALF").encode()[:60])
    time.sleep(0.2)
    dropper.close()
    steady.sendall(frame(adt("A01", control_id="WHOLE").encode()))
    (ack,) = _read_acks(steady, 1)
    steady.close()
    assert _msa(ack) == ("AA", "WHOLE")
    assert list(AdtMessage.objects.values_list("control_id", flat=True)) == ["WHOLE"]
    # And a new connection is still served.
    with _connect(listener) as sock:
        sock.sendall(frame(adt("A01", control_id="AFTER").encode()))
        assert _msa(_read_acks(sock, 1)[0]) == ("AA", "AFTER")


def test_many_clients_at_once_each_get_their_own_acks(world, listener):
    make_feed(world)
    socks = [_connect(listener) for _ in range(5)]
    for i, sock in enumerate(socks):
        sock.sendall(b"".join(frame(adt("A01", control_id=f"C{i}-{j}").encode()) for j in range(4)))
    for i, sock in enumerate(socks):
        assert [_msa(a)[1] for a in _read_acks(sock, 4)] == [f"C{i}-{j}" for j in range(4)]
        sock.close()
    assert AdtMessage.objects.count() == 20


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def _send_stays(port: int, tag: str, connections: int, each: int) -> None:
    """`connections` connections at once, each sending `each` messages in one go: every
    connection gets its own ACKs, all AA, in its own order."""
    socks = [_connect(port) for _ in range(connections)]
    for i, sock in enumerate(socks):
        sock.sendall(b"".join(frame(adt("A01", control_id=f"{tag}{i}-{j}").encode()) for j in range(each)))
    for i, sock in enumerate(socks):
        acks = _read_acks(sock, each)
        sock.close()
        assert [_msa(a) for a in acks] == [("AA", f"{tag}{i}-{j}") for j in range(each)]


def test_a_killed_listener_process_is_replaced_and_the_port_keeps_serving(world, settings):
    make_feed(world)
    port = free_port()
    process = _start_listener(settings, "--port", str(port), "--processes", "2", "--workers", "2", text=True)
    try:
        assert "2 processes" in _ready(process, 2)
        children = _children(process.pid)
        _send_stays(port, "P", connections=6, each=3)

        os.kill(children[0], 9)  # SIGKILL: no chance to tidy up
        replaced = wait_for(
            lambda: (now := _children(process.pid)) and len(now) == 2 and children[0] not in now and now,
            what="a new process in place of the killed one",
        )
        assert children[1] in replaced  # the other one went on serving
        _send_stays(port, "Q", connections=4, each=2)
    finally:
        _stop(process)
    assert process.returncode == 0, process.stdout.read()
    assert not [pid for pid in {*children, *replaced} if _alive(pid)]
    assert AdtMessage.objects.count() == 6 * 3 + 4 * 2  # each stored once, by whichever process took it


def _established(pid: int, port: int) -> int:
    """How many accepted connections to `port` process `pid` holds open (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                    inodes.add(fields[9])
    held = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def test_connections_that_arrive_together_are_spread_over_the_processes(world, settings):
    port = free_port()
    process = _start_listener(settings, "--port", str(port), "--processes", "2", text=True)
    socks = []
    try:
        _ready(process, 2)  # both accept: a process still starting cannot take its share
        children = _children(process.pid)
        socks = [_connect(port) for _ in range(6)]
        held = wait_for(
            lambda: sum(counts := [_established(pid, port) for pid in children]) == 6 and counts,
            what="6 connections accepted",
        )
        assert min(held) >= 1, held  # not every one in whichever process woke first
    finally:
        for sock in socks:
            sock.close()
        _stop(process)


@pytest.mark.parametrize(
    ("processes", "how"),
    [("1", "SIGTERM"), ("2", "SIGTERM"), ("2", "Ctrl-C")],
)
def test_stopping_closes_idle_connections_at_once(world, settings, processes, how):
    """A hospital's connection stays open between messages: stopping must not wait for it. A
    Ctrl-C reaches every process of the group, and still stops them gracefully, once."""
    port = free_port()
    process = _start_listener(settings, "--port", str(port), "--processes", processes, text=True)
    try:
        _ready(process, int(processes))
        with _connect(port) as sock:
            sock.sendall(frame(adt("A01", control_id="BEFORE").encode()))
            assert _msa(_read_acks(sock, 1)[0]) == ("AR", "BEFORE")  # no feed: answered, connection open
            started = time.monotonic()
            if how == "Ctrl-C":
                os.killpg(process.pid, signal.SIGINT)
            else:
                process.terminate()
            assert sock.recv(65536) == b""  # closed by the listener, not left hanging
            process.wait(timeout=10)
        assert time.monotonic() - started < 5
        out = process.stdout.read()
        assert process.returncode == 0, out
        assert "told twice" not in out
    finally:
        _stop(process)


def test_a_listener_out_of_file_descriptors_takes_connections_again_when_it_has_some(world, settings):
    """accept() failing for want of descriptors is waited out, not the end of accepting."""
    port = free_port()
    process = _start_listener(settings, "--port", str(port), text=True)
    try:
        _ready(process)
        soft, hard = resource.prlimit(process.pid, resource.RLIMIT_NOFILE)
        in_use = len(os.listdir(f"/proc/{process.pid}/fd"))
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (in_use, hard))  # no room for one more
        with _connect(port) as sock:  # the kernel completes it; the listener cannot take it
            _output_until(process, "cannot accept a connection")
            resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (soft, hard))
            sock.sendall(frame(adt("A01", control_id="LATER").encode()))
            assert _msa(_read_acks(sock, 1)[0]) == ("AR", "LATER")  # taken within a second, and answered
    finally:
        _stop(process)


def test_the_processes_stop_when_the_supervisor_is_killed(world, settings):
    port = free_port()
    process = _start_listener(settings, "--port", str(port), "--processes", "2", text=True)
    try:
        _ready(process, 2)
        children = _children(process.pid)
        os.kill(process.pid, 9)
        process.wait(timeout=10)
        # Orphans would keep the port and apply messages with nobody to restart or stop them.
        wait_for(lambda: not any(_alive(pid) for pid in children), timeout=10, what="the orphans to stop")
    finally:
        _stop(process)


def test_processes_and_workers_must_be_positive():
    out = subprocess.run(
        [sys.executable, "manage.py", "mllp_listen", "--processes", "0"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode != 0 and "--processes must be 1 or more" in out.stderr


def test_help_describes_the_command():
    out = subprocess.run(
        [sys.executable, "manage.py", "mllp_listen", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--port" in out and "--max-frame-bytes" in out and "MLLP" in out


def test_the_same_message_on_several_connections_at_once_is_applied_once(world, listener):
    make_feed(world)
    body = frame(adt("A01", pid3=f"{world.m_a1.member_number}^^^PLANA^MB", control_id="RACE").encode())
    socks = [_connect(listener) for _ in range(6)]
    for sock in socks:
        sock.sendall(body)
    acks = [_read_acks(sock, 1)[0] for sock in socks]
    for sock in socks:
        sock.close()
    assert {_msa(a) for a in acks} == {("AA", "RACE")}
    assert sorted(AdtMessage.objects.values_list("status", flat=True)) == ["applied"] + ["duplicate"] * 5
    assert Encounter.objects.count() == 1


# ---- MLLP over TLS -------------------------------------------------------------------------------


def _openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA, the listener's certificate for 127.0.0.1, a sender's certificate from the
    CA, and a stranger's self-signed one (openssl, Debian's own)."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=Test HL7 CA", cwd=d)  # fmt: skip
    for name, subject, extra in (
        ("server", "/CN=127.0.0.1", ["-addext", "subjectAltName=IP:127.0.0.1"]),
        ("hospital", "/CN=General Hospital ADT", []),
        ("clinic", "/CN=Other Clinic ADT", []),  # trusted by the CA, but not the hospital
    ):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subject, *extra, cwd=d)  # fmt: skip
        ext = ["-copy_extensions", "copy"] if extra else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", *ext, cwd=d)  # fmt: skip
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "stranger.key", "-out", "stranger.pem",
             "-days", "2", "-subj", "/CN=Stranger", cwd=d)  # fmt: skip
    return d


@pytest.fixture
def tls_listener(world, settings, pki):
    port = free_port()
    tls = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key")]
    process = _start_listener(settings, "--port", str(port), *tls, "--tls-client-ca", str(pki / "ca.pem"), text=True)
    assert "mutual TLS" in _ready(process)
    yield port
    _stop(process)


def _tls_client(pki, cert: str | None):
    import ssl

    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        context.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    return context


def test_over_mutual_tls_a_sender_with_a_certificate_from_the_ca_is_served_and_others_are_not(world, tls_listener, pki):
    import ssl

    make_feed(world)
    pid3 = f"{world.m_a1.member_number}^^^PLANA^MB"
    for stranger in (None, "stranger"):  # no certificate; one the CA never signed
        raw = _connect(tls_listener)
        with (
            pytest.raises((ssl.SSLError, ConnectionError)),
            _tls_client(pki, stranger).wrap_socket(raw, server_hostname="127.0.0.1") as sock,
        ):
            sock.sendall(frame(adt("A01", pid3=pid3, control_id="X1").encode()))
            if not sock.recv(65536):
                raise ConnectionError("closed without an answer")
    with _connect(tls_listener) as plain:  # plain MLLP to a TLS port: no ACK, the connection ends
        plain.sendall(frame(adt("A01", pid3=pid3, control_id="X2").encode()))
        assert not _read_acks(plain, 1)
    raw = _connect(tls_listener)
    with _tls_client(pki, "hospital").wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        sock.sendall(frame(adt("A01", pid3=pid3, control_id="T1").encode()))
        (ack,) = _read_acks(sock, 1)
    assert _msa(ack) == ("AA", "T1")
    assert list(AdtMessage.objects.values_list("control_id", flat=True)) == ["T1"]


def test_tls_options_must_come_together():
    out = subprocess.run(
        [sys.executable, "manage.py", "mllp_listen", "--tls-cert", "x.pem"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode != 0 and "both --tls-cert and --tls-key" in out.stderr


def _send_over_tls(port: int, pki, cert: str, message) -> hl7v2.Message:
    raw = _connect(port)
    with _tls_client(pki, cert).wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        sock.sendall(frame(message.encode()))
        (ack,) = _read_acks(sock, 1)
    return ack


def test_a_feed_bound_to_its_certificate_takes_messages_only_from_it(world, tls_listener, listener, pki):
    """The hospital's feed names its certificate: its messages are applied from a connection
    carrying that certificate, and refused (AR, naming mutual TLS) from another trusted sender's
    certificate or from plain MLLP, so nobody else can send as the hospital."""
    import hashlib
    import ssl

    feed = make_feed(world)
    der = ssl.PEM_cert_to_DER_cert((pki / "hospital.pem").read_text())
    feed.tls_client_subject = "sha256:" + hashlib.sha256(der).hexdigest()  # this very certificate
    feed.save()
    pid3 = f"{world.m_a1.member_number}^^^PLANA^MB"
    assert _msa(_send_over_tls(tls_listener, pki, "hospital", adt("A01", pid3=pid3, control_id="OK1"))) == (
        "AA",
        "OK1",
    )
    spoofed = _send_over_tls(tls_listener, pki, "clinic", adt("A03", pid3=pid3, control_id="SPOOF1"))
    with _connect(listener) as plain:
        plain.sendall(frame(adt("A03", pid3=pid3, control_id="SPOOF2").encode()))
        (unencrypted,) = _read_acks(plain, 1)
    for ack, control_id in ((spoofed, "SPOOF1"), (unencrypted, "SPOOF2")):
        assert _msa(ack) == ("AR", control_id)
        assert "mutual TLS" in ack.segment("MSA").get(3)
    assert Encounter.objects.get().status != "discharged"  # the spoofed discharges changed nothing


def test_a_certificate_names_its_sender_only_with_exactly_one_common_name():
    from interop.mllp import certificate_name

    one = {"subject": ((("organizationName", "GH"),), (("commonName", "General Hospital ADT"),))}
    two = {"subject": ((("commonName", "General Hospital ADT"),), (("commonName", "Other Clinic ADT"),))}
    multi = {"subject": ((("commonName", "A"), ("commonName", "B")),)}
    assert certificate_name(one) == "General Hospital ADT"
    assert certificate_name(two) is None and certificate_name(multi) is None
    assert certificate_name(None) is None and certificate_name({"subject": ()}) is None
