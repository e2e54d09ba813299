"""Which plan member an ADT message is about (README, "Matching").

In order, among the members of the plans that receive the facility's feed:

1. IN1: an insurance segment whose company id (IN1-3) or plan id (IN1-2) is a feed plan's
   payer code, with the member id in IN1-49 (insured's id) or IN1-36 (policy number).
2. PID-3: an identifier whose assigning authority (CX-4) is a feed plan's payer code; or, with
   no authority given, an identifier of type MB (member number) or SN (subscriber number) that
   is a member id in exactly one feed plan.
3. Exact last name and date of birth (PID-5, PID-7), scored on the first name: the same first
   name 0.95, the same initial / one a prefix of the other 0.70, else 0.40. A single candidate at
   0.95 with no other candidate at 0.70 or more matches; anything else goes to review.

An identifier that names a member who does not exist never falls through to name matching: a
wrong id is a reason for a person to look, not for a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from interop.hl7v2 import Message, Segment
from members.models import Member
from transitions.models import AdtFeed, MatchMethod

AUTO_MATCH = Decimal("0.95")
NEAR = Decimal("0.70")
ID_TYPES = {"MB", "SN"}


@dataclass
class Match:
    member: Member | None = None
    method: str = MatchMethod.NONE
    confidence: Decimal | None = None
    reason: str = ""
    candidate_plan_ids: set[int] = field(default_factory=set)


@dataclass
class Patient:
    family: str
    given: str
    dob: object  # date | None
    sex: str


def patient_of(pid: Segment, dob) -> Patient:
    return Patient(
        family=pid.get(5, 1, subcomponent=1),
        given=pid.get(5, 2),
        dob=dob,
        sex=pid.get(8)[:1],
    )


def _members(plan_ids: set[int]):
    # Matching runs as the interface (no actor scope): the feed's plans are the scope.
    return Member.objects.filter(plan_id__in=plan_ids)


def first_name_score(theirs: str, ours: str) -> Decimal:
    a, b = theirs.strip().lower(), ours.strip().lower()
    if a and a == b:
        return AUTO_MATCH
    if a and b and (a.startswith(b) or b.startswith(a) or ((len(a) == 1 or len(b) == 1) and a[0] == b[0])):
        return NEAR
    return Decimal("0.40")


def match_patient(message: Message, feed: AdtFeed, patient: Patient) -> Match:
    feed_plans = {fp.plan_id: fp.payer_code.strip().lower() for fp in feed.plans.all()}
    plan_ids = set(feed_plans)
    if not plan_ids:
        return Match(reason="the feed has no receiving plans")
    by_code: dict[str, int] = {code: plan_id for plan_id, code in feed_plans.items() if code}

    # 1. Insurance segments.
    for in1 in message.all("IN1"):
        plan_id = by_code.get(in1.get(3).lower()) or by_code.get(in1.get(2).lower())
        number = in1.get(49) or in1.get(36)
        if plan_id and number:
            member = _members({plan_id}).filter(member_number=number).first()
            if member is not None:
                return Match(member, MatchMethod.INSURANCE, Decimal("1.00"), candidate_plan_ids={plan_id})
            return Match(reason=f"IN1 member id {number!r} is not a member of the plan", candidate_plan_ids={plan_id})

    # 2. Patient identifiers.
    pid = message.segment("PID")
    repetitions = pid.raw(3).split(pid.delimiters.repetition) if pid.raw(3) else []
    for rep in range(1, len(repetitions) + 1):
        number = pid.get(3, 1, rep)
        authority = pid.get(3, 4, rep, subcomponent=1).lower()
        id_type = pid.get(3, 5, rep).upper()
        if not number:
            continue
        if authority and authority in by_code:
            plan_id = by_code[authority]
            member = _members({plan_id}).filter(member_number=number).first()
            if member is not None:
                return Match(member, MatchMethod.PID_ID, Decimal("1.00"), candidate_plan_ids={plan_id})
            return Match(reason=f"PID-3 member id {number!r} is not a member of the plan", candidate_plan_ids={plan_id})
        if not authority and id_type in ID_TYPES:
            found = list(_members(plan_ids).filter(member_number=number)[:2])
            if len(found) == 1:
                return Match(found[0], MatchMethod.PID_ID, Decimal("0.95"), candidate_plan_ids={found[0].plan_id})
            if len(found) > 1:
                return Match(
                    reason=f"PID-3 member id {number!r} exists in more than one plan",
                    candidate_plan_ids={m.plan_id for m in found},
                )

    # 3. Name and date of birth.
    if not patient.family or patient.dob is None:
        return Match(reason="no member id, and no last name and birth date to match on", candidate_plan_ids=plan_ids)
    candidates = list(
        _members(plan_ids).filter(last_name__iexact=patient.family, date_of_birth=patient.dob).order_by("id")[:20]
    )
    if not candidates:
        return Match(reason="no member with this last name and birth date", candidate_plan_ids=plan_ids)
    scored = sorted(((first_name_score(patient.given, m.first_name), m) for m in candidates), key=lambda x: -x[0])
    best_score, best = scored[0]
    near = [m for s, m in scored[1:] if s >= NEAR]
    if best_score >= AUTO_MATCH and not near:
        return Match(best, MatchMethod.NAME_DOB, best_score, candidate_plan_ids={best.plan_id})
    why = "more than one member could be this patient" if near else "the first name does not match closely enough"
    return Match(reason=f"{why} (best confidence {best_score})", candidate_plan_ids={m.plan_id for m in candidates})
