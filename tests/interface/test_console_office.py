"""The sede official's screens (gateway/ui/pages_office.py) over HTTP, the services stood in
for: the queue and its filters reach the search RPC; each step is the API's operation with the
form's body; a rule's refusal comes back as an alert naming it; who may not work a request
sees no form, and a direct URL answers the API's 403/404."""

from __future__ import annotations

import copy

import pytest

from shared.errors import Conflict, InvalidInput, NotFound
from tests.interface.test_console_pages import csrf_of, sign_in
from tests.interface.test_gateway_routes import (
    DETAIL,
    ELIGIBILITY,
    REASSIGNED,
    REQUEST_ID,
    SUBJECT,
    SUMMARY,
)

RICHIESTA = f"/ui/sede/richieste/{REQUEST_ID}"


@pytest.fixture
def official(gateway, web_session):
    sign_in(web_session, "sede_operatore")
    gateway.rpc.intake.get_request.return_value = copy.deepcopy(DETAIL)
    gateway.rpc.agenda.eligibility.return_value = ELIGIBILITY
    gateway.rpc.intake.list_subjects.return_value = [SUBJECT]
    return web_session


def csrf(web_session) -> str:
    return csrf_of(web_session.get("/ui/profilo").text)


def test_the_queue_passes_its_filters_to_the_search_and_pages(gateway, official):
    gateway.rpc.intake.search_requests.return_value = {
        "items": [SUMMARY],
        "page": 2,
        "page_size": 20,
        "total": 41,
    }
    answer = official.get("/ui/sede/coda?origin=patronato&state=open&queue=pensioni&matricola=&page=2")
    assert answer.status_code == 200
    _caller, query = gateway.rpc.intake.search_requests.call_args.args
    assert query == {"origin": "patronato", "state": "open", "queue": "pensioni", "page": 2, "page_size": 20}
    assert "COMBID.2026.00000001" in answer.text
    assert f'href="/ui/sede/richieste/{REQUEST_ID}"' in answer.text
    assert "pagina 2 di 3" in answer.text
    assert "origin=patronato" in answer.text and "page=3" in answer.text  # next page keeps the filters
    assert "<caption>" in answer.text and 'scope="col"' in answer.text


def test_a_bad_filter_is_an_alert_naming_the_field_and_no_search(gateway, official):
    answer = official.get("/ui/sede/coda?consulente=NONVALIDO")
    assert answer.status_code == 200
    assert 'data-testid="avviso"' in answer.text and "consulente" in answer.text
    gateway.rpc.intake.search_requests.assert_not_called()


def test_the_official_sees_the_request_with_its_steps(gateway, official):
    answer = official.get(RICHIESTA)
    assert answer.status_code == 200
    for form in ("prendi", "rispondi", "chiudi", "oggetto", "riassegna"):
        assert f'action="{RICHIESTA}/{form}"' in answer.text
    assert "Consenti prenotazione" in answer.text
    assert "Roma Tuscolano" in answer.text


@pytest.mark.parametrize(
    "action, fields, rpc, body",
    [
        ("prendi", {}, "take_in_charge", {}),
        ("rispondi", {"text": "Ecco la risposta."}, "reply", {"text": "Ecco la risposta."}),
        (
            "chiudi",
            {"outcome": "Definita", "enable_booking": "on"},
            "close",
            {"outcome": "Definita", "enable_booking": True},
        ),
        ("chiudi", {"outcome": "Definita"}, "close", {"outcome": "Definita", "enable_booking": False}),
        ("oggetto", {"subject": "f24"}, "change_subject", {"subject": "f24"}),
    ],
)
def test_each_step_is_the_api_operation_with_the_form_s_body(gateway, official, action, fields, rpc, body):
    getattr(gateway.rpc.intake, rpc).return_value = {
        "id": REQUEST_ID,
        "state": "in_progress",
        "message_id": REQUEST_ID,
        "subject": "f24",
        "sla_days": 10,
    }
    answer = official.post(
        f"{RICHIESTA}/{action}", data={"csrf": csrf(official), **fields}, allow_redirects=False
    )
    assert answer.status_code == 303, answer.text[:400]
    assert answer.headers["Location"] == f"{RICHIESTA}?fatto={action}"
    args = getattr(gateway.rpc.intake, rpc).call_args.args
    assert args[1] == REQUEST_ID and args[2] == body


def test_reassignment_goes_to_routing_with_the_reason(gateway, official):
    gateway.rpc.routing.reassign.return_value = REASSIGNED
    form = {"csrf": csrf(official), "sede": "0703", "reason": "Il cittadino risiede a Rieti"}
    answer = official.post(f"{RICHIESTA}/riassegna", data=form, allow_redirects=False)
    assert answer.status_code == 303
    assert gateway.rpc.routing.reassign.call_args.args[1:] == (
        REQUEST_ID,
        {"sede": "0703", "reason": "Il cittadino risiede a Rieti"},
    )


def test_a_closed_request_refuses_a_step_with_an_alert_naming_the_rule(gateway, official):
    gateway.rpc.intake.reply.side_effect = Conflict("request_closed", "La richiesta è chiusa.")
    answer = official.post(f"{RICHIESTA}/rispondi", data={"csrf": csrf(official), "text": "Ancora"})
    assert answer.status_code == 409
    assert 'data-code="request_closed"' in answer.text and "La richiesta è chiusa." in answer.text
    assert "Ancora</textarea>" in answer.text  # what was typed is kept


def test_an_empty_outcome_is_refused_before_any_rpc(gateway, official):
    answer = official.post(f"{RICHIESTA}/chiudi", data={"csrf": csrf(official), "outcome": ""})
    assert answer.status_code == 422
    assert "outcome" in answer.text
    gateway.rpc.intake.close.assert_not_called()


def test_a_request_out_of_reach_answers_the_api_s_404(gateway, official):
    gateway.rpc.intake.get_request.side_effect = NotFound("request_not_found", "Richiesta non trovata.")
    answer = official.get(RICHIESTA)
    assert answer.status_code == 404
    assert 'data-code="request_not_found"' in answer.text
    assert official.post(f"{RICHIESTA}/sconosciuta", data={"csrf": csrf(official)}).status_code == 404


def test_the_queue_and_the_steps_are_refused_to_a_requester(gateway, web_session):
    sign_in(web_session, "patronato_operatore")
    assert web_session.get("/ui/sede/coda").status_code == 403
    assert web_session.get("/ui/sede/comunicazione").status_code == 403
    answer = web_session.post(f"{RICHIESTA}/prendi", data={"csrf": csrf(web_session)})
    assert answer.status_code == 403
    assert 'href="/ui/sede/coda"' not in answer.text
    gateway.rpc.intake.take_in_charge.assert_not_called()


def test_a_director_reads_the_request_without_the_forms(gateway, web_session):
    sign_in(web_session, "direttore_sede")
    gateway.rpc.intake.get_request.return_value = copy.deepcopy(DETAIL)
    gateway.rpc.agenda.eligibility.return_value = ELIGIBILITY
    answer = web_session.get(RICHIESTA)
    assert answer.status_code == 200
    assert "/prendi" not in answer.text and "Lavorazione" not in answer.text


def test_the_outbound_message_is_sent_through_the_api(gateway, official):
    gateway.rpc.intake.send_outbound.return_value = {"id": REQUEST_ID, "protocol": "COMBID.2026.00000009"}
    form = {
        "csrf": csrf(official),
        "kind": "azienda",
        "matricola": "7012345678",
        "subject": "Convocazione",
        "text": "Si invita l'azienda a contattare la sede.",
    }
    answer = official.post("/ui/sede/comunicazione", data=form, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{RICHIESTA}?fatto=comunicazione"
    body = gateway.rpc.intake.send_outbound.call_args.args[1]
    assert body["recipient"] == {"kind": "azienda", "matricola": "7012345678"}


def test_an_outbound_message_without_its_recipient_is_an_alert(gateway, official):
    gateway.rpc.intake.send_outbound.side_effect = InvalidInput(
        "matricola_required", "Indicare la matricola."
    )
    form = {"csrf": csrf(official), "kind": "azienda", "subject": "Avviso", "text": "Testo"}
    answer = official.post("/ui/sede/comunicazione", data=form)
    assert answer.status_code == 422
    assert 'data-code="matricola_required"' in answer.text
