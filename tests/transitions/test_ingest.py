"""ADT in over HTTP: storing, acknowledging, matching, applying, idempotency."""

from __future__ import annotations

import datetime as dt

import pytest
from knox.models import AuthToken

from interop import hl7v2
from tests.conftest import make_member
from tests.transitions.adt import CORPUS, adt, make_feed, make_interface_user
from transitions.models import AdtMessage, Encounter

SUPPORTED = {"A01", "A02", "A03", "A04", "A08", "A11", "A13"}


def acks(response) -> list[hl7v2.Message]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/hl7-v2")
    return [hl7v2.parse(raw) for raw in hl7v2.split_batch(response.content)]


def msa(ack: hl7v2.Message) -> tuple[str, str, str]:
    seg = ack.segment("MSA")
    return seg.get(1), seg.get(2), seg.get(3)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.hl7")), ids=lambda p: p.name)
def test_every_corpus_message_is_applied_or_answered_with_a_reason(world, client_for, path):
    raw = path.read_bytes()
    message = hl7v2.parse(raw)
    feed = make_feed(world, code=message.sending_facility, name=f"Facility {message.sending_facility}")
    response = client_for(make_interface_user(feed)).post(
        "/api/v1/adt/messages/", data=raw, content_type="application/hl7-v2"
    )
    (ack,) = acks(response)
    code, control_id, text = msa(ack)
    assert control_id == message.control_id
    row = AdtMessage.objects.get()
    assert row.raw.replace("\r", "\n").strip() == raw.decode("utf-8-sig").replace("\r", "\n").strip()
    if message.message_type != "ADT":
        assert (code, row.status) == ("AR", "rejected")
        assert "unsupported message type" in text
        assert ack.segment("ERR").get(3) == "200"
    elif message.trigger_event not in SUPPORTED:
        assert (code, row.status) == ("AR", "rejected")
        assert f"unsupported event ADT^{message.trigger_event}" in text
    else:
        # Nobody in the test plans is any of these patients: accepted and queued for review.
        assert (code, row.status) == ("AA", "needs_review"), text
        assert row.patient_name and row.sending_facility == message.sending_facility
    assert ack.msh.get(3) == (message.msh.get(5) or "CARECOORD") and ack.msh.get(5) == message.msh.get(3)


def test_a_discharge_for_a_member_found_by_insurance_id_is_applied(world, send):
    in1 = "IN1|1|GOLD^Gold HMO|PLANA^^^^NIIP|Plan A" + "|" * 32 + "A0001"
    (ack,) = acks(send(adt("A03", in1=in1, last="Nobody", discharged="20260305120000")))
    assert msa(ack)[0] == "AA"
    row = AdtMessage.objects.get()
    assert (row.status, row.member, row.match_method) == ("applied", world.m_a1, "insurance")
    encounter = Encounter.objects.get()
    assert encounter.status == "discharged" and encounter.member == world.m_a1
    assert encounter.discharged_at == dt.datetime(2026, 3, 5, 18, 0, tzinfo=dt.UTC)  # Chicago time, no offset sent


def test_member_id_in_pid3_with_the_plans_assigning_authority_matches(world, send):
    send(adt("A01", pid3="MRN9^^^GHH^MR~B0003^^^PLANB^MB", last="Other"))
    row = AdtMessage.objects.get()
    assert (row.member, row.plan, row.match_method) == (world.m_b3, world.plan_b, "pid_id")


def test_member_number_of_type_mb_without_authority_matches_when_unique(world, send):
    send(adt("A04", pid3="A0002^^^^MB"))
    assert AdtMessage.objects.get().member == world.m_a2
    assert Encounter.objects.get().status == "registered"


def test_name_and_birth_date_match_with_confidence(world, send):
    send(adt("A01", pid3="MRN1^^^GHH^MR", last="ARBOR", first="alice", dob=world.m_a1.date_of_birth))
    row = AdtMessage.objects.get()
    assert (row.member, row.match_method, str(row.match_confidence)) == (world.m_a1, "name_dob", "0.95")


def test_two_possible_members_go_to_review_for_their_plans_only(world, send):
    make_member(world.plan_b, first="Alicia", last="Arbor", member_number="B0099", dob=world.m_a1.date_of_birth)
    (ack,) = acks(send(adt("A01", last="Arbor", first="Ali", dob=world.m_a1.date_of_birth)))
    assert msa(ack)[0] == "AA" and "queued for plan review" in msa(ack)[2]
    row = AdtMessage.objects.get()
    assert row.status == "needs_review" and row.member is None
    assert set(row.candidate_plans.all()) == {world.plan_a, world.plan_b}


def test_a_wrong_member_id_is_reviewed_not_guessed_by_name(world, send):
    send(adt("A01", pid3="Z999^^^PLANA^MB", last="Arbor", first="Alice", dob=world.m_a1.date_of_birth))
    row = AdtMessage.objects.get()
    assert row.status == "needs_review" and "Z999" in row.error
    assert list(row.candidate_plans.all()) == [world.plan_a]


def test_the_same_message_twice_changes_nothing(world, send):
    body = adt("A01", pid3="A0001^^^PLANA^MB", control_id="DUP1")
    first, second = acks(send(body))[0], acks(send(body.replace("\r", "\n")))[0]
    assert msa(first)[:2] == msa(second)[:2] == ("AA", "DUP1")
    assert "duplicate" in msa(second)[2]
    assert Encounter.objects.count() == 1
    statuses = sorted(AdtMessage.objects.values_list("status", flat=True))
    assert statuses == ["applied", "duplicate"]


def test_a_reused_control_id_with_other_content_is_refused(world, send):
    send(adt("A01", pid3="A0001^^^PLANA^MB", control_id="SAME"))
    (ack,) = acks(send(adt("A03", pid3="A0001^^^PLANA^MB", control_id="SAME", discharged="20260302")))
    code, _, text = msa(ack)
    assert code == "AE" and "MSH-10" in text
    assert Encounter.objects.get().status == "admitted"


def test_a11_cancels_the_admission_and_a13_the_discharge(world, send):
    pid3 = "A0001^^^PLANA^MB"
    send(adt("A01", pid3=pid3))
    send(adt("A03", pid3=pid3, discharged="20260304100000"))
    assert Encounter.objects.get().status == "discharged"
    (ack,) = acks(send(adt("A13", pid3=pid3)))
    assert msa(ack)[0] == "AA"
    encounter = Encounter.objects.get()
    assert (encounter.status, encounter.discharged_at) == ("admitted", None)
    send(adt("A11", pid3=pid3))
    assert Encounter.objects.get().status == "cancelled"


def test_transfer_moves_and_update_keeps_the_stay(world, send):
    pid3 = "A0001^^^PLANA^MB"
    send(adt("A01", pid3=pid3))
    send(adt("A02", pid3=pid3).replace("4W^401^A^GHH", "ICU^2^B^GHH"))
    send(adt("A08", pid3=pid3).replace("4W^401^A^GHH", "ICU^2^B^GHH"))
    encounter = Encounter.objects.get()
    assert (encounter.status, encounter.location, encounter.last_event) == ("admitted", "ICU 2 B GHH", "A08")


def test_cancel_of_an_unknown_stay_is_an_application_error(world, send):
    (ack,) = acks(send(adt("A11", pid3="A0001^^^PLANA^MB", visit="NOPE")))
    code, _, text = msa(ack)
    assert code == "AE" and "PV1-19" in text
    assert AdtMessage.objects.get().status == "rejected"


def test_bad_content_is_answered_ae_naming_the_field(world, send):
    (ack,) = acks(send(adt("A01", dob="19701399")))
    code, _, text = msa(ack)
    assert code == "AE" and text.startswith("PID-7")
    assert ack.segment("ERR").get(2) == "PID" and ack.segment("ERR").get(2, 3) == "7"
    missing_pv1 = "\r".join(adt("A01").split("\r")[:3]) + "\r"
    assert msa(acks(send(missing_pv1))[0])[0] == "AE"
    truncated_pid = adt("A01").replace("PID|1||MRN123^^^GHH^MR||Doe^Jane||19700101|F", "PID")
    code, _, text = msa(acks(send(truncated_pid))[0])
    assert code == "AE" and text.startswith("PID-3")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"PID|1||X\r", "MSH"),
        (b"MSH|^^\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\r", "MSH-2"),
        (b"MSH|^~\\&|A|GHHSFacility\r", "MSH-9"),
        (b"MSH|^~\\&|A|GHHSFacility|C|D|2026||ADT^A01|X1|P|2.5||||||UNICODE UTF-8\rPID|1||\xff\xfe\r", "MSH-18"),
    ],
)
def test_malformed_messages_are_rejected_ar_and_stored(send, body, where):
    (ack,) = acks(send(body))
    code, _, text = msa(ack)
    assert code == "AR" and text.startswith(where), text
    assert AdtMessage.objects.get().status == "rejected"


def test_an_oversized_message_is_rejected(send, settings):
    settings.HL7_MAX_MESSAGE_BYTES = 500
    (ack,) = acks(send(adt("A01") + "NTE|1||" + "x" * 600 + "\r"))
    assert msa(ack)[0] == "AR" and "limit" in msa(ack)[2]


def test_a_batch_gets_one_ack_per_message_in_order(world, send):
    body = "".join(adt(e, pid3="A0001^^^PLANA^MB", control_id=f"B{e}") for e in ("A01", "A99", "A03"))
    codes = [msa(a)[:2] for a in acks(send("FHS|^~\\&\rBHS|^~\\&\r" + body + "BTS|3\rFTS|1\r"))]
    assert codes == [("AA", "BA01"), ("AR", "BA99"), ("AA", "BA03")]


def test_json_batch(world, client_for, interface):
    response = client_for(interface).post(
        "/api/v1/adt/messages/",
        data={"messages": [adt("A01", pid3="A0001^^^PLANA^MB", control_id="J1"), "garbage"]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert [(a["control_id"], a["code"]) for a in response.json()["acks"]] == [("J1", "AA"), ("", "AR")]


def test_token_authenticated_interface_can_send(world, client, interface):
    _, token = AuthToken.objects.create(interface)
    response = client.post(
        "/api/v1/adt/messages/", data=adt("A01"), content_type="text/plain", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200 and b"MSA|AA" in response.content


@pytest.mark.parametrize("persona", ["a_admin", "p1_contact", "c_staff"])
def test_only_a_facility_interface_may_send(world, client_for, feed, persona):
    response = client_for(getattr(world, persona)).post(
        "/api/v1/adt/messages/", data=adt("A01"), content_type="text/plain"
    )
    assert response.status_code == 403
    assert not AdtMessage.objects.exists()


def test_anonymous_is_refused(client, feed):
    response = client.post("/api/v1/adt/messages/", data=adt("A01"), content_type="text/plain")
    assert response.status_code in (401, 403)


def test_a_body_over_the_upload_limit_is_refused_unread(send, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = send(adt("A01") * 10)
    assert response.status_code == 413 and "messages" in response.json()
    assert not AdtMessage.objects.exists()


def test_an_empty_body_names_the_field(send):
    response = send(b"")
    assert response.status_code == 400 and "messages" in response.json()


def test_every_message_received_is_audited(world, send, interface):
    from core.models import AuditEvent

    send(adt("A01", pid3="A0001^^^PLANA^MB") + adt("A01", control_id="X", dob="bad"))
    events = AuditEvent.objects.filter(object_type="adt_message", actor=interface).order_by("id")
    assert [(e.action, e.member_id) for e in events] == [("create", world.m_a1.pk), ("create", None)]


def test_stored_raw_text_keeps_what_was_sent(world, send):
    first = adt("A01", pid3="A0001^^^PLANA^MB", end="\n")
    second = adt("A03", pid3="A0001^^^PLANA^MB", end="\r\n")[:-2]  # no final line end
    send(f"\n{first}\n{second}".encode())
    assert list(AdtMessage.objects.order_by("id").values_list("raw", flat=True)) == [first, second]


def test_msh4_naming_two_registered_facilities_is_refused_over_http_and_mllp(world, client_for):
    """MSH-4 = HOSPITAL^CLINIC, both registered: taking either part would let the clinic pass as
    the hospital (and take the hospital's control ids); both transports answer AR and apply
    nothing."""
    from organizations.access import Actor
    from transitions import services
    from transitions.models import Transport

    hospital = make_feed(world, code="HOSPITAL", name="Hospital")
    make_feed(world, code="CLINIC", name="Clinic")
    pid3 = f"{world.m_a1.member_number}^^^PLANA^MB"
    via_http = client_for(make_interface_user(hospital, "hospital_feed")).post(
        "/api/v1/adt/messages/",
        data=adt("A01", pid3=pid3, facility="HOSPITAL^CLINIC", control_id="AMB1"),
        content_type="application/hl7-v2",
    )
    (ack,) = acks(via_http)
    assert msa(ack)[0] == "AR" and "two registered facilities" in msa(ack)[2]
    via_mllp = services.adt_receive(
        raw=adt("A01", pid3=pid3, facility="CLINIC^HOSPITAL", control_id="AMB2").encode(),
        transport=Transport.MLLP,
        actor=Actor.system(),
    )
    assert via_mllp.ack.startswith("MSH") and "|AR|AMB2|" in via_mllp.ack.replace("\r", "|")
    assert not Encounter.objects.exists()
    assert set(AdtMessage.objects.values_list("status", flat=True)) == {"rejected"}


def test_a_bound_feed_refuses_a_message_without_its_certificate_in_process(world):
    from interop.mllp import ClientCertificate
    from organizations.access import Actor
    from transitions import services
    from transitions.models import Transport

    feed = make_feed(world)
    hospital = ClientCertificate("General Hospital ADT", "ab" * 32)
    same_name = ClientCertificate("General Hospital ADT", "cd" * 32)  # another certificate, same CN
    pid3 = f"{world.m_a1.member_number}^^^PLANA^MB"
    cases = (
        ("General Hospital ADT", None, "AR"),
        ("General Hospital ADT", ClientCertificate("Other Clinic ADT", "ef" * 32), "AR"),
        ("General Hospital ADT", hospital, "AA"),
        ("sha256:" + ":".join(["AB"] * 32), hospital, "AA"),  # by fingerprint, as openssl prints it
        ("sha256:" + "ab" * 32, same_name, "AR"),  # the name alone does not pass a fingerprint binding
    )
    for n, (binding, client, code) in enumerate(cases):
        feed.tls_client_subject = binding
        feed.save()
        control_id = f"B{n}"
        got = services.adt_receive(
            raw=adt("A01", pid3=pid3, control_id=control_id).encode(),
            transport=Transport.MLLP,
            actor=Actor.system(),
            tls_client=client,
        )
        assert f"|{code}|{control_id}" in got.ack.replace("\r", "|"), (binding, got.ack)


# Pinned: what one message of a stay costs in SQL statements (transaction control included),
# when the member has a care manager and the practice a point of contact to tell. A change that
# adds a query per message shows here; ADT throughput is bounded by these round trips.
STAY_QUERIES = {"A01": 19, "A08": 12, "A03": 34}


def test_each_message_of_a_stay_costs_a_fixed_number_of_queries(setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from organizations.access import Actor
    from transitions import services

    counts = {}
    for event in STAY_QUERIES:
        message = adt(
            event,
            pid3="A0001^^^PLANA^MB",
            visit="VQ1",
            admitted="20260301083000",
            discharged="20260304101500" if event == "A03" else "",
        )
        with CaptureQueriesContext(connection) as captured:
            received = services.adt_receive(raw=message.encode(), transport="mllp", actor=Actor.system())
        assert received.code == "AA", received.text
        counts[event] = len(captured)
    assert Encounter.objects.get().status == "discharged"
    assert counts == STAY_QUERIES
