"""Steps of the office, director and agenda screens in a real browser, to compose journeys:
a request submitted through the API and routed, an official working it (take, answer, close
enabling booking), a patronato booking from it, a director drilling down the Cruscotto to it.
Each step checks the screens it crosses (axe-core) and saves them (``snapshot``)."""

from __future__ import annotations

import uuid

from tests.e2e.helpers import api, request_body, routed_detail, token

ROUTED_SECONDS = 60  # upper bounds of waits on events, generous for a loaded machine
REPORTED_SECONDS = 90


def submit_routed_request(stack, **overrides) -> tuple[str, str]:
    """A patronato request (operator of patronato 001, office 0001, as the development preset)
    for a citizen of Roma, through the API: its id and the sede it was routed to."""
    patronato = token(sub=f"op-office-{uuid.uuid4().hex[:6]}")
    body = {
        **request_body(f"office-{uuid.uuid4().hex[:6]}@patronato.example"),
        "subject": "requisiti_accesso",
        "text": "Quali sono i requisiti per la pensione anticipata?",
        **overrides,
    }
    body.pop("case_identifier", None)
    created = api(stack, "POST", "/api/v1/requests", patronato, json=body)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    detail = routed_detail(stack, patronato, request_id, timeout=ROUTED_SECONDS)
    assert detail["assignment"]["kind"] == "sede", detail["assignment"]
    return request_id, detail["assignment"]["code"]


def check(browser, name: str) -> None:
    assert browser.problem_status() is None, browser.text("[data-testid=errore]")
    browser.accessible()
    browser.snapshot(name)


def sign_in_official(browser, sede: str, next: str = "/ui/sede/coda") -> None:
    browser.sign_in("sede_operatore", next=next, sede=sede)


def open_from_queue(browser, request_id: str) -> None:
    """The official's queue, filtered on patronato requests, then the request from it."""
    browser.goto("/ui/sede/coda?origin=patronato&state=open")
    browser.wait_for(f"tr[data-id='{request_id}']")
    check(browser, "sede-coda")
    browser.click(f"tr[data-id='{request_id}'] a")
    browser.wait_for("[data-testid=dettaglio]")


def _state(browser) -> str:
    return browser.find("[data-testid=stato]").get_attribute("data-state")


def take_and_answer(browser, request_id: str, text: str = "La domanda è in istruttoria.") -> None:
    browser.goto(f"/ui/sede/richieste/{request_id}")
    browser.wait_for("[data-testid=form-prendi]")
    check(browser, "sede-richiesta")
    browser.click("[data-testid=form-prendi] button")
    browser.wait_until(lambda: "fatto=prendi" in browser.path)
    assert _state(browser) == "in_progress"
    browser.fill("#risposta", text)
    browser.click("[data-testid=form-rispondi] button")
    browser.wait_until(lambda: "fatto=rispondi" in browser.path)
    assert text in browser.text("main")


def close_with_booking(browser, request_id: str, outcome: str = "Serve un approfondimento in sede") -> None:
    """The signed-in official closes the request with ``outcome``, enabling booking."""
    browser.goto(f"/ui/sede/richieste/{request_id}")
    browser.wait_for("[data-testid=form-chiudi]")
    browser.fill("#esito", outcome)
    browser.click("label[for=consenti-prenotazione]")  # Bootstrap Italia draws the box on its label
    assert browser.find("#consenti-prenotazione").is_selected()
    browser.click("[data-testid=form-chiudi] button")
    browser.wait_until(lambda: "fatto=chiudi" in browser.path)
    assert _state(browser) == "closed"
    assert "consentita dalla sede" in browser.text("[data-testid=prenotazione]")
    check(browser, "sede-richiesta-chiusa")


def book_appointment(browser, request_id: str, modality: str = "web_meeting") -> str:
    """The signed-in requester books the first free slot for ``request_id``; the booking's id.
    Waits for agenda to learn that the request allows booking (it hears the closing by event)."""

    def allowed():
        browser.goto(f"/ui/agenda/nuovo?richiesta={request_id}&modalita={modality}")
        found = browser.find_all("[data-testid=idoneita]")
        return found and found[0].get_attribute("data-allowed") == "si"

    browser.wait_until(allowed, timeout=ROUTED_SECONDS)
    browser.wait_for("[data-testid=form-prenota]")
    check(browser, "agenda-nuovo")
    browser.fill("#n-motivazione", "Chiarimenti sulla pensione anticipata")
    browser.click("[data-testid=prenota]")
    browser.wait_until(lambda: "fatto=prenotato" in browser.path)
    check(browser, "agenda-appuntamento")
    assert browser.find("[data-testid=stato-appuntamento]").get_attribute("data-state") == "confirmed"
    return browser.path.split("?")[0].rsplit("/", 1)[1]


def _follow(browser, css: str) -> None:
    browser.wait_for(css)
    browser.click(css)


def drill_down_to_request(browser, request_id: str, sede: str, region: str = "Lazio") -> None:
    """A national director (signed in) from the Cruscotto: Italia → region → sede → the
    requests of the period → the request. Waits for reporting to count the request."""

    def counted():
        browser.goto(f"/ui/cruscotto/richieste?level=sede&code={sede}&bucket=all&page_size=200")
        return bool(browser.find_all(f"tr[data-id='{request_id}']"))

    browser.wait_until(counted, timeout=REPORTED_SECONDS)
    browser.goto("/ui/cruscotto")
    browser.wait_for("[data-testid=sintesi]")
    check(browser, "cruscotto-nazionale")
    _follow(browser, f"[data-testid=livello] tr[data-code='{region}'] th a")
    browser.wait_until(lambda: f"code={region}" in browser.path)
    check(browser, "cruscotto-regione")
    _follow(browser, f"[data-testid=livello] tr[data-code='{sede}'] th a")
    browser.wait_until(lambda: f"code={sede}" in browser.path)
    check(browser, "cruscotto-sede")
    _follow(browser, "[data-testid=richieste-periodo]")
    browser.wait_for("[data-testid=richieste-cella]")
    check(browser, "cruscotto-richieste")
    _follow(browser, f"tr[data-id='{request_id}'] th a")
    browser.wait_for("[data-testid=dettaglio]")
    assert browser.path == f"/ui/sede/richieste/{request_id}"
    check(browser, "cruscotto-richiesta")
