"""Every write for ADT in: receive a message (HTTP or MLLP), apply it, and the review queue.

`adt_receive` never raises for bad input: whatever arrives is stored and answered with an ACK.
Its steps:
  1. parse (AR naming the segment/field when the bytes are not a message);
  2. find the feed from MSH-4 (over HTTP it must be the signed-in interface's own facility);
  3. refuse what this interface does not take (AR: not ADT, or an event we do not apply);
  4. duplicates: the same sending facility + MSH-10 with the same content is answered AA again
     and stored as a `duplicate` row that changes nothing; the same key with different content
     is refused (AE), since applying it would overwrite history under a reused id;
  5. match the patient (transitions.matching); unmatched or ambiguous → `needs_review`, AA;
  6. apply to the encounter (A01/A04 open, A02 moves, A03 discharges, A08 updates, A11 cancels
     the admission, A13 cancels the discharge) → `applied`, AA; content that cannot be applied → AE.
"""

from __future__ import annotations

import hashlib
import logging
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from core import audit
from interop import hl7v2
from interop.hl7v2 import AA, AE, HL7Error
from interop.mllp import ClientCertificate
from members.models import Member
from organizations.access import Actor
from transitions import episodes, matching
from transitions.models import (
    KEY_HOLDERS,
    REVIEW_ALLOWED,
    AdtFeed,
    AdtFeedPlan,
    AdtMessage,
    Encounter,
    MatchMethod,
    MessageStatus,
    Transport,
)

log = logging.getLogger(__name__)

SUPPORTED_EVENTS = ("A01", "A02", "A03", "A04", "A08", "A11", "A13")


@dataclass
class Received:
    ack: str
    code: str
    text: str
    message: AdtMessage | None


def _loose_text(raw: bytes) -> tuple[str, str]:
    """The bytes as text for storage even when they are not a valid message."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"  # every byte survives


def _peek_msh(text: str) -> tuple[str, str, str]:
    """(MSH-4, MSH-10, MSH-9) read naively from a message that failed to parse, for the record
    and MSA-2; empty when there is nothing MSH-like."""
    first = text.lstrip("\r\n").replace("\r\n", "\r").replace("\n", "\r").split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 4:
        return "", "", ""
    parts = first.split(first[3])
    comp = parts[1][:1] if len(parts) > 1 and parts[1] else "^"

    def at(i: int) -> str:
        return parts[i - 1].split(comp)[0][:100] if len(parts) >= i else ""

    return at(4), at(10), at(9)


def _content_hash(message: hl7v2.Message) -> str:
    """The message's segments, whatever the line ends or BOM it arrived with."""
    body = "\r".join("|".join(s.fields) for s in message.segments)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _facility_key(message: hl7v2.Message) -> tuple[str, str]:
    msh = message.msh
    return msh.get(4, 1), msh.get(4, 2)


class AmbiguousFacility(Exception):
    """MSH-4's two parts name two different registered feeds."""


def _feed_plans(lookup: str = "plans") -> Prefetch:
    """A feed's plans with the plan itself (one query either way): applying a message needs the
    plan's time zone and name, which would otherwise be a query per message."""
    return Prefetch(lookup, queryset=AdtFeedPlan.objects.select_related("plan"))


def _find_feed(message: hl7v2.Message) -> AdtFeed | None:
    """The feed MSH-4 names, by its namespace id or its universal id. Both parts naming different
    feeds is refused (AmbiguousFacility): taking either would let a sender pass as the other."""
    namespace, universal = _facility_key(message)
    codes = [c for c in (namespace, universal) if c]
    if not codes:
        return None
    feeds = list(
        AdtFeed.objects.filter(sending_facility__in=codes, is_active=True)
        .select_related("facility")
        .prefetch_related(_feed_plans())
    )
    if len(feeds) > 1:
        raise AmbiguousFacility(
            f"MSH-4 names two registered facilities ({', '.join(f.sending_facility for f in feeds)})"
        )
    return feeds[0] if feeds else None


def _store(
    *,
    raw_text: str,
    charset: str,
    transport: str,
    status: str,
    ack_code: str,
    error: str = "",
    message: hl7v2.Message | None = None,
    **fields,
) -> AdtMessage:
    if message is not None:
        fields.setdefault("sending_facility", message.sending_facility[:100])
        fields.setdefault("control_id", message.control_id[:199])
        fields.setdefault("message_type", f"{message.message_type}^{message.trigger_event}"[:20])
        fields.setdefault("event", message.trigger_event[:3] if message.message_type == "ADT" else "")
        fields.setdefault("content_hash", _content_hash(message))
    candidate_plan_ids = fields.pop("candidate_plan_ids", None)
    row = AdtMessage.objects.create(
        raw=raw_text,
        charset=charset,
        transport=transport,
        status=status,
        ack_code=ack_code,
        error=error[:2000],
        **fields,
    )
    if candidate_plan_ids:
        row.candidate_plans.set(candidate_plan_ids)
    return row


def _answer(message: hl7v2.Message | None, row: AdtMessage | None, code: str, text: str, error=None) -> Received:
    control_id = row.control_id if row is not None and message is None else ""
    return Received(hl7v2.build_ack(message, code, text, error=error, control_id=control_id), code, text, row)


def adt_receive(
    *,
    raw: bytes,
    transport: str,
    actor: Actor,
    max_bytes: int | None = None,
    tls_client: ClientCertificate | None = None,
) -> Received:
    """Store one message as received, apply it if we can, and say what to answer. `tls_client`:
    over MLLP with mutual TLS, the sender's certificate (a feed bound to one takes messages only
    from it)."""
    from django.conf import settings

    limit = max_bytes or settings.HL7_MAX_MESSAGE_BYTES
    raw_text, charset = _loose_text(raw[:limit])
    try:
        message = hl7v2.parse(raw, max_bytes=limit)
    except HL7Error as exc:
        facility, control_id, msg_type = _peek_msh(raw_text)
        with transaction.atomic():
            row = _store(
                raw_text=raw_text,
                charset=charset,
                transport=transport,
                status=MessageStatus.REJECTED,
                ack_code=exc.code,
                error=exc.text,
                sending_facility=facility,
                control_id=control_id,
                message_type=msg_type[:20],
                feed=_actor_feed(actor),
            )
            _audit_receive(actor, row)
        return _answer(None, row, exc.code, exc.text, error=exc)
    return _receive_parsed(
        message=message, raw_text=message.text, transport=transport, actor=actor, tls_client=tls_client
    )


def _actor_feed(actor: Actor) -> AdtFeed | None:
    if actor.organization is None:
        return None
    return (
        AdtFeed.objects.filter(facility=actor.organization)
        .select_related("facility")
        .prefetch_related(_feed_plans())
        .first()
    )


def _audit_receive(actor: Actor, row: AdtMessage) -> None:
    audit.record(
        actor=actor,
        action=audit.Action.CREATE,
        object_type="adt_message",
        object_id=row.public_id,
        plan_id=row.plan_id,
        member_id=row.member_id,
        summary=f"ADT {row.message_type or '?'} {row.control_id} via {row.transport}: {row.status} ({row.ack_code})",
    )


def _receive_parsed(
    *, message: hl7v2.Message, raw_text: str, transport: str, actor: Actor, tls_client: ClientCertificate | None = None
) -> Received:
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _receive_once(
                    message=message, raw_text=raw_text, transport=transport, actor=actor, tls_client=tls_client
                )
        except IntegrityError:
            # Two copies of one message raced past the duplicate check; the loser retries and
            # now finds the winner's row.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _reject(message, *, raw_text, transport, actor, feed, error: HL7Error) -> Received:
    row = _store(
        raw_text=raw_text,
        charset=message.charset,
        transport=transport,
        status=MessageStatus.REJECTED,
        ack_code=error.code,
        error=error.text,
        message=message,
        feed=feed,
    )
    _audit_receive(actor, row)
    return _answer(message, row, error.code, error.text, error=error)


def _facility_error(problem: str) -> HL7Error:
    """A refusal of the sender's facility: AR, pointing at MSH-4."""
    return HL7Error(problem, segment="MSH", field=4, condition=hl7v2.ERR_UNKNOWN_KEY)


def _receive_once(
    *, message: hl7v2.Message, raw_text: str, transport: str, actor: Actor, tls_client: ClientCertificate | None = None
) -> Received:
    common = {"raw_text": raw_text, "transport": transport, "actor": actor}
    # 2. Which facility: the feed MSH-4 names, and over HTTP the account's own.
    account_feed = None
    if transport == Transport.HTTP:
        account_feed = _actor_feed(actor)
        if account_feed is None:
            raise PermissionDenied("This account's organization has no ADT feed.")
    try:
        named = _find_feed(message)
    except AmbiguousFacility as exc:
        return _reject(message, feed=account_feed, error=_facility_error(str(exc)), **common)
    if account_feed is not None:
        feed = account_feed
        namespace, universal = _facility_key(message)
        if feed.sending_facility not in (namespace, universal) or (named is not None and named.pk != feed.pk):
            problem = (
                f"sending facility {namespace or universal!r} is not this account's facility "
                f"({feed.sending_facility!r})"
            )
            return _reject(message, feed=feed, error=_facility_error(problem), **common)
    else:
        feed = named
        if feed is None:
            problem = f"sending facility {message.sending_facility!r} is not registered for ADT"
            return _reject(message, feed=None, error=_facility_error(problem), **common)
        if feed.tls_client_subject and not (tls_client and tls_client.matches(feed.tls_client_subject)):
            # The facility sends under its own certificate: anyone else naming it in MSH-4 is refused.
            problem = (
                f"sending facility {feed.sending_facility!r} sends only over mutual TLS with its own "
                "certificate, and this connection does not carry it"
            )
            return _reject(message, feed=feed, error=_facility_error(problem), **common)
    # 3. What we take.
    if message.message_type != "ADT":
        return _reject(
            message,
            feed=feed,
            error=HL7Error(
                f"unsupported message type {message.message_type}^{message.trigger_event}; this interface accepts ADT",
                segment="MSH",
                field=9,
                condition=hl7v2.ERR_UNSUPPORTED_TYPE,
            ),
            **common,
        )
    if message.trigger_event not in SUPPORTED_EVENTS:
        return _reject(
            message,
            feed=feed,
            error=HL7Error(
                f"unsupported event ADT^{message.trigger_event}; accepted: {', '.join(SUPPORTED_EVENTS)}",
                segment="MSH",
                field=9,
                condition=hl7v2.ERR_UNSUPPORTED_EVENT,
            ),
            **common,
        )
    # 4. Duplicates.
    earlier = (
        AdtMessage.objects.filter(
            sending_facility=message.sending_facility[:100],
            control_id=message.control_id[:199],
            status__in=KEY_HOLDERS,
        )
        .select_for_update()
        .first()
    )
    if earlier is not None:
        if earlier.content_hash == _content_hash(message):
            row = _store(
                raw_text=raw_text,
                charset=message.charset,
                transport=transport,
                status=MessageStatus.DUPLICATE,
                ack_code=AA,
                message=message,
                feed=feed,
                duplicate_of=earlier,
                plan_id=earlier.plan_id,
                member_id=earlier.member_id,
                error=f"duplicate of the message received {earlier.received_at:%Y-%m-%d %H:%M:%S %Z}",
            )
            _audit_receive(actor, row)
            return _answer(message, row, AA, "duplicate: already received; nothing changed")
        return _reject(
            message,
            feed=feed,
            error=HL7Error(
                f"control id {message.control_id!r} was already used by this facility for a different message",
                code=AE,
                segment="MSH",
                field=10,
                condition=hl7v2.ERR_DATA_TYPE,
            ),
            **common,
        )
    # 5. Content and matching.
    try:
        facts = _facts(message, feed)
    except HL7Error as exc:
        return _reject(message, feed=feed, error=exc, **common)
    match = matching.match_patient(message, feed, facts.patient)
    patient_fields = {
        "patient_name": f"{facts.patient.family}, {facts.patient.given}".strip(", ")[:200],
        "patient_dob": facts.patient.dob,
        "patient_sex": facts.patient.sex,
    }
    if match.member is None:
        row = _store(
            raw_text=raw_text,
            charset=message.charset,
            transport=transport,
            status=MessageStatus.NEEDS_REVIEW,
            ack_code=AA,
            message=message,
            feed=feed,
            error=f"needs review: {match.reason}",
            candidate_plan_ids=match.candidate_plan_ids,
            **patient_fields,
        )
        _audit_receive(actor, row)
        return _answer(message, row, AA, "accepted; the patient was not matched and is queued for plan review")
    # 6. Apply.
    try:
        with transaction.atomic():
            encounter = _apply(message, facts, feed=feed, member=match.member)
    except HL7Error as exc:
        return _reject(message, feed=feed, error=exc, **common)
    row = _store(
        raw_text=raw_text,
        charset=message.charset,
        transport=transport,
        status=MessageStatus.APPLIED,
        ack_code=AA,
        message=message,
        feed=feed,
        plan_id=match.member.plan_id,
        member=match.member,
        match_method=match.method,
        match_confidence=match.confidence,
        encounter=encounter,
        **patient_fields,
    )
    _audit_receive(actor, row)
    return _answer(message, row, AA, f"applied: {encounter.get_status_display().lower()}")


@dataclass
class Facts:
    patient: matching.Patient
    visit_number: str
    patient_class: str
    location: str
    admitted_at: object
    discharged_at: object
    disposition: str
    diagnosis: str
    event_at: object
    admission_type: str = ""
    hospital_service: str = ""
    diagnosis_codes: tuple[str, ...] = ()


def _facts(message: hl7v2.Message, feed: AdtFeed) -> Facts:
    """What the message says, validated; AE naming the field when it cannot be read."""
    pid = message.segment("PID")
    if pid is None:
        raise HL7Error("PID segment is required", code=AE, segment="PID", condition=hl7v2.ERR_REQUIRED_FIELD)
    pv1 = message.segment("PV1")
    if pv1 is None:
        raise HL7Error("PV1 segment is required", code=AE, segment="PV1", condition=hl7v2.ERR_REQUIRED_FIELD)
    if not pid.get(3) and not pid.get(5):
        raise HL7Error(
            "no patient identifier (PID-3) and no name (PID-5)",
            code=AE,
            segment="PID",
            field=3,
            condition=hl7v2.ERR_REQUIRED_FIELD,
        )
    tz = zoneinfo.ZoneInfo(feed.facility.timezone)

    def when(segment, number: int, name: str):
        if segment is None:
            return None
        try:
            return hl7v2.parse_datetime(segment.get(number), tz)
        except ValueError as exc:
            raise HL7Error(str(exc), code=AE, segment=name, field=number, condition=hl7v2.ERR_DATA_TYPE) from exc

    try:
        dob = hl7v2.parse_date(pid.get(7))
    except ValueError as exc:
        raise HL7Error(str(exc), code=AE, segment="PID", field=7, condition=hl7v2.ERR_DATA_TYPE) from exc
    # The principal diagnosis (DG1-15 priority 1) first, then the others as sent.
    dg1s = sorted(message.all("DG1"), key=lambda d: d.get(15) != "1")
    dg1 = dg1s[0] if dg1s else None
    diagnosis = ""
    if dg1 is not None:
        diagnosis = " ".join(p for p in (dg1.get(3, 1), dg1.get(3, 2) or dg1.get(4)) if p)
    location = pv1.repetitions(3)
    return Facts(
        patient=matching.patient_of(pid, dob),
        visit_number=pv1.get(19),
        patient_class=pv1.get(2)[:8],
        location=" ".join(c for c in (location[0] if location else []) if c)[:200],
        admitted_at=when(pv1, 44, "PV1"),
        discharged_at=when(pv1, 45, "PV1"),
        disposition=(pv1.get(36, 2) or pv1.get(36, 1))[:100],
        diagnosis=diagnosis[:300],
        event_at=when(message.segment("EVN"), 2, "EVN"),
        admission_type=pv1.get(4)[:8],
        hospital_service=pv1.get(10)[:20],
        diagnosis_codes=tuple(code[:20] for d in dg1s if (code := d.get(3, 1))),
    )


def _visit_key(message: hl7v2.Message, facts: Facts) -> str:
    if facts.visit_number:
        return facts.visit_number[:200]
    pid = message.segment("PID")
    started = facts.admitted_at.isoformat() if facts.admitted_at else ""
    return f"{pid.get(3)}@{started}"[:200]


def _attach_known(encounter: Encounter, *, feed: AdtFeed, member: Member) -> None:
    """The encounter's member, facility and plan are objects in hand already (the match, and the
    feed with its plans, `_feed_plans`): the episode code reads them without a query each."""
    encounter.member = member  # the same row: a new encounter is made for it, an old one checked
    if encounter.facility_id == feed.facility_id:
        encounter.facility = feed.facility
    for feed_plan in feed.plans.all():
        if feed_plan.plan_id == encounter.plan_id:
            encounter.plan = feed_plan.plan


def _apply(message: hl7v2.Message, facts: Facts, *, feed: AdtFeed, member: Member) -> Encounter:
    event = message.trigger_event
    key = _visit_key(message, facts)
    encounter = (
        Encounter.objects.select_for_update()
        .filter(plan_id=member.plan_id, sending_facility=feed.sending_facility, visit_key=key)
        .first()
    )
    if encounter is None:
        if event in ("A11", "A13"):
            raise HL7Error(
                f"no admission with visit number {key!r} to cancel",
                code=AE,
                segment="PV1",
                field=19,
                condition=hl7v2.ERR_UNKNOWN_KEY,
            )
        encounter = Encounter(
            plan_id=member.plan_id,
            member=member,
            facility=feed.facility,
            sending_facility=feed.sending_facility,
            visit_key=key,
        )
    elif encounter.member_id != member.pk:
        raise HL7Error(
            f"visit number {key!r} belongs to another patient",
            code=AE,
            segment="PV1",
            field=19,
            condition=hl7v2.ERR_UNKNOWN_KEY,
        )
    _attach_known(encounter, feed=feed, member=member)
    now = timezone.now()
    encounter.patient_class = facts.patient_class or encounter.patient_class
    encounter.location = facts.location or encounter.location
    encounter.diagnosis = facts.diagnosis or encounter.diagnosis
    encounter.admission_type = facts.admission_type or encounter.admission_type
    encounter.hospital_service = facts.hospital_service or encounter.hospital_service
    encounter.diagnosis_codes = list(facts.diagnosis_codes) or encounter.diagnosis_codes
    if event in ("A01", "A04", "A02", "A08"):
        encounter.admitted_at = facts.admitted_at or encounter.admitted_at or facts.event_at or now
        if event in ("A01", "A04"):
            encounter.status = Encounter.Status.REGISTERED if event == "A04" else Encounter.Status.ADMITTED
            encounter.discharged_at = None
        elif not encounter.status:
            encounter.status = Encounter.Status.ADMITTED
        if event == "A08" and facts.discharged_at:
            encounter.discharged_at = facts.discharged_at
    elif event == "A03":
        encounter.status = Encounter.Status.DISCHARGED
        encounter.admitted_at = facts.admitted_at or encounter.admitted_at
        encounter.discharged_at = facts.discharged_at or facts.event_at or now
        encounter.discharge_disposition = facts.disposition or encounter.discharge_disposition
    elif event == "A11":
        encounter.status = Encounter.Status.CANCELLED
    elif event == "A13":
        if encounter.status != Encounter.Status.DISCHARGED:
            raise HL7Error(
                f"visit {key!r} is not discharged; there is no discharge to cancel",
                code=AE,
                segment="PV1",
                field=19,
                condition=hl7v2.ERR_UNKNOWN_KEY,
            )
        encounter.status = (
            Encounter.Status.REGISTERED if encounter.patient_class in ("E", "O") else Encounter.Status.ADMITTED
        )
        encounter.discharged_at = None
        encounter.discharge_disposition = ""
    encounter.last_event = event
    encounter.save()
    episodes.on_encounter(encounter=encounter, event=event)
    return encounter


# ---- The review queue -------------------------------------------------------------------------


@transaction.atomic
def adt_message_match(*, actor: Actor, message: AdtMessage, member: Member, note: str = "") -> AdtMessage:
    """A reviewer says who the patient is: the message is applied as if it had matched."""
    actor.require("organizations.review_adt_messages")
    message = (
        AdtMessage.objects.select_for_update(of=("self",))
        .select_related("feed__facility")
        .prefetch_related(_feed_plans("feed__plans"))
        .get(pk=message.pk)
    )
    _check_move(message, MessageStatus.APPLIED)
    if member.plan_id != actor.organization.pk:
        raise ValidationError({"member": ["Choose a member of your plan."]})
    parsed = hl7v2.parse(message.raw)
    try:
        facts = _facts(parsed, message.feed)
        with transaction.atomic():
            encounter = _apply(parsed, facts, feed=message.feed, member=member)
    except HL7Error as exc:
        raise ValidationError({"member": [f"The message cannot be applied to this member: {exc.text}"]}) from exc
    message.status = MessageStatus.APPLIED
    message.plan_id = member.plan_id
    message.member = member
    message.match_method = MatchMethod.REVIEW
    message.match_confidence = None
    message.encounter = encounter
    message.reviewed_by = actor.user
    message.reviewed_at = timezone.now()
    message.review_note = note
    message.save()
    message.candidate_plans.clear()
    audit.record(
        actor=actor,
        action=audit.Action.UPDATE,
        object_type="adt_message",
        object_id=message.public_id,
        plan_id=member.plan_id,
        member_id=member.pk,
        summary=f"Matched ADT {message.message_type} {message.control_id} to member {member.member_number}",
    )
    return message


@transaction.atomic
def adt_message_dismiss(*, actor: Actor, message: AdtMessage, reason: str) -> AdtMessage:
    """Not one of our members. With other candidate plans the message stays in their queues;
    the last plan to dismiss it closes it."""
    actor.require("organizations.review_adt_messages")
    if not reason.strip():
        raise ValidationError({"reason": ["Say why this message is dismissed."]})
    message = AdtMessage.objects.select_for_update().get(pk=message.pk)
    _check_move(message, MessageStatus.DISMISSED)
    message.candidate_plans.remove(actor.organization)
    note = f"{actor.organization.name}: {reason.strip()}"
    message.review_note = f"{message.review_note}\n{note}".strip()
    if not message.candidate_plans.exists():
        message.status = MessageStatus.DISMISSED
        message.reviewed_by = actor.user
        message.reviewed_at = timezone.now()
    message.save()
    audit.record(
        actor=actor,
        action=audit.Action.UPDATE,
        object_type="adt_message",
        object_id=message.public_id,
        plan_id=actor.organization.pk,
        summary=f"Dismissed ADT {message.message_type} {message.control_id} from the review queue",
    )
    return message


def _check_move(message: AdtMessage, to: str) -> None:
    if to not in REVIEW_ALLOWED.get(message.status, frozenset()):
        raise ValidationError(
            {"status": [f"This message is {message.get_status_display().lower()}; it is no longer in review."]}
        )
