"""Agenda Appuntamenti through the gateway: a patronato books from a request the office closed
with booking enabled (confirmation e-mail with the .ics and the web meeting room), finds the
booking in its home and by codice fiscale; the refusals of a booking (a third citizen, no
motivazione, a slot just taken, a request that does not allow it yet); a company books at
its matricola's sede with a document; the office cancels and the slot is free again."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.e2e.helpers import VALID_CF, api, mails_to, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

OTHER_CF = "VRDGPP80A01H501U"
GROUP = "APP_FEA_COMBID"
MATRICOLA = "7012345678"
PDF = b"%PDF-1.4 visura"


def official_of(sede: str) -> str:
    return token("sede_operatore", sub=f"funz-agenda-{sede}", sede=sede, groups=[GROUP])


def submit(stack, tok, body) -> tuple[str, str]:
    created = api(stack, "POST", "/api/v1/requests", tok, json=body)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    return request_id, routed_detail(stack, tok, request_id)["assignment"]["code"]


def close_with_booking(stack, tok, request_id: str, sede: str) -> None:
    closed = api(
        stack,
        "POST",
        f"/api/v1/requests/{request_id}/close",
        official_of(sede),
        json={"outcome": "Serve un approfondimento", "enable_booking": True},
    )
    assert closed.status_code == 200, closed.text

    def allowed():
        detail = api(stack, "GET", f"/api/v1/requests/{request_id}", tok).json()
        return detail["booking"]["allowed"] is True

    wait_until(allowed, timeout=20)


def punto_of(stack, tok, sede: str, modality: str) -> dict:
    punti = api(stack, "GET", "/api/v1/agenda/punti", tok, params={"sede": sede})
    assert punti.status_code == 200, punti.text
    return next(p for p in punti.json() if modality in p["modalities"] and "pensioni" in p["topics"])


def free_slots(stack, tok, punto_id: str, **filters) -> list[str]:
    first = date.today() + timedelta(days=1)
    params = {"punto": punto_id, "from": first.isoformat(), "to": (first + timedelta(days=20)).isoformat()}
    answer = api(stack, "GET", "/api/v1/agenda/availability", tok, params={**params, **filters})
    assert answer.status_code == 200, answer.text
    return [slot["start"] for slot in answer.json()["slots"]]


def booking(punto_id: str, slot: str, email: str, **overrides) -> dict:
    body = {
        "punto_id": punto_id,
        "slot_start": slot,
        "modality": "web_meeting",
        "topic": "pensioni",
        "codici_fiscali": [VALID_CF],
        "contact": {"email": email},
        "motivazione": "Chiarimenti sulla pensione anticipata",
    }
    body.update(overrides)
    return body


def mail_with(infra, address: str, subject_start: str):
    def found():
        return next((m for m in mails_to(infra, address) if m["Subject"].startswith(subject_start)), None)

    return wait_until(found, timeout=20)


def test_a_patronato_books_from_an_eligible_request_and_the_office_cancels(stack, infra):
    office = uuid.uuid4().hex[:6]
    email = f"agenda-{office}@patronato.example"
    patronato = token(sub=f"op-agenda-{office}", ufficio=office)
    request_id, sede = submit(
        stack,
        patronato,
        {
            "subject": "requisiti_accesso",
            "text": "Quali requisiti per la pensione anticipata?",
            "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
            "contacts": {"email": email},
        },
    )
    # a fresh request does not allow booking yet: refused with the reason
    punto = punto_of(stack, patronato, sede, "web_meeting")
    slots = free_slots(stack, patronato, punto["punto_id"], modality="web_meeting", topic="pensioni")
    assert len(slots) >= 2
    early = api(
        stack,
        "POST",
        "/api/v1/appointments",
        patronato,
        json=booking(punto["punto_id"], slots[0], email, request_id=request_id),
    )
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "booking_not_allowed"
    assert early.json()["reason_code"] and early.json()["detail"]

    close_with_booking(stack, patronato, request_id, sede)

    # a third codice fiscale, a booking without motivazione: refused
    third = api(
        stack,
        "POST",
        "/api/v1/appointments",
        patronato,
        json=booking(
            punto["punto_id"],
            slots[0],
            email,
            request_id=request_id,
            codici_fiscali=[VALID_CF, OTHER_CF, "BNCLRA90M41F205Z"],
        ),
    )
    assert third.status_code == 422, third.text
    assert "too_many_citizens" in {error["code"] for error in third.json()["errors"]}
    silent = booking(punto["punto_id"], slots[0], email, request_id=request_id)
    del silent["motivazione"]
    refused = api(stack, "POST", "/api/v1/appointments", patronato, json=silent)
    assert refused.status_code == 422, refused.text
    assert "motivazione_required" in {error["code"] for error in refused.json()["errors"]}

    created = api(
        stack,
        "POST",
        "/api/v1/appointments",
        patronato,
        json=booking(punto["punto_id"], slots[0], email, request_id=request_id),
    )
    assert created.status_code == 201, created.text
    appointment = created.json()
    assert created.headers["Location"] == f"/api/v1/appointments/{appointment['id']}"
    assert appointment["state"] == "confirmed" and appointment["room_url"]

    confirmation = mail_with(infra, email, "Appuntamento confermato")
    assert appointment["room_url"] in confirmation.get_body(preferencelist=("plain",)).get_content()
    (ics,) = list(confirmation.iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_filename() == f"appuntamento-{appointment['id']}.ics"

    download = api(stack, "GET", f"/api/v1/appointments/{appointment['id']}/ics", patronato)
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/calendar")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert b"BEGIN:VEVENT" in download.content

    home = api(stack, "GET", "/api/v1/appointments", patronato).json()
    assert appointment["id"] in [item["id"] for item in home["items"]]
    by_cf = api(stack, "GET", "/api/v1/appointments", patronato, params={"codice_fiscale": VALID_CF}).json()
    assert [item["id"] for item in by_cf["items"]] == [appointment["id"]]
    assert slots[0] not in free_slots(stack, patronato, punto["punto_id"])

    # another patronato on the same slot: taken
    other = token(sub=f"op-agenda-other-{office}", ufficio=f"x{office}")
    taken = api(
        stack,
        "POST",
        "/api/v1/appointments",
        other,
        json=booking(punto["punto_id"], slots[0], email, codici_fiscali=[OTHER_CF]),
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "slot_taken"

    # the office cancels: the slot is free again and the requester is told
    cancelled = api(
        stack,
        "POST",
        f"/api/v1/appointments/{appointment['id']}/cancel",
        official_of(sede),
        json={"reason": "Chiusura straordinaria della sede"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled_by_office"
    assert slots[0] in free_slots(stack, patronato, punto["punto_id"])
    mail_with(infra, email, "Appuntamento annullato dalla sede")


def test_a_company_books_at_its_matricola_s_sede_with_a_document(stack, infra):
    suffix = uuid.uuid4().hex[:6]
    email = f"azienda-{suffix}@azienda.example"
    company = token("azienda", sub=f"azienda-agenda-{suffix}", matricole=[MATRICOLA])
    request_id, sede = submit(
        stack,
        company,
        {"subject": "generico_informativo", "text": "Chiarimenti sui contributi", "matricola": MATRICOLA},
    )
    close_with_booking(stack, company, request_id, sede)
    upload = api(stack, "POST", "/api/v1/attachments", company, files={"file": ("visura.pdf", PDF)})
    assert upload.status_code == 201, upload.text
    punto = punto_of(stack, company, sede, "in_person")
    slot = free_slots(stack, company, punto["punto_id"], modality="in_person")[0]

    created = api(
        stack,
        "POST",
        "/api/v1/appointments",
        company,
        json=booking(
            punto["punto_id"],
            slot,
            email,
            request_id=request_id,
            modality="in_person",
            codici_fiscali=[OTHER_CF],
            attachments=[upload.json()["id"]],
        ),
    )

    assert created.status_code == 201, created.text
    appointment = created.json()
    assert appointment["sede"] == sede and appointment["matricola"] == MATRICOLA
    assert appointment["attachments"] == [upload.json()["id"]]
    assert appointment["room_url"] is None
    mail_with(infra, email, "Appuntamento confermato")
