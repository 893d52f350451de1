"""The requesters' screens of the console (gateway/ui/pages_requests.py) over HTTP, the
services stood in for: the new-request form, the history, a request's detail and its steps."""

from __future__ import annotations

import re
from copy import deepcopy

import pytest

from shared.errors import Conflict, InvalidInput, NotFound, field_error
from tests.interface.test_console_pages import csrf_of, sign_in
from tests.interface.test_gateway_routes import (
    ATTACHMENT_ID,
    DETAIL,
    ELIGIBILITY,
    REQUEST_ID,
    SUBJECT,
    SUMMARY,
)

PDF = b"%PDF-1.4\nprova\n"
FREE_SUBJECT = {**SUBJECT, "code": "info_generica", "label": "Informazioni", "identifier_required": False,
                "identifier_kinds": []}  # fmt: skip
CREATED = {"id": REQUEST_ID, "protocol": "COMBID.2026.00000001", "state": "open"}
STORED = {"id": ATTACHMENT_ID, "filename": "domanda.pdf", "content_type": "application/pdf", "size": len(PDF)}


def form(**changes) -> dict:
    values = {
        "subject": "sollecito_domanda",
        "text": "Si sollecita la definizione della domanda.",
        "identifier_kind": "protocollo",
        "identifier_value": "INPS.7000.15/03/2026.0012345",
        "codice_fiscale": "RSSMRA85T10A562S",
        "cap": "00184",
        "email": "operatore@patronato.example",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def signed_in(web_session, preset: str, path: str = "/ui/profilo") -> str:
    sign_in(web_session, preset)
    return csrf_of(web_session.get(path).text)


@pytest.fixture
def intake(gateway):
    intake = gateway.rpc.intake
    intake.list_subjects.return_value = [SUBJECT, FREE_SUBJECT]
    intake.upload_attachment.return_value = STORED
    intake.submit_request.return_value = CREATED
    intake.get_request.return_value = deepcopy(DETAIL)
    intake.search_requests.return_value = {"items": [SUMMARY], "page": 1, "page_size": 20, "total": 1}
    gateway.rpc.agenda.eligibility.return_value = ELIGIBILITY
    return intake


# ---- the new request ---------------------------------------------------------------------


def test_the_form_offers_the_subjects_with_the_identifiers_they_ask_for(intake, web_session):
    sign_in(web_session, "patronato_operatore")
    page = web_session.get("/ui/richieste/nuova")
    assert page.status_code == 200
    assert 'value="sollecito_domanda" data-kinds="protocollo" data-required="1"' in page.text
    assert 'value="info_generica" data-kinds="" data-required="0"' in page.text
    assert 'id="codice_fiscale"' in page.text and 'id="cap"' in page.text
    assert 'id="matricola"' not in page.text
    assert "console/richiesta.js" in page.text and "6 MB in tutto" in page.text


def test_a_cassetto_user_chooses_among_the_delegated_matricole_and_three_files(intake, web_session):
    sign_in(web_session, "azienda")
    page = web_session.get("/ui/richieste/nuova").text
    options = re.findall(r'<option value="(70\d{8})"', page)
    assert options == ["7012345678", "7012345679"]
    assert 'data-max-files="3"' in page and 'id="codice_fiscale"' not in page


def test_a_submission_with_a_file_stores_it_then_submits_and_shows_the_detail(intake, web_session):
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(
        "/ui/richieste/nuova",
        data={**form(), "csrf": token},
        files={"allegati": ("domanda.pdf", PDF, "application/pdf")},
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:800]
    assert answer.headers["Location"] == f"/ui/richieste/{REQUEST_ID}?inviata=1"
    caller, filename, _content = intake.upload_attachment.call_args.args
    assert filename == "domanda.pdf" and caller["role"] == "patronato_operatore"
    submitted = intake.submit_request.call_args.args[1]
    assert submitted == {
        "subject": "sollecito_domanda",
        "text": "Si sollecita la definizione della domanda.",
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "attachments": [ATTACHMENT_ID],
        "contacts": {"email": "operatore@patronato.example"},
    }


def test_a_wrong_codice_fiscale_is_shown_beside_its_field_and_no_file_is_stored(intake, web_session):
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(
        "/ui/richieste/nuova",
        data={**form(codice_fiscale="RSSMRA85T10A562X", cap="0018"), "csrf": token},
        files={"allegati": ("domanda.pdf", PDF, "application/pdf")},
    )
    assert answer.status_code == 422
    beside = re.search(r'id="errore-codice_fiscale"[^>]*>(.*?)</div>', answer.text, re.S).group(1)
    assert "carattere di controllo" in beside and 'data-code="invalid_codice_fiscale"' in beside
    assert 'id="errore-cap"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert '<a href="#codice_fiscale">Codice fiscale del cittadino</a>' in answer.text
    assert re.search(r'value="sollecito_domanda"[^>]* selected>', answer.text)
    intake.upload_attachment.assert_not_called()
    intake.submit_request.assert_not_called()


def test_the_services_refusal_names_the_field_beside_it_and_keeps_the_stored_files(intake, web_session):
    intake.submit_request.side_effect = InvalidInput.from_errors(
        [
            field_error(
                "citizen.cap", "unknown_cap", "Il CAP 00000 non corrisponde ad alcun comune italiano."
            ),
            field_error("case_identifier", "identifier_required", "Indicare il numero di protocollo."),
        ]
    )
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(
        "/ui/richieste/nuova",
        data={**form(cap="00000", identifier_value=""), "csrf": token},
        files={"allegati": ("domanda.pdf", PDF, "application/pdf")},
    )
    assert answer.status_code == 422
    assert re.search(r'id="errore-cap"[^>]*>\s*<span data-code="unknown_cap">Il CAP 00000', answer.text)
    assert 'id="errore-identifier_value"' in answer.text
    assert f'name="attachment_ids" value="{ATTACHMENT_ID}"' in answer.text
    # sent again: the stored file goes with it, not uploaded twice
    intake.submit_request.side_effect = None
    intake.upload_attachment.reset_mock()
    again = web_session.post(
        "/ui/richieste/nuova",
        data={**form(), "csrf": token, "attachment_ids": ATTACHMENT_ID, "attachment_names": "domanda.pdf"},
        allow_redirects=False,
    )
    assert again.status_code == 303
    intake.upload_attachment.assert_not_called()
    assert intake.submit_request.call_args.args[1]["attachments"] == [ATTACHMENT_ID]


def test_more_than_three_files_of_a_cassetto_user_are_refused_beside_the_field(intake, web_session):
    token = signed_in(web_session, "azienda")
    files = [("allegati", (f"f{i}.pdf", PDF, "application/pdf")) for i in range(4)]
    answer = web_session.post(
        "/ui/richieste/nuova",
        data={"subject": "info_generica", "text": "Domanda", "matricola": "7012345678", "csrf": token},
        files=files,
    )
    assert answer.status_code == 422
    assert re.search(r'id="errore-allegati"[^>]*>\s*<span data-code="too_many_attachments">', answer.text)
    intake.upload_attachment.assert_not_called()


def test_an_empty_form_names_every_missing_field(intake, web_session):
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post("/ui/richieste/nuova", data={"csrf": token})
    assert answer.status_code == 422
    for name in ("subject", "text"):
        assert f'id="errore-{name}"' in answer.text
    intake.submit_request.assert_not_called()


@pytest.mark.parametrize("preset", ["sede_operatore", "direttore_sede", "patronato_admin", "admin"])
def test_who_may_not_submit_gets_the_apis_403_and_no_form(intake, web_session, preset):
    token = signed_in(web_session, preset)
    answer = web_session.get("/ui/richieste/nuova")
    assert answer.status_code == 403
    assert 'data-testid="errore"' in answer.text and "modulo-richiesta" not in answer.text
    posted = web_session.post("/ui/richieste/nuova", data={**form(), "csrf": token})
    assert posted.status_code == 403
    intake.submit_request.assert_not_called()


def test_a_form_larger_than_allowed_is_refused_with_a_413_page(intake, web_session):
    token = signed_in(web_session, "patronato_operatore")
    big = b"0" * (19 * 1024 * 1024)
    answer = web_session.post(
        "/ui/richieste/nuova", data={**form(), "csrf": token}, files={"allegati": ("big.pdf", big)}
    )
    assert answer.status_code == 413
    intake.upload_attachment.assert_not_called()


# ---- history ------------------------------------------------------------------------------


def test_the_history_of_a_patronato_passes_its_filters_and_pages(intake, web_session):
    intake.search_requests.return_value = {"items": [SUMMARY], "page": 2, "page_size": 20, "total": 45}
    sign_in(web_session, "patronato_operatore")
    page = web_session.get(
        "/ui/richieste?state=open&subject=sollecito_domanda&opened_from=2026-03-01&codice_fiscale=RSSMRA85T10A562S&page=2"
    )
    assert page.status_code == 200
    assert '<h1 class="h2">Storico richieste</h1>' in page.text
    query = intake.search_requests.call_args.args[1]
    assert query == {
        "state": "open",
        "subject": "sollecito_domanda",
        "opened_from": "2026-03-01",
        "codice_fiscale": "RSSMRA85T10A562S",
        "page": "2",
        "page_size": 20,
    }
    assert f'href="/ui/richieste/{REQUEST_ID}"' in page.text
    assert "pagina 2 di 3" in page.text
    assert "/ui/richieste?state=open&amp;subject=sollecito_domanda" in page.text and "page=3" in page.text
    assert "<caption" in page.text and '<th scope="col">' in page.text


def test_the_cassetto_sees_comunicazioni_by_matricola(intake, web_session):
    sign_in(web_session, "intermediario")
    page = web_session.get("/ui/richieste?matricola=7012345678")
    assert '<h1 class="h2">Comunicazioni</h1>' in page.text
    assert intake.search_requests.call_args.args[1]["matricola"] == "7012345678"


def test_a_wrong_filter_is_shown_beside_it(intake, web_session):
    sign_in(web_session, "patronato_operatore")
    page = web_session.get("/ui/richieste?codice_fiscale=RSS*&state=aperta")
    assert page.status_code == 422
    assert 'id="errore-codice_fiscale"' in page.text and 'id="errore-state"' in page.text
    intake.search_requests.assert_not_called()


@pytest.mark.parametrize("preset", ["sede_operatore", "direttore_centrale"])
def test_the_history_is_not_for_officials(intake, web_session, preset):
    sign_in(web_session, preset)
    assert web_session.get("/ui/richieste").status_code == 403
    intake.search_requests.assert_not_called()


# ---- one request ---------------------------------------------------------------------------


def test_the_detail_shows_thread_history_routing_and_when_a_reminder_is_possible(intake, web_session):
    detail = intake.get_request.return_value
    detail["thread"] = [
        {"id": ATTACHMENT_ID, "kind": "answer", "author": "Sede 0704", "author_role": "sede_operatore",
         "text": "La domanda è in istruttoria.", "at": "2026-03-17T10:00:00+00:00"}
    ]  # fmt: skip
    sign_in(web_session, "patronato_operatore")
    page = web_session.get(f"/ui/richieste/{REQUEST_ID}?inviata=1")
    assert page.status_code == 200
    assert "Richiesta inviata con protocollo COMBID.2026.00000001" in page.text
    assert "Roma Tuscolano (0704)" in page.text and 'data-routed="1"' in page.text
    assert "La domanda è in istruttoria." in page.text
    assert 'Sollecito possibile dal <span class="fw-semibold">31/03/2026</span>' in page.text
    assert 'data-testid="sollecita"' not in page.text
    assert "Prenota un appuntamento" not in page.text and ELIGIBILITY["reason"] in page.text
    assert f'href="/ui/richieste/{REQUEST_ID}/allegati/{ATTACHMENT_ID}"' in page.text
    assert "Inviata" in page.text


def test_the_detail_offers_the_reminder_the_followup_and_booking_when_allowed(intake, web_session, gateway):
    intake.get_request.return_value["next_actions"] = {
        "followups_left": 1, "can_follow_up": True, "can_remind": True, "reminder_allowed_from": "2026-03-31"
    }  # fmt: skip
    gateway.rpc.agenda.eligibility.return_value = {**ELIGIBILITY, "allowed": True, "reason_code": "allowed"}
    sign_in(web_session, "patronato_operatore")
    page = web_session.get(f"/ui/richieste/{REQUEST_ID}").text
    assert 'data-testid="sollecita"' in page
    assert f'action="/ui/richieste/{REQUEST_ID}/interazioni"' in page
    assert f'href="/ui/agenda/nuovo?richiesta={REQUEST_ID}"' in page


def test_an_unrouted_request_says_so(intake, web_session):
    intake.get_request.return_value["assignment"] = None
    sign_in(web_session, "patronato_operatore")
    assert 'data-routed="0"' in web_session.get(f"/ui/richieste/{REQUEST_ID}").text


def test_a_request_the_caller_may_not_see_is_the_apis_404(intake, web_session, gateway):
    intake.get_request.side_effect = NotFound("request_not_found", "Richiesta non trovata.")
    sign_in(web_session, "azienda")
    page = web_session.get(f"/ui/richieste/{REQUEST_ID}")
    assert page.status_code == 404
    assert 'data-code="request_not_found"' in page.text
    gateway.rpc.agenda.eligibility.assert_not_called()


def test_an_official_sees_the_detail_without_the_requesters_actions(intake, web_session):
    sign_in(web_session, "sede_operatore")
    page = web_session.get(f"/ui/richieste/{REQUEST_ID}")
    assert page.status_code == 200
    assert 'data-testid="azioni"' not in page.text


def test_a_reminder_is_sent_and_the_detail_says_so(intake, web_session):
    intake.add_reminder.return_value = {"id": REQUEST_ID, "reminders": 1}
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(
        f"/ui/richieste/{REQUEST_ID}/sollecito", data={"csrf": token}, allow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/ui/richieste/{REQUEST_ID}?esito=sollecito"
    assert intake.add_reminder.call_args.args[1:3] == (REQUEST_ID, {})
    assert "Sollecito inviato alla sede" in web_session.get(answer.headers["Location"]).text


def test_a_reminder_too_early_is_the_apis_409(intake, web_session):
    intake.add_reminder.side_effect = Conflict("reminder_too_early", "Sollecito possibile dal 31/03/2026.")
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(f"/ui/richieste/{REQUEST_ID}/sollecito", data={"csrf": token})
    assert answer.status_code == 409
    assert 'data-code="reminder_too_early"' in answer.text


def test_an_official_cannot_remind_403_before_any_service(intake, web_session):
    token = signed_in(web_session, "sede_operatore")
    answer = web_session.post(f"/ui/richieste/{REQUEST_ID}/sollecito", data={"csrf": token})
    assert answer.status_code == 403
    intake.add_reminder.assert_not_called()


def test_an_empty_followup_is_refused_beside_the_text(intake, web_session):
    intake.get_request.return_value["next_actions"]["can_follow_up"] = True
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(f"/ui/richieste/{REQUEST_ID}/interazioni", data={"csrf": token, "text": ""})
    assert answer.status_code == 422
    assert 'id="errore-text"' in answer.text
    intake.add_followup.assert_not_called()


def test_a_followup_is_sent(intake, web_session):
    intake.add_followup.return_value = {"id": REQUEST_ID, "message_id": ATTACHMENT_ID, "followups_left": 1}
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(
        f"/ui/richieste/{REQUEST_ID}/interazioni", data={"csrf": token, "text": "Servono altri documenti?"},
        allow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert intake.add_followup.call_args.args[2] == {"text": "Servono altri documenti?"}


def test_an_attachment_is_downloaded_through_the_console(intake, web_session, object_store):
    object_store.objects["/bucket/domanda.pdf"] = PDF
    intake.attachment_download.return_value = {
        **STORED, "store_url": f"{object_store.url}/bucket/domanda.pdf"
    }  # fmt: skip
    sign_in(web_session, "patronato_operatore")
    answer = web_session.get(f"/ui/richieste/{REQUEST_ID}/allegati/{ATTACHMENT_ID}")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.content == PDF
    assert intake.attachment_download.call_args.args[1:] == (REQUEST_ID, ATTACHMENT_ID)


def test_the_cap_is_checked_as_typed_against_the_comuni(intake, web_session, gateway):
    sign_in(web_session, "patronato_operatore")
    found = web_session.get("/ui/richieste/verifica-cap?cap=00184").json()
    assert found == {"valid": True, "code": "cap_found", "detail": "CAP 00184: Roma."}
    unknown = web_session.get("/ui/richieste/verifica-cap?cap=00000").json()
    assert unknown["valid"] is False and unknown["code"] == "unknown_cap"
    assert web_session.get("/ui/richieste/verifica-cap?cap=12").json()["code"] == "invalid_cap"
    assert gateway.rpc.mock_calls == []


def test_the_cap_check_is_for_requesters(intake, web_session):
    sign_in(web_session, "sede_operatore")
    assert web_session.get("/ui/richieste/verifica-cap?cap=00184").status_code == 403


def test_the_referente_may_address_a_cric_section(intake, web_session):
    cric = {
        **FREE_SUBJECT,
        "code": "quesito_cric",
        "cric_sections": [{"code": "pensioni", "label": "Pensioni"}],
    }
    intake.list_subjects.return_value = [cric]
    token = signed_in(web_session, "patronato_referente")
    page = web_session.get("/ui/richieste/nuova").text
    assert 'id="cric_section"' in page and 'value="quesito_cric"' in page and 'data-cric="1"' in page
    answer = web_session.post(
        "/ui/richieste/nuova",
        data={"subject": "quesito_cric", "text": "Quesito", "cric_section": "pensioni", "csrf": token},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    submitted = intake.submit_request.call_args.args[1]
    assert submitted["cric_section"] == "pensioni" and "citizen" not in submitted


def test_an_empty_history_says_so(intake, web_session):
    intake.search_requests.return_value = {"items": [], "page": 1, "page_size": 20, "total": 0}
    sign_in(web_session, "patronato_admin")
    page = web_session.get("/ui/richieste")
    assert page.status_code == 200 and "Nessuna richiesta con questi filtri." in page.text
