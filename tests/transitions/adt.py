"""Building ADT messages and a facility feed for tests."""

from __future__ import annotations

import datetime as dt
from itertools import count

from django.utils import timezone

from core import deadlines
from core.models import Deadline
from organizations.models import Organization, Role
from tests.conftest import make_org, make_user
from tests.corpus import corpus_dir
from transitions.models import AdtFeed, AdtFeedPlan, Episode, EpisodeStep

CORPUS = corpus_dir("hl7v2", holding="*.hl7")
FACILITY_CODE = "GHHSFacility"
_ids = count(1)


def make_feed(world, *, code: str = FACILITY_CODE, name: str = "General Hospital") -> AdtFeed:
    """A hospital whose feed both plans receive; plan A is "PLANA" to it, plan B "PLANB"."""
    facility = make_org(Organization.Kind.FACILITY, name)
    feed = AdtFeed.objects.create(facility=facility, sending_facility=code)
    AdtFeedPlan.objects.create(feed=feed, plan=world.plan_a, payer_code="PLANA")
    AdtFeedPlan.objects.create(feed=feed, plan=world.plan_b, payer_code="PLANB")
    return feed


def make_interface_user(feed: AdtFeed, username: str = "ghh_feed"):
    return make_user(feed.facility, username, Role.FACILITY_INTERFACE)


def adt(
    event: str = "A01",
    *,
    control_id: str | None = None,
    facility: str = FACILITY_CODE,
    pid3: str = "MRN123^^^GHH^MR",
    last: str = "Doe",
    first: str = "Jane",
    dob: dt.date | str = "19700101",
    sex: str = "F",
    visit: str = "V1001",
    patient_class: str = "I",
    admitted: str = "20260301083000",
    discharged: str = "",
    in1: str | None = None,
    admission_type: str = "",
    hospital_service: str = "",
    diagnoses: tuple[str, ...] = (),
    end: str = "\r",
) -> str:
    """A small, valid ADT message; fields given as HL7 text."""
    born = dob.strftime("%Y%m%d") if isinstance(dob, dt.date) else dob
    control_id = control_id or f"T{next(_ids):06d}"
    segments = [
        f"MSH|^~\\&|ADT1|{facility}|CARECOORD|CC|20260301090000||ADT^{event}^ADT_{event}|{control_id}|P|2.5.1",
        f"EVN|{event}|20260301090000",
        f"PID|1||{pid3}||{last}^{first}||{born}|{sex}",
        f"PV1|1|{patient_class}|4W^401^A^GHH|{admission_type}|||1234^Attending^Ann|||{hospital_service}|||||||||{visit}"
        + "|" * 17
        + "01^Home"
        + "|" * 8
        + f"{admitted}|{discharged}",
    ]
    if in1:
        segments.append(in1)
    for i, code in enumerate(diagnoses, 1):
        segments.append(f"DG1|{i}||{code}^^I10|||F" + "|" * 9 + ("1" if i == 1 else str(i)))
    return end.join(segments) + end


# ---- Episodes -------------------------------------------------------------------------------------


def hl7_time(moment: dt.datetime, tz) -> str:
    return moment.astimezone(tz).strftime("%Y%m%d%H%M%S")


def discharge(send, world, *, days_ago: float = 0.2, stay_days: int = 3, visit: str = "V1", **kw) -> Episode:
    tz = world.plan_a.tz
    out = timezone.now() - dt.timedelta(days=days_ago)
    admitted = out - dt.timedelta(days=stay_days)
    kw.setdefault("pid3", "A0001^^^PLANA^MB")
    response = send(adt("A03", visit=visit, admitted=hl7_time(admitted, tz), discharged=hl7_time(out, tz), **kw))
    assert response.status_code == 200 and b"MSA|AA" in response.content, response.content
    return Episode.objects.get(encounter__visit_key=visit)


def step(episode: Episode, kind: str) -> EpisodeStep:
    return EpisodeStep.objects.get(episode=episode, kind=kind)


def fire(key_prefix: str) -> list[str]:
    """Make the deadlines under a key prefix due now and fire them as the worker would."""
    rows = list(Deadline.objects.filter(key__startswith=key_prefix, state__in=["pending", "queued"]))
    Deadline.objects.filter(pk__in=[r.pk for r in rows]).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    return [deadlines.fire(r.pk) for r in rows]
