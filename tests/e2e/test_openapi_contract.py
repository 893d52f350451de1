"""The document is the truth, checked on the running system: a whole conversation goes
through every operation of ``/api/v1/openapi.json``, with the roles that may do each step,
and every answer is validated against the document (schemathesis's validator: fields,
types, nullability, no undeclared field). The stack runs in development, where a route
answering a field its schema does not declare is a 500: so is a service that starts
returning something new before ``shared.contracts`` declares it. A documented path that no
route serves answers 404 here, and the walk fails on it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import schemathesis

from tests.e2e.helpers import VALID_CF, api, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4 contratto\n"
ROMA, RIETI = "0704", "0703"
MATRICOLA = "7012345678"


class Walk:
    """Calls the gateway and validates each answer against the operation it documents."""

    def __init__(self, stack):
        self.stack = stack
        self.document = api(stack, "GET", "/api/v1/openapi.json").json()
        self.schema = schemathesis.openapi.from_dict(self.document)
        self.done: set[tuple[str, str]] = set()

    def __call__(self, method, template, status, tok=None, *, binary=False, **kwargs):
        path = template.format(**kwargs.pop("params_path", {}))
        response = api(self.stack, method, path, tok, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text[:2000])
        operation = self.schema[template][method]
        if not binary:
            operation.validate_response(response)
        self.done.add((method, template))
        return response


@pytest.fixture(scope="module")
def walk(stack):
    return Walk(stack)


def test_a_whole_conversation_answers_what_the_document_declares(walk):
    office = uuid.uuid4().hex[:6]
    requester = token(sub=f"op-{office}", ufficio=office)
    official = token("sede_operatore", sede=ROMA, groups=["APP_FEA_COMBID"])
    admin = token("admin")
    company = token("azienda", sub=f"az-{office}", matricole=[MATRICOLA])

    walk("GET", "/health", 200)
    walk("GET", "/ready", 200)
    walk("GET", "/api/v1/openapi.json", 200)
    walk("GET", "/api/v1/subjects", 200, requester)

    upload = walk("POST", "/api/v1/attachments", 201, requester, files={"file": ("domanda.pdf", PDF)})
    attachment_id = upload.json()["id"]
    created = walk(
        "POST",
        "/api/v1/requests",
        201,
        requester,
        json={
            "subject": "requisiti_accesso",
            "text": "Quali requisiti per la pensione anticipata?",
            "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
            "attachments": [attachment_id],
            "contacts": {"email": f"op-{office}@patronato.example"},
        },
    )
    request_id = created.json()["id"]
    assert created.headers["Location"] == f"/api/v1/requests/{request_id}"
    ids = {"request_id": request_id, "attachment_id": attachment_id}
    assert routed_detail(walk.stack, requester, request_id)["assignment"]["code"] == ROMA

    walk("GET", "/api/v1/requests/{request_id}", 200, requester, params_path=ids)
    walk("GET", "/api/v1/requests/{request_id}", 200, official, params_path=ids)
    walk(
        "GET",
        "/api/v1/requests/{request_id}/attachments/{attachment_id}",
        200,
        requester,
        binary=True,
        params_path=ids,
    )
    walk("GET", "/api/v1/requests", 200, official, params={"state": "open", "page_size": 5})

    walk(
        "POST",
        "/api/v1/requests/{request_id}/take",
        200,
        official,
        params_path=ids,
        json={"comment": "Preso"},
    )
    walk(
        "POST",
        "/api/v1/requests/{request_id}/replies",
        200,
        official,
        params_path=ids,
        json={"text": "Servono ISEE e residenza."},
    )
    walk(
        "POST",
        "/api/v1/requests/{request_id}/followups",
        200,
        requester,
        params_path=ids,
        json={"text": "Ok?"},
    )
    refused = walk(
        "POST", "/api/v1/requests/{request_id}/reminders", 409, requester, params_path=ids, json={}
    )
    assert refused.json()["code"] == "already_answered"
    walk(
        "POST",
        "/api/v1/requests/{request_id}/subject",
        200,
        official,
        params_path=ids,
        json={"subject": "sollecito_domanda"},
    )
    walk(
        "POST",
        "/api/v1/requests/{request_id}/assignment",
        200,
        admin,
        params_path=ids,
        json={"sede": RIETI, "reason": "Il cittadino risiede a Rieti"},
    )
    walk("GET", "/api/v1/routing/decisions/{request_id}", 200, admin, params_path=ids)
    walk(
        "POST",
        "/api/v1/requests/{request_id}/close",
        200,
        admin,
        params_path=ids,
        json={"outcome": "Informazioni fornite", "enable_booking": True},
    )

    def booked():
        detail = walk("GET", "/api/v1/requests/{request_id}", 200, requester, params_path=ids).json()
        return detail if detail["booking"]["allowed"] else None

    closed = wait_until(booked, timeout=15)
    assert closed["outcome"] == "Informazioni fornite" and closed["closed_at"]
    assert [message["kind"] for message in closed["thread"]] == ["answer", "followup"]

    # the agenda: book from the request, read, download, move, cancel; the office's side
    walk("GET", "/api/v1/agenda/punti", 200, requester, params={"sede": ROMA})
    first = date.today() + timedelta(days=1)
    window = {"from": first.isoformat(), "to": (first + timedelta(days=13)).isoformat()}
    free = walk(
        "GET",
        "/api/v1/agenda/availability",
        200,
        requester,
        params={"punto": f"{ROMA}-S", **window, "modality": "web_meeting"},
    ).json()["slots"]
    appointment = {
        "request_id": request_id,
        "punto_id": f"{ROMA}-S",
        "slot_start": free[0]["start"],
        "modality": "web_meeting",
        "topic": "pensioni",
        "codici_fiscali": [VALID_CF],
        "contact": {"email": f"op-{office}@patronato.example"},
        "motivazione": "Chiarimenti",
    }
    booking_id = walk("POST", "/api/v1/appointments", 201, requester, json=appointment).json()["id"]
    booked_ids = {"booking_id": booking_id}
    walk("GET", "/api/v1/appointments", 200, requester, params={"codice_fiscale": VALID_CF})
    walk("GET", "/api/v1/appointments/{booking_id}", 200, requester, params_path=booked_ids)
    walk("GET", "/api/v1/appointments/{booking_id}/ics", 200, requester, binary=True, params_path=booked_ids)
    moved = walk(
        "POST",
        "/api/v1/appointments/{booking_id}/reschedule",
        200,
        requester,
        params_path=booked_ids,
        json={**appointment, "slot_start": free[1]["start"]},
    ).json()
    moved_ids = {"booking_id": moved["id"]}
    walk(
        "PUT",
        "/api/v1/agenda/punti/{punto_id}/availability",
        200,
        official,
        params_path={"punto_id": f"{ROMA}-S"},
        json={},
    )
    walk("GET", "/api/v1/agenda/day", 200, official, params={"punto": f"{ROMA}-S", "date": first.isoformat()})
    walk(
        "POST",
        "/api/v1/appointments/{booking_id}/cancel",
        200,
        official,
        params_path=moved_ids,
        json={"reason": "Prova"},
    )
    walk(
        "POST",
        "/api/v1/appointments/{booking_id}/outcome",
        409,
        official,
        params_path=moved_ids,
        json={"outcome": "held"},
    )

    cassetto = walk(
        "POST",
        "/api/v1/requests",
        201,
        company,
        json={"subject": "generico_informativo", "text": "Richiesta", "matricola": MATRICOLA},
    )
    walk(
        "GET",
        "/api/v1/requests/{request_id}",
        200,
        company,
        params_path={"request_id": cassetto.json()["id"]},
    )
    walk(
        "POST",
        "/api/v1/outbound",
        201,
        official,
        json={
            "recipient": {"kind": "azienda", "matricola": MATRICOLA},
            "subject": "Convocazione",
            "text": "Testo",
        },
    )
    walk(
        "PUT",
        "/api/v1/patronato/operators/{operator_id}/profile",
        200,
        token("patronato_admin", patronato="001"),
        params_path={"operator_id": f"op-{office}"},
        json={"referente_regionale": True},
    )
    walk(
        "GET",
        "/api/v1/routing/explain",
        200,
        official,
        params={
            "channel": "combipat",
            "profile": "operatore_generico",
            "subject": "requisiti_accesso",
            "cap": "00184",
        },
    )
    walk("GET", "/api/v1/routing/sedi", 200, official, params={"region": "Lazio"})
    walk("GET", "/api/v1/routing/versions", 200, admin)
    walk("GET", "/api/v1/admin/status", 200, admin)
    crm = walk("GET", "/api/v1/crm/conversations", 200, official, params={"codice_fiscale": VALID_CF})
    assert crm.json()["total"] >= 1
    walk(
        "GET",
        "/api/v1/crm/conversations",
        422,
        official,
        params={"codice_fiscale": VALID_CF, "matricola": MATRICOLA},
    )
    audit = walk("GET", "/api/v1/crm/audit", 200, admin, params={"codice_fiscale": VALID_CF, "page_size": 5})
    assert audit.json()["items"][0]["subject_value"] == VALID_CF

    # Notifiche: the requester's inbox (notify works on its own time: wait for the notices)
    def notices():
        listed = walk("GET", "/api/v1/notifications", 200, requester).json()
        return listed if listed["total"] >= 2 else None

    inbox = wait_until(notices, timeout=15)
    notice_ids = {"notification_id": inbox["items"][0]["id"]}
    walk("POST", "/api/v1/notifications/{notification_id}/read", 200, requester, params_path=notice_ids)
    walk("POST", "/api/v1/notifications/read-all", 200, requester)
    walk("GET", "/api/v1/notifications/preferences", 200, requester)
    walk(
        "PUT",
        "/api/v1/notifications/preferences",
        200,
        requester,
        json={"preferences": [{"kind": "request_answered", "email": False, "sms": False}]},
    )
    walk("GET", "/api/v1/requests/{request_id}/deliveries", 200, requester, params_path=ids)
    # the Cruscotto: the region of Roma, its sede, and the requests behind a cell
    regional = token("direttore", regione="Lazio")
    today = date.today().isoformat()
    roma = {"level": "sede", "code": ROMA, "from": today, "to": today}
    walk("GET", "/api/v1/dashboard/indicators", 200, token("direttore", scope="national"))
    walk("GET", "/api/v1/dashboard/indicators", 200, regional, params=roma)
    walk("GET", "/api/v1/dashboard/backlog", 200, regional)
    walk("GET", "/api/v1/dashboard/trend", 200, regional)
    walk("GET", "/api/v1/dashboard/subject-changes", 200, regional, params={"from": today})
    walk("GET", "/api/v1/dashboard/requests", 200, official, params={**roma, "bucket": "open"})
    walk("GET", "/api/v1/dashboard/customer-care", 200, regional, params={"modality": "in_person"})
    walk("GET", "/api/v1/dashboard/customer-care", 200, official, params=roma)
    walk("GET", "/api/v1/reports", 200, regional, params={"month": "2026-03"})
    # no month of this run is due yet: an unknown report, as the document declares it
    walk(
        "GET",
        "/api/v1/reports/{report_id}/{format}",
        404,
        token("direttore", scope="national"),
        params_path={"report_id": str(uuid.uuid4()), "format": "pdf"},
    )

    documented = {
        (method.upper(), path) for path, methods in walk.document["paths"].items() for method in methods
    }
    assert documented - walk.done == set(), "documented operations the walk did not reach"


def test_refusals_are_the_problem_documents_the_document_declares(walk):
    requester = token()
    outside = walk(
        "GET",
        "/api/v1/dashboard/indicators",
        403,
        token("direttore", sede=ROMA),
        params={"level": "sede", "code": RIETI},
    )
    assert outside.json()["code"] == "outside_scope"
    missing = str(uuid.uuid4())

    walk("GET", "/api/v1/subjects", 401)
    walk("GET", "/api/v1/requests/{request_id}", 404, requester, params_path={"request_id": missing})
    invalid = walk(
        "POST",
        "/api/v1/requests",
        422,
        requester,
        json={"subject": "requisiti_accesso", "text": "x", "extra": 1},
    )
    assert invalid.json()["errors"][0] == {
        "field": "extra",
        "code": "invalid_field",
        "detail": "Campo non previsto.",
    }
    walk(
        "POST",
        "/api/v1/attachments",
        422,
        requester,
        files={"file": ("a.pdf", PDF)},
        data={"note": "un campo che il modulo non prevede"},
    )
    walk(
        "POST",
        "/api/v1/requests/{request_id}/followups",
        400,
        requester,
        params_path={"request_id": missing},
        data="x",
    )
    walk("GET", "/api/v1/admin/status", 403, requester)
