"""End to end: who is told what, on which channel — the SMTP sink, the SMS sink and the
Notifiche inbox read after each step of a request's life, the preferences, the triage
promise, an appointment's confirmation and its reminder."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.events import APPOINTMENT_REMINDER_DUE, make_event
from shared.outbox import event_publisher, publish_envelope
from tests.e2e.helpers import VALID_CF, api, request_body, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e
GROUP = "APP_FEA_COMBID"


def triage_matricola() -> str:
    """A matricola of its own whose prefix (00) is in no reference table: the request goes to
    triage, and no other test's notices share it."""
    return f"00{secrets.randbelow(10**8):08d}"


def mobile() -> tuple[str, str]:
    """A fresh Italian mobile number as typed and in E.164."""
    digits = f"347{secrets.randbelow(10**7):07d}"
    return digits, f"+39{digits}"


def sms_to(infra, number):
    return [sms for sms in infra.sms() if sms["recipient"] == [number]]


def mails_to(infra, address):
    return [mail for mail in infra.mails() if mail["To"] == address]


def inbox(stack, tok, expected: int, **params):
    def listed():
        answer = api(stack, "GET", "/api/v1/notifications", tok, params=params)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        return found if found["total"] >= expected else None

    return wait_until(listed, timeout=20)


def test_each_step_of_a_request_reaches_inbox_mail_and_sms_as_the_table_says(stack, infra):
    office = secrets.token_hex(3)
    writer = token(patronato="001", ufficio=office, sub=f"op-{office}")
    colleague = token("patronato_referente", patronato="001", ufficio=office)
    stranger = token(patronato="001", ufficio=secrets.token_hex(3))
    email = f"op-{office}@patronato.example"
    typed, number = mobile()

    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        writer,
        json=request_body(email, contacts={"email": email, "sms": typed}),
    )
    assert created.status_code == 201, created.text
    request_id, protocol = created.json()["id"], created.json()["protocol"]
    detail = routed_detail(stack, writer, request_id)
    official = token("sede_operatore", sede=detail["assignment"]["code"], groups=[GROUP])

    listed = inbox(stack, writer, 2)
    assert [item["kind"] for item in listed["items"]] == ["request_routed", "protocol_registered"]
    assert listed["unread"] == 2

    for path, body in (
        ("take", {}),
        ("replies", {"text": "Ecco la risposta."}),
        ("close", {"outcome": "Informazioni fornite", "enable_booking": True}),
    ):
        step = api(stack, "POST", f"/api/v1/requests/{request_id}/{path}", official, json=body)
        assert step.status_code == 200, step.text

    listed = inbox(stack, writer, 5)
    kinds = [item["kind"] for item in listed["items"]]
    assert kinds == [
        "request_closed",
        "request_answered",
        "request_taken_in_charge",
        "request_routed",
        "protocol_registered",
    ]
    assert all(item["protocol"] == protocol for item in listed["items"])
    # the colleague of the same office sees them; another office does not
    assert inbox(stack, colleague, 5)["total"] == 5
    assert api(stack, "GET", "/api/v1/notifications", stranger).json()["total"] == 0

    # e-mail for every kind, SMS only where the table says so (not for taking in charge or answers)
    mails = wait_until(lambda: (found := mails_to(infra, email)) and len(found) >= 5 and found, timeout=20)
    subjects = sorted(str(mail["Subject"]) for mail in mails)
    assert len(subjects) == 5 and f"Richiesta n. {protocol} presa in carico" in subjects
    assert all(mail.get_body(preferencelist=("html",)) is not None for mail in mails)
    texts = wait_until(lambda: (found := sms_to(infra, number)) and len(found) >= 3 and found, timeout=20)
    assert len(texts) == 3
    assert all(text["message"].startswith(f"INPS: la richiesta n. {protocol}") for text in texts)
    deliveries = api(stack, "GET", f"/api/v1/requests/{request_id}/deliveries", writer).json()
    by_channel = {(d["channel"], d["template"]): d["status"] for d in deliveries}
    assert by_channel[("sms", "request_closed")] == "sent" and ("sms", "request_answered") not in by_channel
    assert by_channel[("email", "request_answered")] == "sent"

    # read one, then all: the count is the reader's own
    first = listed["items"][0]["id"]
    read = api(stack, "POST", f"/api/v1/notifications/{first}/read", writer)
    assert read.status_code == 200 and read.json()["read"] is True
    assert api(stack, "GET", "/api/v1/notifications", writer).json()["unread"] == 4
    assert api(stack, "POST", "/api/v1/notifications/read-all", writer).json() == {"marked": 4, "unread": 0}
    assert api(stack, "GET", "/api/v1/notifications", colleague).json()["unread"] == 5
    assert api(stack, "POST", f"/api/v1/notifications/{first}/read", stranger).status_code == 404


def test_preferences_switch_a_channel_off_but_keep_the_notice(stack, infra):
    office = secrets.token_hex(3)
    writer = token(patronato="001", ufficio=office)
    email = f"pref-{office}@patronato.example"
    typed, number = mobile()
    chosen = api(
        stack,
        "PUT",
        "/api/v1/notifications/preferences",
        writer,
        json={"preferences": [{"kind": "request_routed", "email": False, "sms": False}]},
    )
    assert chosen.status_code == 200, chosen.text
    routed_choice = next(p for p in chosen.json()["preferences"] if p["kind"] == "request_routed")
    assert (routed_choice["email"], routed_choice["sms"]) == (False, False)

    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        writer,
        json=request_body(email, contacts={"email": email, "sms": typed}),
    )
    request_id = created.json()["id"]
    assert [item["kind"] for item in inbox(stack, writer, 2)["items"]] == [
        "request_routed",
        "protocol_registered",
    ]

    def told():
        statuses = {
            (d["channel"], d["template"]): (d["status"], d["error"])
            for d in api(stack, "GET", f"/api/v1/requests/{request_id}/deliveries", writer).json()
        }
        return (
            statuses
            if ("sms", "request_routed") in statuses
            and statuses[("email", "protocol_registered")][0] == "sent"
            else None
        )

    statuses = wait_until(told, timeout=20)
    assert statuses[("email", "request_routed")][0] == "skipped"
    assert statuses[("sms", "request_routed")][0] == "skipped"
    assert "preferenze" in statuses[("email", "request_routed")][1]
    assert [str(m["Subject"]).split(" n.")[0] for m in mails_to(infra, email)] == ["Richiesta protocollata"]
    assert len(sms_to(infra, number)) == 1


def test_a_triaged_request_is_told_when_someone_takes_it_in_charge(stack, infra):
    matricola = triage_matricola()
    company = token("azienda", matricole=[matricola], sub=f"az-{uuid.uuid4().hex[:6]}")
    email = f"az-{uuid.uuid4().hex[:6]}@azienda.example"
    body = {
        "subject": "generico_informativo",
        "text": "Informazioni",
        "matricola": matricola,
        "contacts": {"email": email},
    }
    created = api(stack, "POST", "/api/v1/requests", company, json=body)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert routed_detail(stack, company, request_id)["assignment"]["kind"] == "triage"
    first = wait_until(lambda: (found := mails_to(infra, email)) and len(found) >= 2 and found, timeout=20)
    routed_mail = next(m for m in first if "assegnazione" in str(m["Subject"]))
    assert "Riceverà un nuovo avviso" in routed_mail.get_body(preferencelist=("plain",)).get_content()

    taken = api(stack, "POST", f"/api/v1/requests/{request_id}/take", token("admin"), json={})
    assert taken.status_code == 200, taken.text

    inbox(stack, company, 1, kind="request_taken_in_charge")  # told
    kinds = [item["kind"] for item in inbox(stack, company, 3)["items"]]
    assert kinds[0] == "request_taken_in_charge", kinds  # newest first
    mails = wait_until(lambda: (found := mails_to(infra, email)) and len(found) >= 3 and found, timeout=20)
    assert any("presa in carico" in str(mail["Subject"]) for mail in mails)


def test_an_appointment_confirmation_carries_its_ics_and_a_reminder_is_told_once(stack, infra):
    office = secrets.token_hex(3)
    booker = token(patronato="001", ufficio=office, sub=f"book-{office}")
    email = f"book-{office}@patronato.example"
    typed, number = mobile()
    first = datetime.now(UTC).date() + timedelta(days=1)
    window = {"from": first.isoformat(), "to": (first + timedelta(days=20)).isoformat()}
    punti = api(stack, "GET", "/api/v1/agenda/punti", booker).json()
    punto = next(p for p in punti if "in_person" in p["modalities"] and "pensioni" in p["topics"])["punto_id"]
    params = {"punto": punto, **window, "modality": "in_person"}
    answer = api(stack, "GET", "/api/v1/agenda/availability", booker, params=params)
    assert answer.status_code == 200, answer.text
    free = answer.json()["slots"]
    booking = {
        "punto_id": punto,
        "slot_start": free[0]["start"],
        "modality": "in_person",
        "topic": "pensioni",
        "codici_fiscali": [VALID_CF],
        "contact": {"email": email, "phone": typed},
        "motivazione": "Chiarimenti sulla pensione",
    }
    booked = api(stack, "POST", "/api/v1/appointments", booker, json=booking)
    assert booked.status_code == 201, booked.text

    (confirmation,) = wait_until(lambda: mails_to(infra, email), timeout=20)
    (ics,) = list(confirmation.iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    (notice,) = inbox(stack, booker, 1)["items"]
    assert (notice["kind"], notice["booking_id"]) == ("appointment_booked", booked.json()["id"])
    assert wait_until(lambda: sms_to(infra, number), timeout=20)

    # agenda's reminder, delivered twice by the broker (a redelivery): told once
    facts = {
        key: booked.json()[key] if key in booked.json() else None
        for key in ("punto_id", "modality", "topic", "slot_start", "slot_end")
    }
    reminder = make_event(
        APPOINTMENT_REMINDER_DUE,
        {
            **facts,
            "booking_id": booked.json()["id"],
            "request_id": None,
            "punto_name": "Punto di prova",
            "punto_address": "Via di prova 1",
            "sede": "7000",
            "region": "Lazio",
            "booked_by": f"book-{office}",
            "booked_by_role": "patronato_operatore",
            "contact": {"email": email, "phone": typed},
            "at": datetime.now(UTC).isoformat(),
            "lead_minutes": 1440,
            "room_url": None,
        },
        producer="agenda",
    ).to_message()
    publisher = event_publisher(stack.env["AMQP_URI"])
    publish_envelope(publisher, reminder)
    publish_envelope(publisher, reminder)

    reminded = wait_until(lambda: (found := mails_to(infra, email)) and len(found) >= 2 and found, timeout=20)
    listed = inbox(stack, booker, 2)
    assert [item["kind"] for item in listed["items"]] == ["appointment_reminder", "appointment_booked"]
    wait_until(lambda: len(sms_to(infra, number)) >= 2, timeout=20)
    time.sleep(3)  # a little longer: the second copy of the event must not have told anyone again
    assert len(mails_to(infra, email)) == len(reminded) == 2
    assert len(sms_to(infra, number)) == 2
    assert api(stack, "GET", "/api/v1/notifications", booker).json()["total"] == 2
