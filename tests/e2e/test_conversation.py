"""A whole conversation through the gateway, and a contact-center fax reaching a company's
history: every service as a process, real broker, database, object store and SMTP sink."""

from __future__ import annotations

import uuid

import pytest

from shared.contact_center import ContactCenterPublisher
from tests.e2e.helpers import VALID_CF, api, mails_to, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e


def test_submit_take_answer_follow_up_close(stack, infra):
    office = uuid.uuid4().hex[:6]
    requester = token(sub=f"op-{office}", ufficio=office)
    email = f"op-{office}@patronato.example"
    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        requester,
        json={
            "subject": "requisiti_accesso",
            "text": "Quali requisiti per l'assegno di inclusione?",
            "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
            "contacts": {"email": email},
        },
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    sede = routed_detail(stack, requester, request_id)["assignment"]["code"]
    official = token("sede_operatore", sub=f"funz-{sede}", sede=sede, groups=["APP_FEA_COMBID"])

    queue = api(
        stack,
        "GET",
        "/api/v1/requests",
        official,
        params={"origin": "patronato", "state": "open", "page_size": 100},
    ).json()
    assert request_id in [item["id"] for item in queue["items"]]

    assert (
        api(
            stack, "POST", f"/api/v1/requests/{request_id}/take", official, json={"comment": "In lavorazione"}
        ).json()["state"]
        == "in_progress"
    )
    assert (
        api(
            stack,
            "POST",
            f"/api/v1/requests/{request_id}/replies",
            official,
            json={"text": "Servono ISEE e residenza."},
        ).status_code
        == 200
    )
    followup = api(
        stack,
        "POST",
        f"/api/v1/requests/{request_id}/followups",
        requester,
        json={"text": "L'ISEE 2025 va bene?"},
    )
    assert followup.json()["followups_left"] == 1
    closed = api(
        stack,
        "POST",
        f"/api/v1/requests/{request_id}/close",
        official,
        json={"outcome": "Informazioni fornite", "enable_booking": True},
    )
    assert closed.json()["state"] == "closed"

    detail = api(stack, "GET", f"/api/v1/requests/{request_id}", requester).json()
    assert detail["state"] == "closed" and detail["outcome"] == "Informazioni fornite"
    assert [m["kind"] for m in detail["thread"]] == ["answer", "followup"]
    assert [c["to_state"] for c in detail["state_history"]] == ["open", "in_progress", "closed"]
    assert detail["state_history"][1]["comment"] == "In lavorazione"

    # agenda learns from the events that the official enabled booking
    def booking():
        current = api(stack, "GET", f"/api/v1/requests/{request_id}", requester).json()["booking"]
        return current if current["allowed"] else None

    assert wait_until(booking, timeout=15)["reason_code"] == "enabled_by_office"
    subjects = [
        m["Subject"]
        for m in wait_until(lambda: len(mails_to(infra, email)) >= 3 and mails_to(infra, email), timeout=15)
    ]
    assert any("chiusa" in subject.lower() for subject in subjects)

    third_party = token(sub="other", patronato="002", ufficio="0009")
    assert api(stack, "GET", f"/api/v1/requests/{request_id}", third_party).status_code == 404


def test_refusals_are_problem_documents_with_codes(stack):
    office = uuid.uuid4().hex[:6]
    requester = token(sub=f"op-{office}", ufficio=office)
    request_id = api(
        stack,
        "POST",
        "/api/v1/requests",
        requester,
        json={
            "subject": "requisiti_accesso",
            "text": "Domanda",
            "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
        },
    ).json()["id"]
    reminder = api(stack, "POST", f"/api/v1/requests/{request_id}/reminders", requester)
    assert reminder.status_code == 409
    assert reminder.headers["Content-Type"].startswith("application/problem+json")
    assert reminder.json()["code"] == "reminder_too_early"
    assert reminder.json()["reminder_allowed_from"]
    followup = api(stack, "POST", f"/api/v1/requests/{request_id}/followups", requester, json={"text": "?"})
    assert (followup.status_code, followup.json()["code"]) == (409, "no_answer_yet")
    malformed = api(
        stack,
        "POST",
        "/api/v1/requests",
        requester,
        json={
            "subject": "sollecito_domanda",
            "text": "x",
            "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
            "case_identifier": {"kind": "protocollo", "value": "INPS.12.01/01/2026.1"},
        },
    )
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0] == {
        "field": "case_identifier.value",
        "code": "invalid_protocollo",
        "detail": "Formato non valido per il numero protocollo: esempio INPS.7000.15/03/2026.0012345.",
    }
    executable = api(
        stack,
        "POST",
        "/api/v1/attachments",
        requester,
        files={"file": ("fattura.pdf", b"MZ\x90\x00" + b"\x00" * 100)},
    )
    assert (executable.status_code, executable.json()["errors"][0]["code"]) == (422, "file_type_not_allowed")
    too_big = api(
        stack,
        "POST",
        "/api/v1/attachments",
        requester,
        files={"file": ("grande.pdf", b"%PDF-1.4" + b"0" * (6 * 1024 * 1024 - 7))},
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "file_too_large")


def test_contact_center_fax_appears_in_the_company_history(stack, infra):
    matricola = "70" + "".join(str(int(c, 16) % 10) for c in uuid.uuid4().hex[:8])
    with ContactCenterPublisher(infra.amqp_uri) as publisher:
        envelope = publisher.publish(
            kind="fax_inbound",
            matricola=matricola,
            sender="Studio Bianchi",
            subject="Invio DM10",
            text="DM10 di marzo",
        )
    company = token("azienda", sub=f"az-{matricola}", matricole=[matricola])

    def history():
        items = api(stack, "GET", "/api/v1/requests", company, params={"matricola": matricola}).json()[
            "items"
        ]
        return items or None

    items = wait_until(history, timeout=15)
    assert [(item["origin"], item["matricola"]) for item in items] == [("fax", matricola)]
    detail = api(stack, "GET", f"/api/v1/requests/{items[0]['id']}", company).json()
    assert "DM10 di marzo" in detail["text"]
    assert envelope["payload"]["message_id"]
