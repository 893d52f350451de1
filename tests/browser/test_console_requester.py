"""A patronato's operatore in a real browser: the new request with its checks as typed and
the server's refusal beside the field, a submission with an attachment, Storico richieste,
the detail routed to its sede, Notifiche; a company's Comunicazioni; who may not, sees not."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.steps import (
    ROMA_CAP,
    VALID_CF,
    choose,
    fill_request_form,
    pdf_file,
    request_id_shown,
    send_request_form,
    submit_request,
    wait_for_notice,
    wait_for_state,
    wait_until_bookable,
    wait_until_routed,
)
from tests.e2e.helpers import api, token

pytestmark = pytest.mark.e2e


def test_a_patronato_operatore_submits_with_an_attachment_and_follows_it(browser, tmp_path):
    browser.sign_in("patronato_operatore")
    assert browser.path == "/ui/richieste/nuova"
    browser.accessible()
    browser.snapshot("richiesta-nuova")

    # the identifier fields follow the subject
    choose(browser, "#subject", "sollecito_domanda")
    assert browser.find("#identificativo").is_displayed()
    assert "obbligatorio" in browser.text("#identificativo-nota")
    choose(browser, "#subject", "requisiti_accesso")
    assert not browser.find("#identificativo").is_displayed()

    # codice fiscale and CAP checked as typed
    browser.fill("#codice_fiscale", "RSSMRA85T10A562X")
    assert "Carattere di controllo errato" in browser.text("#verifica-codice_fiscale")
    browser.fill("#codice_fiscale", VALID_CF.lower())
    assert "formalmente corretto" in browser.text("#verifica-codice_fiscale")
    browser.fill("#cap", "001")
    assert "5 cifre" in browser.text("#verifica-cap")
    browser.fill("#cap", "00000")
    browser.wait_until(lambda: "non corrisponde" in browser.text("#verifica-cap"))
    browser.fill("#cap", ROMA_CAP)
    browser.wait_until(lambda: "Roma" in browser.text("#verifica-cap"))

    # the attachments' total as it fills
    document = pdf_file(tmp_path)
    browser.find("#allegati").send_keys(str(document))
    assert "MB di 6 MB" in browser.text("[data-testid=allegati-totale]")

    # a subject that needs the protocollo, sent without: the server's refusal beside the
    # field; the file stays stored
    note = f"Richiesta di prova {uuid.uuid4().hex[:8]}: requisiti per la pensione anticipata."
    fill_request_form(browser, subject="sollecito_domanda", text=note)
    send_request_form(browser)
    assert browser.find("#errore-identifier_value span").get_attribute("data-code") == "identifier_required"
    assert "Identificativo della pratica" in browser.text("[data-testid=errori-modulo]")
    assert "domanda.pdf" in browser.text("[data-testid=allegati-caricati]")
    browser.accessible()
    browser.snapshot("richiesta-nuova-errori")

    choose(browser, "#subject", "requisiti_accesso")
    send_request_form(browser)
    assert browser.find_all("[data-testid=inviata]"), browser.text("main")
    request_id = request_id_shown(browser)
    assert "domanda.pdf" in browser.text("[data-testid=allegati]")

    assigned = wait_until_routed(browser, request_id)
    assert "0704" in assigned and ROMA_CAP in assigned
    assert "Ulteriori interazioni" in browser.text("[data-testid=azioni]")
    assert browser.find_all("[data-testid=sollecito-dal]")  # the date a reminder becomes possible
    browser.accessible()
    browser.snapshot("richiesta-dettaglio")
    protocol = browser.text("h1").split()[-1]

    browser.goto(f"/ui/richieste?codice_fiscale={VALID_CF}")
    rows = browser.find_all(f"[data-testid=richieste] tr[data-id='{request_id}']")
    assert rows and protocol in rows[0].text
    browser.accessible()
    browser.snapshot("richieste-storico")

    notice = wait_for_notice(browser, "request_routed", protocol)
    assert notice.get_attribute("data-read") == "0"
    assert int(browser.find("[data-testid=non-lette]").get_attribute("data-count")) >= 1
    browser.wait_for("[data-testid=non-lette-menu]")  # the menu's badge, loaded by htmx
    browser.accessible()
    browser.snapshot("notifiche")
    browser.click("[data-testid=segna-tutte]")
    browser.wait_until(lambda: browser.find("[data-testid=non-lette]").get_attribute("data-count") == "0")


def test_a_company_sends_a_comunicazione_for_a_delegated_matricola(browser, tmp_path):
    browser.sign_in("azienda")
    browser.goto("/ui/richieste/nuova")
    options = [
        o.get_attribute("value") for o in browser.find_all("#matricola option") if o.get_attribute("value")
    ]
    assert options == ["7012345678", "7012345679"]
    files = [pdf_file(tmp_path, f"f{i}.pdf") for i in range(4)]
    browser.find("#allegati").send_keys("\n".join(str(path) for path in files))
    assert "al massimo 3 file" in browser.text("[data-testid=allegati-totale]")
    browser.accessible()
    browser.snapshot("comunicazione-nuova")
    subject = browser.find_all("#subject option")[1].get_attribute("value")
    browser.goto("/ui/richieste/nuova")
    request_id = submit_request(
        browser,
        subject=subject,
        codice_fiscale=None,
        cap=None,
        matricola="7012345679",
        text="Comunicazione di prova dalla console.",
        attachments=[files[0]],
    )
    wait_until_routed(browser, request_id)
    browser.goto("/ui/richieste?matricola=7012345679")
    assert browser.find_all(f"tr[data-id='{request_id}']")
    assert browser.text("h1") == "Comunicazioni"
    browser.accessible()
    browser.snapshot("comunicazioni")


def test_the_amministratore_grants_the_referente_profile(browser):
    browser.sign_in("patronato_admin", next="/ui/profili")
    browser.accessible()
    browser.fill("#operator_id", "dev-patronato_referente")
    browser.click("#grant-true")
    browser.click("form[action='/ui/profili'] button[type=submit]")
    browser.wait_for("[data-testid=esito]")
    assert "concesso" in browser.text("[data-testid=esito]")
    browser.accessible()
    browser.snapshot("profili")


def test_who_may_not_sees_no_menu_entry_and_the_apis_refusal(browser):
    browser.sign_in("sede_operatore", next="/ui/profilo")
    menu = browser.text("nav[aria-label='Menu principale']")
    assert "Nuova richiesta" not in menu and "Notifiche" not in menu
    browser.goto("/ui/richieste/nuova")
    assert browser.problem_status() == 403
    browser.goto("/ui/notifiche")
    assert browser.problem_status() == 403
    browser.goto(f"/ui/richieste/{uuid.uuid4()}")
    assert browser.problem_status() == 404


def test_the_patronato_reads_the_answer_and_may_book_once_the_sede_closes_enabling_it(browser, stack):
    """The sede's steps go through the API here (its screens are tested apart): what the
    requester sees of them — the answer in the thread, the state, "Prenota"."""
    browser.sign_in("patronato_operatore")
    request_id = submit_request(browser, text="Quando potrò andare in pensione?")
    wait_until_routed(browser, request_id)
    official = token("sede_operatore", sede="0704", regione="Lazio", groups=["APP_FEA_COMBID"])
    assert api(stack, "POST", f"/api/v1/requests/{request_id}/take", official).status_code == 200
    answer = {"text": "I requisiti sono indicati nella circolare allegata.", "close": True,
              "outcome": "Informazioni fornite", "enable_booking": True}  # fmt: skip
    replied = api(stack, "POST", f"/api/v1/requests/{request_id}/replies", official, json=answer)
    assert replied.status_code == 200, replied.text

    link = wait_until_bookable(browser, request_id)
    assert link.get_attribute("href").endswith(f"/ui/agenda/nuovo?richiesta={request_id}")
    wait_for_state(browser, request_id, "closed")
    assert answer["text"] in browser.text("[data-testid=conversazione]")
    assert "Informazioni fornite" in browser.text("[data-testid=esito-chiusura]")
    assert not browser.find_all("[data-testid=sollecita]")
    browser.accessible()
    browser.snapshot("richiesta-chiusa-prenotabile")
