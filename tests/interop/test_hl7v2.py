"""The HL7 v2 parser and ACK builder, on the shared corpus and on hand-made malformed input."""

from __future__ import annotations

import pytest

from interop import hl7v2
from interop.hl7v2 import HL7Error
from tests.transitions.adt import CORPUS

MSH = "MSH|^~\\&|APP|FAC|RCV|RFAC|20260301090000||ADT^A01^ADT_A01|C1|P|2.5.1"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.hl7")), ids=lambda p: p.name)
def test_every_corpus_file_parses_into_segments(path):
    raw = path.read_bytes()
    message = hl7v2.parse(raw)
    assert message.msh.name == "MSH" and message.control_id and message.message_type in {"ADT", "SIU", "OMG"}
    assert len(message.segments) == len([line for line in raw.splitlines() if line.strip()])
    assert message.segment("PID").get(3)


def test_bom_and_missing_trailing_newline_are_fine():
    message = hl7v2.parse((CORPUS / "ADT04-251.hl7").read_bytes())
    assert (message.sending_facility, message.control_id, message.version) == ("RDX", "1270326314", "2.3")
    assert message.segment("PV1").get(44) == "20190504181205+0700"


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"])
def test_any_segment_terminator(end):
    message = hl7v2.parse(f"{MSH}{end}PID|1||X1{end}PV1|1|I{end}".encode())
    assert [s.name for s in message.segments] == ["MSH", "PID", "PV1"]


def test_delimiters_are_read_from_msh_not_assumed():
    text = "MSH#*!$%#APP#FAC#R#RF#2026##ADT*A03#C9#P#2.5\rPID#1##ID1*cx2*cx3*AUTH%sub*MB!ID2*** *MR##Doe*Jane"
    message = hl7v2.parse(text.encode())
    pid = message.segment("PID")
    assert (message.message_type, message.trigger_event) == ("ADT", "A03")
    assert pid.get(3, 1) == "ID1" and pid.get(3, 4, subcomponent=1) == "AUTH" and pid.get(3, 5) == "MB"
    assert pid.get(3, 1, repetition=2) == "ID2"
    assert (pid.get(5, 1), pid.get(5, 2)) == ("Doe", "Jane")


def test_escape_sequences_are_resolved_where_fields_are_read():
    message = hl7v2.parse(f"{MSH}\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\\\.br\\g\\H\\h".encode())
    assert message.segment("NTE").get(3) == "a|b^c&d~e\\fA\ng" + "h"


def test_repetitions():
    message = hl7v2.parse(f"{MSH}\rPID|1||A1^^^X^MR~B2^^^Y^MB".encode())
    assert [rep[0] for rep in message.segment("PID").repetitions(3)] == ["A1", "B2"]


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"", "MSH"),
        (b"PID|1||X\r", "MSH"),
        (b"MSHx^~\\&|A\r", "MSH-1"),
        (b"MSH|^^\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\r", "MSH-2"),
        (b"MSH|^~\\&\r", "MSH-2"),
        (b"MSH|^~\\&|A|FAC\r", "MSH-9"),
        (b"MSH|^~\\&|A|FAC|R|RF|2026||ADT^A01||P|2.5\r", "MSH-10"),
        (f"{MSH}\rPI|1\r".encode(), "segment 2"),
        (f"{MSH}\rPID1\r".encode(), "PID"),
        (f"{MSH}\r{MSH}\r".encode(), "MSH"),
        (f"{MSH}||||||ASCII\rPID|1||Müller\r".encode(), "MSH-18"),
        (f"{MSH}||||||UNICODE UTF-8\rPID|1||\xe9\r".encode("latin-1"), "MSH-18"),
        (f"{MSH}||||||EBCDIC\r".encode(), "MSH-18"),
    ],
)
def test_malformed_input_raises_ar_naming_where(raw, where):
    with pytest.raises(HL7Error) as info:
        hl7v2.parse(raw)
    assert info.value.code == "AR"
    assert info.value.text.startswith(where) or where in info.value.text, info.value.text


def test_undeclared_charset_falls_back_to_latin1():
    message = hl7v2.parse(f"{MSH}\rPID|1||X||M\xfcller^Hans\r".encode("latin-1"))
    assert message.charset == "latin-1" and message.segment("PID").get(5) == "Müller"


def test_declared_latin1_and_utf8():
    assert hl7v2.parse(f"{MSH}||||||8859/1\rPID|1||X||M\xfcller\r".encode("latin-1")).segment("PID").get(5) == "Müller"
    utf8 = hl7v2.parse(f"{MSH}||||||UNICODE UTF-8\rPID|1||X||Müller\r".encode())
    assert utf8.segment("PID").get(5) == "Müller"


def test_oversized_message():
    with pytest.raises(HL7Error, match="limit"):
        hl7v2.parse(f"{MSH}\rNTE|1||{'x' * 200}\r".encode(), max_bytes=100)


def test_ack_swaps_sender_and_receiver_and_echoes_the_control_id():
    message = hl7v2.parse(f"{MSH}\r".encode())
    ack = hl7v2.parse(hl7v2.build_ack(message, "AA", "applied").encode())
    assert [ack.msh.get(n) for n in (3, 4, 5, 6)] == ["RCV", "RFAC", "APP", "FAC"]
    assert (ack.message_type, ack.trigger_event, ack.version) == ("ACK", "A01", "2.5.1")
    assert [ack.segment("MSA").get(n) for n in (1, 2, 3)] == ["AA", "C1", "applied"]
    assert ack.segment("ERR") is None


def test_negative_ack_carries_err_with_location_and_escaped_text():
    message = hl7v2.parse(f"{MSH}\r".encode())
    error = HL7Error("bad | value ^ here", code="AE", segment="PID", field=7)
    ack = hl7v2.parse(hl7v2.build_ack(message, "AE", error=error).encode())
    err = ack.segment("ERR")
    assert (err.get(2, 1), err.get(2, 3), err.get(3), err.get(4)) == ("PID", "7", "102", "E")
    assert ack.segment("MSA").get(3) == "PID-7: bad | value ^ here"


def test_ack_for_bytes_that_never_parsed():
    ack = hl7v2.parse(hl7v2.build_ack(None, "AR", error=HL7Error("no MSH")).encode())
    assert ack.segment("MSA").get(1) == "AR" and ack.segment("MSA").get(2) == ""
