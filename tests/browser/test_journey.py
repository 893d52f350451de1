"""The whole story of the console in one browser, as the issue walks it: a patronato submits
with an attachment and sees it routed; the sede's official takes, answers and closes it
enabling booking; the patronato books a web meeting and finds the confirmation in Notifiche;
the national director sees the sede's figure move on the Cruscotto and drills down to the
request. Each screen is checked with axe-core and saved (var/artifacts/browser/journey-*)."""

from __future__ import annotations

import pytest

from tests.browser.office_steps import (
    REPORTED_SECONDS,
    book_appointment,
    close_with_booking,
    drill_down_to_request,
    sign_in_official,
    take_and_answer,
)
from tests.browser.steps import pdf_file, submit_request, wait_for_notice, wait_until_routed

pytestmark = pytest.mark.e2e

SEDE, REGION = "0704", "Lazio"  # where a citizen of CAP 00184 is routed (sample reference data)
# a citizen of this test alone: agenda refuses a second booking for the same citizen and
# subject (duplicate_booking), and the other browser tests book for the default one
CITIZEN = "VRDGPP80A01H501U"


def submitted_at_sede(browser) -> int:
    browser.goto(f"/ui/cruscotto?level=sede&code={SEDE}")
    browser.wait_for("[data-testid=inviate]")
    return int(browser.text("[data-testid=inviate]").replace(".", ""))


def test_a_request_from_submission_to_appointment_to_the_cruscotto(browser, tmp_path):
    browser.sign_in("direttore_centrale", next="/ui/cruscotto")
    before = submitted_at_sede(browser)

    browser.sign_in("patronato_operatore", next="/ui/richieste/nuova")
    request_id = submit_request(browser, codice_fiscale=CITIZEN, attachments=[pdf_file(tmp_path)])
    assert "domanda.pdf" in browser.text("main")
    assignment = wait_until_routed(browser, request_id)
    assert SEDE in assignment or "Roma" in assignment, assignment
    browser.accessible()
    browser.snapshot("journey-1-inviata")

    sign_in_official(browser, SEDE, next=f"/ui/sede/richieste/{request_id}")
    take_and_answer(browser, request_id)
    close_with_booking(browser, request_id)
    browser.snapshot("journey-2-chiusa")

    browser.sign_in("patronato_operatore", next="/ui/agenda")
    appointment_id = book_appointment(browser, request_id, modality="web_meeting")
    assert appointment_id
    notice = wait_for_notice(browser, "appointment_booked")
    assert notice.is_displayed()
    browser.accessible()
    browser.snapshot("journey-3-notifiche")

    browser.sign_in("direttore_centrale", next="/ui/cruscotto")
    browser.wait_until(lambda: submitted_at_sede(browser) > before, timeout=REPORTED_SECONDS)
    browser.snapshot("journey-4-cruscotto-sede")
    drill_down_to_request(browser, request_id, SEDE, REGION)
