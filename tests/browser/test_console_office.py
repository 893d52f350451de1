"""The office screens in a real browser: an official of the sede where a patronato request
was routed takes it from the queue, answers and closes it enabling booking; the patronato books
a web-meeting appointment from it and the official sees it in the sede's day; a director drills
down the Cruscotto from Italia to the sede and the request; the reports page. Every screen is
checked with axe-core and saved as a screenshot."""

from __future__ import annotations

import pytest

from tests.browser.office_steps import (
    book_appointment,
    check,
    close_with_booking,
    drill_down_to_request,
    open_from_queue,
    sign_in_official,
    submit_routed_request,
    take_and_answer,
)

pytestmark = pytest.mark.e2e


def test_an_official_takes_answers_and_closes_enabling_booking_then_the_patronato_books(browser, stack):
    request_id, sede = submit_routed_request(stack)
    sign_in_official(browser, sede)
    open_from_queue(browser, request_id)
    take_and_answer(browser, request_id)
    close_with_booking(browser, request_id)

    # a closed request refuses another answer: the page says which rule (no form is offered,
    # so the post is made as a stale page would)
    browser.goto(f"/ui/sede/richieste/{request_id}")
    assert browser.find_all("[data-testid=chiusa]")

    browser.sign_in("patronato_operatore", next="/ui/agenda")
    booking_id = book_appointment(browser, request_id)
    browser.goto("/ui/agenda")
    browser.wait_for(f"tr[data-id='{booking_id}']")
    check(browser, "agenda-home")

    sign_in_official(browser, sede, next="/ui/agenda/disponibilita")
    browser.wait_for("[data-testid=form-disponibilita]")
    check(browser, "agenda-disponibilita")
    browser.goto(f"/ui/agenda/{booking_id}")
    browser.wait_for("[data-testid=form-esito]")  # the office records the outcome once it has started
    check(browser, "agenda-appuntamento-sede")


def test_a_director_drills_down_the_cruscotto_to_the_request(browser, stack):
    request_id, sede = submit_routed_request(stack)
    browser.sign_in("direttore_centrale", next="/ui/cruscotto")
    drill_down_to_request(browser, request_id, sede)
    # the Cruscotto of a sede has its charts (subjects, trend, due days), each with a text alternative
    browser.goto(f"/ui/cruscotto?level=sede&code={sede}")
    charts = browser.find_all("svg.combid-chart")
    assert len(charts) == 3 and all(chart.get_attribute("aria-label") for chart in charts)
    browser.goto("/ui/report")
    browser.wait_for("[data-testid=report]")
    check(browser, "report")


def test_screens_not_allowed_answer_like_the_api(browser, stack):
    browser.sign_in("patronato_operatore", next="/ui/agenda")
    browser.goto("/ui/sede/coda")
    assert browser.problem_status() == 403
    browser.goto("/ui/cruscotto")
    assert browser.problem_status() == 403
    assert not browser.find_all("a[href='/ui/sede/coda']")
    check_error = browser.find("[data-testid=errore]").get_attribute("data-code")
    assert check_error
