"""Steps of the requesters' screens that more than one browser test takes (a cross-role
journey reuses them): submit a request through the form, wait for it to be routed, find a
notice in Notifiche. Each takes the ``browser`` fixture (tests/browser/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.support.ui import Select

VALID_CF = "RSSMRA85T10A562S"
ROMA_CAP = "00184"  # routed to the sede of Roma (0704) by the reference data
PDF = b"%PDF-1.4\n% allegato di prova della console\n" + b"0" * 4096
ROUTING_WAIT_SECONDS = 90  # an upper bound, for a loaded machine


def pdf_file(folder: Path, name: str = "domanda.pdf") -> Path:
    path = folder / name
    path.write_bytes(PDF)
    return path


def choose(browser, css: str, value: str) -> None:
    Select(browser.find(css)).select_by_value(value)


def fill_request_form(
    browser,
    *,
    subject: str = "requisiti_accesso",
    text: str = "Quali sono i requisiti per la pensione anticipata?",
    codice_fiscale: str | None = VALID_CF,
    cap: str | None = ROMA_CAP,
    identifier: tuple[str, str] | None = None,
    matricola: str | None = None,
    email: str | None = None,
    attachments: list[Path] = (),
) -> None:
    """Fill the new-request form (already open) as a user would; nothing is sent."""
    choose(browser, "#subject", subject)
    if identifier:
        choose(browser, "#identifier_kind", identifier[0])
        browser.fill("#identifier_value", identifier[1])
    if codice_fiscale is not None:
        browser.fill("#codice_fiscale", codice_fiscale)
    if cap is not None:
        browser.fill("#cap", cap)
    if matricola is not None:
        choose(browser, "#matricola", matricola)
    browser.fill("#text", text)
    if email:
        browser.fill("#email", email)
    if attachments:
        browser.find("#allegati").send_keys("\n".join(str(path) for path in attachments))


def send_request_form(browser) -> None:
    browser.click("[data-testid=invia]")
    browser.wait_until(
        lambda: browser.find_all("[data-testid=inviata]") or browser.find_all("[data-testid=errori-modulo]")
    )


def request_id_shown(browser) -> str:
    """The id of the request whose detail page is shown."""
    return browser.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]


def submit_request(browser, **fields) -> str:
    """A request sent through /ui/richieste/nuova by the signed-in requester (see
    ``fill_request_form`` for the fields); the id of the request created."""
    browser.goto("/ui/richieste/nuova")
    browser.wait_for("#modulo-richiesta")
    fill_request_form(browser, **fields)
    send_request_form(browser)
    errors = browser.find_all("[data-testid=errori-modulo]")
    assert not errors, f"richiesta rifiutata: {errors[0].text}"
    return request_id_shown(browser)


def wait_until_routed(browser, request_id: str, timeout: float = ROUTING_WAIT_SECONDS) -> str:
    """The detail page reloaded until it shows where the request was routed; that text."""

    def routed():
        browser.goto(f"/ui/richieste/{request_id}")
        return browser.find_all("[data-routed='1']")

    browser.wait_until(routed, timeout=timeout)
    return browser.text("[data-testid=assegnazione]")


def wait_for_notice(browser, kind: str, protocol: str | None = None, timeout: float = ROUTING_WAIT_SECONDS):
    """Notifiche reloaded until a notice of ``kind`` (about ``protocol``) is there; the element."""

    def found():
        browser.goto("/ui/notifiche")
        for item in browser.find_all(f"[data-testid=notifiche] li[data-kind='{kind}']"):
            if protocol is None or protocol in item.text:
                return item
        return None

    return browser.wait_until(found, timeout=timeout)


def wait_until_bookable(browser, request_id: str, timeout: float = ROUTING_WAIT_SECONDS):
    """The detail page reloaded until it offers "Prenota" (the sede closed the request with
    booking enabled, and agenda has heard of it); the link, to /ui/agenda/nuovo?richiesta=<id>."""

    def bookable():
        browser.goto(f"/ui/richieste/{request_id}")
        found = browser.find_all("[data-testid=prenota]")
        return found[0] if found else None

    return browser.wait_until(bookable, timeout=timeout)


def wait_for_state(browser, request_id: str, state: str, timeout: float = ROUTING_WAIT_SECONDS) -> None:
    """The detail page reloaded until the request is in ``state`` (open, in_progress, closed)."""

    def reached():
        browser.goto(f"/ui/richieste/{request_id}")
        return browser.find_all(f"[data-testid=stato][data-state='{state}']")

    browser.wait_until(reached, timeout=timeout)
