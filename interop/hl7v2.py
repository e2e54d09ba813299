"""A small, strict HL7 v2 parser and the ACK builder.

Why our own (README, "Design notes"): python-hl7 0.4.5 (last released 2022) splits segments on
CR only, so the shared corpus's LF-terminated files parse as one segment; it has no notion of a
BOM or of MSH-18, and its errors do not say which segment or field is wrong. What we need is
small: the delimiters MSH declares, any segment terminator, escapes, repetitions, and a typed
error that the ACK can carry back to the sender.

Numbering follows the standard: `segment.field(3)` is PID-3; for MSH, field 1 is the field
separator itself and field 2 the encoding characters, so MSH-9 is `msh.field(9)`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone

from django.utils import timezone

DEFAULT_MAX_BYTES = 1_000_000

# Error codes carried in MSA-1 (original acknowledgement mode).
AR = "AR"  # rejected: not parseable, unsupported message type / version, too large
AE = "AE"  # application error: parseable, but the content cannot be applied
AA = "AA"

# HL7 table 0357 message error condition codes, used in ERR-3.
ERR_SEGMENT_SEQUENCE = ("100", "Segment sequence error")
ERR_REQUIRED_FIELD = ("101", "Required field missing")
ERR_DATA_TYPE = ("102", "Data type error")
ERR_UNSUPPORTED_TYPE = ("200", "Unsupported message type")
ERR_UNSUPPORTED_EVENT = ("201", "Unsupported event code")
ERR_UNKNOWN_KEY = ("204", "Unknown key identifier")
ERR_APPLICATION = ("207", "Application internal error")

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_SEGMENT_END = re.compile(r"\r\n|\r|\n")

# MSH-18 values we accept (HL7 table 0211) and the Python codec for each.
CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/15": "iso-8859-15",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",  # not in table 0211, but common in the wild
}


class HL7Error(Exception):
    """Why a message cannot be accepted, with the ACK code and where the problem is."""

    def __init__(
        self,
        message: str,
        *,
        code: str = AR,
        segment: str = "",
        field: int | None = None,
        condition: tuple[str, str] = ERR_DATA_TYPE,
    ):
        self.code = code
        self.segment = segment
        self.field = field
        self.condition = condition
        location = f"{segment}-{field}" if segment and field is not None else segment
        self.text = f"{location}: {message}" if location else message
        super().__init__(self.text)


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        return f"{self.component}{self.repetition}{self.escape}{self.subcomponent}"

    def unescape(self, value: str) -> str:
        """Resolve escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\); formatting
        escapes we cannot show (\\H\\, \\N\\, …) are dropped."""
        esc = self.escape
        if not esc or esc not in value:
            return value
        out: list[str] = []
        i = 0
        while i < len(value):
            ch = value[i]
            end = value.find(esc, i + 1) if ch == esc else -1
            if ch != esc or end == -1:
                out.append(ch)
                i += 1
                continue
            seq = value[i + 1 : end]
            simple = {
                "F": self.field,
                "S": self.component,
                "T": self.subcomponent,
                "R": self.repetition,
                "E": esc,
                ".br": "\n",
            }
            if seq in simple:
                out.append(simple[seq])
            elif seq[:1] == "X" and len(seq) > 1 and len(seq) % 2 == 1:
                try:
                    out.append(bytes.fromhex(seq[1:]).decode("latin-1"))
                except ValueError:
                    out.append(value[i : end + 1])
            elif seq in {"H", "N"} or seq[:1] in {".", "C", "M", "Z"}:
                pass
            else:
                out.append(value[i : end + 1])
            i = end + 1
        return "".join(out)

    def escape_text(self, value: str) -> str:
        """Text made safe to place inside one component of a field."""
        esc = self.escape or "\\"
        table = {
            esc: f"{esc}E{esc}",
            self.field: f"{esc}F{esc}",
            self.component: f"{esc}S{esc}",
            self.subcomponent: f"{esc}T{esc}",
            self.repetition: f"{esc}R{esc}",
        }
        text = "".join(table.get(ch, ch) for ch in value)
        return text.replace("\r", " ").replace("\n", " ")


@dataclass
class Segment:
    name: str
    fields: list[str]  # raw (still escaped) text; fields[n] is <name>-n, fields[0] the name
    delimiters: Delimiters

    def raw(self, number: int) -> str:
        return self.fields[number] if 0 < number < len(self.fields) else ""

    def repetitions(self, number: int) -> list[list[str]]:
        """Field <number>'s repetitions, each a list of unescaped components (1-based by index+1).
        MSH-1 and MSH-2 are returned whole."""
        raw = self.raw(number)
        if not raw:
            return []
        if self.name == "MSH" and number in (1, 2):
            return [[raw]]
        d = self.delimiters
        return [[d.unescape(c) for c in rep.split(d.component)] for rep in raw.split(d.repetition)]

    def get(self, number: int, component: int = 1, repetition: int = 1, subcomponent: int | None = None) -> str:
        """One value, unescaped; empty when absent. Components and subcomponents are 1-based."""
        raw = self.raw(number)
        if not raw:
            return ""
        if self.name == "MSH" and number in (1, 2):
            return raw
        d = self.delimiters
        reps = raw.split(d.repetition)
        if repetition > len(reps):
            return ""
        comps = reps[repetition - 1].split(d.component)
        if component > len(comps):
            return ""
        value = comps[component - 1]
        if subcomponent is not None:
            subs = value.split(d.subcomponent)
            value = subs[subcomponent - 1] if subcomponent <= len(subs) else ""
        return d.unescape(value).strip()

    def subcomponents(self, number: int, component: int, repetition: int = 1) -> list[str]:
        raw = self.raw(number)
        d = self.delimiters
        reps = raw.split(d.repetition) if raw else []
        if repetition > len(reps):
            return []
        comps = reps[repetition - 1].split(d.component)
        if component > len(comps):
            return []
        return [d.unescape(s) for s in comps[component - 1].split(d.subcomponent)]


@dataclass
class Message:
    text: str  # the whole message as decoded (BOM dropped), line ends as received
    charset: str
    delimiters: Delimiters
    segments: list[Segment] = field(default_factory=list)

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    @property
    def message_type(self) -> str:
        return self.msh.get(9, 1)

    @property
    def trigger_event(self) -> str:
        return self.msh.get(9, 2)

    @property
    def control_id(self) -> str:
        return self.msh.get(10)

    @property
    def sending_application(self) -> str:
        return self.msh.get(3)

    @property
    def sending_facility(self) -> str:
        """MSH-4 as sent (first component: the namespace id / facility name)."""
        return self.msh.get(4)

    @property
    def version(self) -> str:
        return self.msh.get(12, 1)


def _charset_of(raw: bytes) -> str:
    """MSH-18, read from the first segment without decoding the rest (delimiters are ASCII)."""
    first = _SEGMENT_END.split(raw.decode("latin-1"), maxsplit=1)[0]
    if len(first) < 4:
        return ""
    parts = first.split(first[3])
    if len(parts) < 18:
        return ""
    encoding_chars = parts[1]
    value = parts[17]
    if len(encoding_chars) >= 2:
        value = value.split(encoding_chars[1])[0]  # the first repetition is the default charset
        value = value.split(encoding_chars[0])[0]
    return value.strip()


def decode(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:
    """Bytes to text, and the Python codec used.

    The charset rule (README): a UTF-8 BOM is dropped; MSH-18 when present names the charset
    and the bytes must decode strictly in it (else AR, MSH-18); with no MSH-18 we read UTF-8
    (a superset of HL7's default ASCII) and fall back to Latin-1, the usual charset of older
    8-bit feeds, when the bytes are not valid UTF-8.
    """
    if len(raw) > max_bytes:
        raise HL7Error(f"message is {len(raw)} bytes; the limit is {max_bytes}", condition=ERR_DATA_TYPE)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    declared = _charset_of(raw)
    if declared:
        codec = CHARSETS.get(declared.upper())
        if codec is None:
            raise HL7Error(f"character set {declared!r} is not supported", segment="MSH", field=18)
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise HL7Error(f"bytes at offset {exc.start} are not valid {declared}", segment="MSH", field=18) from exc
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _delimiters(text: str) -> Delimiters:
    if not text.startswith("MSH"):
        found = text[:3] if _SEGMENT_ID.match(text[:3]) else repr(text[:10])
        raise HL7Error(f"a message must begin with an MSH segment, not {found}", segment="MSH")
    if len(text) < 8:
        raise HL7Error("truncated: no field separator and encoding characters", segment="MSH", field=1)
    field_sep = text[3]
    if field_sep.isalnum() or field_sep.isspace():
        raise HL7Error(f"field separator {field_sep!r} is not allowed", segment="MSH", field=1)
    end = text.find(field_sep, 4)
    line_end = _SEGMENT_END.search(text)
    if end == -1 or (line_end is not None and line_end.start() < end):
        raise HL7Error("encoding characters are not followed by the field separator", segment="MSH", field=2)
    chars = text[4:end]
    if not 2 <= len(chars) <= 5:
        raise HL7Error(f"encoding characters {chars!r} must be 2 to 5 characters", segment="MSH", field=2)
    if len(set(chars + field_sep)) != len(chars) + 1 or any(c.isalnum() or c.isspace() for c in chars):
        raise HL7Error(
            f"encoding characters {chars!r} must be distinct punctuation, unlike the field separator",
            segment="MSH",
            field=2,
        )
    padded = chars + "\0" * (4 - len(chars)) if len(chars) < 4 else chars
    return Delimiters(
        field=field_sep,
        component=padded[0],
        repetition=padded[1],
        escape=padded[2] if padded[2] != "\0" else "",
        subcomponent=padded[3] if padded[3] != "\0" else "",
    )


def parse(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Message:
    """Parse one message. Raises HL7Error naming the segment/field for anything malformed."""
    if isinstance(data, bytes):
        text, charset = decode(data, max_bytes=max_bytes)
    else:
        text, charset = data.removeprefix("\ufeff"), "utf-8"
        if len(text.encode("utf-8")) > max_bytes:
            raise HL7Error(f"message is larger than the limit of {max_bytes} bytes")
    received = text
    text = text.lstrip("\r\n")
    delimiters = _delimiters(text)
    segments: list[Segment] = []
    for number, line in enumerate(_SEGMENT_END.split(text), start=1):
        if not line.strip():
            continue  # blank lines and the trailing terminator
        name = line[:3]
        if not _SEGMENT_ID.match(name) or (len(line) > 3 and line[3] != delimiters.field):
            raise HL7Error(
                f"segment {number} does not start with a segment id and the field separator ({line[:12]!r})",
                segment=name if _SEGMENT_ID.match(name) else "",
                condition=ERR_SEGMENT_SEQUENCE,
            )
        parts = line.split(delimiters.field)
        if name == "MSH":
            if segments:
                raise HL7Error(
                    f"segment {number}: a second MSH (send one message per frame or batch entry)",
                    segment="MSH",
                    condition=ERR_SEGMENT_SEQUENCE,
                )
            parts = ["MSH", delimiters.field, *parts[1:]]
        segments.append(Segment(name=name, fields=parts, delimiters=delimiters))
    message = Message(text=received, charset=charset, delimiters=delimiters, segments=segments)
    msh = message.msh
    for number, what in ((9, "message type"), (10, "message control id"), (12, "version id")):
        if not msh.get(number):
            problem = "truncated" if len(msh.fields) <= number else "empty"
            raise HL7Error(
                f"{what} is required (MSH is {problem})", segment="MSH", field=number, condition=ERR_REQUIRED_FIELD
            )
    return message


_BATCH_ENVELOPE = {b"FHS", b"BHS", b"BTS", b"FTS"}


def split_batch(raw: bytes) -> list[bytes]:
    """Several messages in one body: each MSH segment starts a new one. Each message keeps its
    bytes and line ends as sent; blank lines between messages and HL7 batch envelopes (FHS, BHS,
    BTS, FTS) are dropped. A body with no MSH at all comes back whole and is rejected by `parse`."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    messages: list[list[bytes]] = []
    for match in re.finditer(rb"[^\r\n]*(?:\r\n|\r|\n|$)", raw):
        line = match.group()
        if line.startswith(b"\xef\xbb\xbfMSH"):
            line = line[3:]  # files concatenated into one body keep their BOMs
        if not line.strip() or line[:3] in _BATCH_ENVELOPE:
            continue
        if line.startswith(b"MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return [b"".join(lines) for lines in messages]


_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")


def parse_date(value: str) -> date | None:
    """The date part of a DT/DTM value (YYYYMMDD…); None when empty. ValueError when not a date."""
    if not value:
        return None
    match = _DTM.match(value)
    if not match or not match.group(3):
        raise ValueError(f"{value!r} is not a date (YYYYMMDD)")
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def parse_datetime(value: str, default_tz: tzinfo) -> datetime | None:
    """A DTM value as an aware datetime: its own offset when it has one, else `default_tz` (the
    facility's time zone). None when empty; ValueError when malformed."""
    if not value:
        return None
    match = _DTM.match(value)
    if not match or not match.group(3):
        raise ValueError(f"{value!r} is not a date/time (YYYYMMDD[HHMM[SS]][+ZZZZ])")
    parts = [int(g) if g else 0 for g in match.groups()[:6]]
    offset = match.group(7)
    if offset:
        sign = 1 if offset[0] == "+" else -1
        tz: tzinfo = dt_timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    else:
        tz = default_tz
    return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=tz)


def _timestamp() -> str:
    return timezone.localtime().strftime("%Y%m%d%H%M%S%z")


def _next_ack_id() -> str:
    return uuid.uuid4().hex[:20].upper()  # unique without shared state between listener threads


def build_ack(
    message: Message | None,
    code: str,
    text: str = "",
    *,
    error: HL7Error | None = None,
    control_id: str = "",
) -> str:
    """An ACK for `message` (or for bytes that never parsed, when `message` is None).

    MSH-3..6 are the message's receiving and sending application/facility swapped; MSA-1 is
    AA/AE/AR, MSA-2 the message's control id, MSA-3 a short reason; a negative ACK also carries
    an ERR segment (ERR-2 location, ERR-3 condition from table 0357, ERR-4 severity E, ERR-8
    the reason). The ACK uses the message's own delimiters, so fields copied from its MSH are
    valid as they stand. Segments end in CR, as the standard says.
    """
    d = message.delimiters if message is not None else Delimiters()
    f = d.field
    if message is not None:
        msh = message.msh
        sender = [msh.raw(5), msh.raw(6), msh.raw(3), msh.raw(4)]
        trigger = message.trigger_event
        version = msh.raw(12) or "2.5.1"
        processing = msh.raw(11) or "P"
        control_id = control_id or message.control_id
    else:
        sender = ["CARECOORD", "", "", ""]
        trigger, version, processing = "", "2.5.1", "P"
    if not sender[0]:
        sender[0] = "CARECOORD"
    msg_type = d.component.join(["ACK", trigger, "ACK"]) if trigger else "ACK"
    msh_line = f.join(
        [
            "MSH",
            d.encoding_characters[: 4 if d.subcomponent else 3],
            *sender,
            _timestamp(),
            "",
            msg_type,
            _next_ack_id(),
            processing,
            version,
        ]
    )
    reason = d.escape_text(text or (error.text if error else ""))[:200]
    lines = [msh_line, f.join(["MSA", code, d.escape_text(control_id), reason])]
    if code != AA:
        condition = error.condition if error else ERR_APPLICATION
        location = ""
        if error and error.segment:
            location = d.component.join([error.segment, "1", str(error.field or "")]).rstrip(d.component)
        lines.append(
            f.join(
                [
                    "ERR",
                    "",
                    location,
                    d.component.join([condition[0], condition[1], "HL70357"]),
                    "E",
                    "",
                    "",
                    "",
                    reason,
                ]
            )
        )
    return "\r".join(lines) + "\r"
