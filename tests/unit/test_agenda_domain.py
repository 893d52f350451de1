"""When a request lets its requester book an appointment (DESIGN.md §2, Appointments)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.agenda.rules.eligibility import (
    CLOSED_WITHOUT_BOOKING,
    ENABLED_BY_OFFICE,
    INTERACTIONS_AVAILABLE,
    INTERACTIONS_EXHAUSTED,
    NO_ANSWER_IN_TIME,
    WAITING_FOR_ANSWER,
    booking_allowed,
)

SUBMITTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def request(**overrides):
    values = {
        "submitted_at": SUBMITTED,
        "first_answer_at": None,
        "interactions": 0,
        "booking_enabled": False,
        "closed_at": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    "days, allowed, code",
    [(14, False, WAITING_FOR_ANSWER), (15, False, WAITING_FOR_ANSWER), (16, True, NO_ANSWER_IN_TIME)],
)
def test_more_than_15_days_without_answer(days, allowed, code):
    result = booking_allowed(request(), SUBMITTED + timedelta(days=days))

    assert result[:2] == (allowed, code)


def test_waiting_reason_says_how_many_days_are_left():
    _, _, reason = booking_allowed(request(), SUBMITTED + timedelta(days=14))

    assert "mancano 2 giorni" in reason


def test_days_are_counted_on_the_rome_calendar():
    # 23:30 UTC on 1 March is 00:30 on 2 March in Rome (UTC+1): day 16 begins 18 March, 00:00 Rome
    submitted = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    just_before = datetime(2026, 3, 17, 22, 59, tzinfo=UTC)  # 17 March 23:59 in Rome
    just_after = datetime(2026, 3, 17, 23, 0, tzinfo=UTC)  # 18 March 00:00 in Rome

    assert booking_allowed(request(submitted_at=submitted), just_before)[0] is False
    assert booking_allowed(request(submitted_at=submitted), just_after)[0] is True


def test_enabled_by_office_allows_at_once():
    allowed, code, reason = booking_allowed(
        request(booking_enabled=True, first_answer_at=SUBMITTED), SUBMITTED
    )

    assert (allowed, code) == (True, ENABLED_BY_OFFICE)
    assert "abilitato" in reason


def test_answered_request_waits_for_both_further_interactions():
    answered = SUBMITTED + timedelta(days=3)
    late = SUBMITTED + timedelta(days=40)  # an answer stops the 15-day rule

    assert booking_allowed(request(first_answer_at=answered, interactions=1), late)[:2] == (
        False,
        INTERACTIONS_AVAILABLE,
    )
    assert (
        "resta 1 ulteriore interazione"
        in booking_allowed(request(first_answer_at=answered, interactions=1), late)[2]
    )
    assert booking_allowed(request(first_answer_at=answered, interactions=2), late)[:2] == (
        True,
        INTERACTIONS_EXHAUSTED,
    )


def test_closed_with_booking_enabled_allows():
    closed = request(first_answer_at=SUBMITTED, closed_at=SUBMITTED + timedelta(days=2), booking_enabled=True)

    assert booking_allowed(closed, SUBMITTED + timedelta(days=3))[:2] == (True, ENABLED_BY_OFFICE)


def test_closed_without_booking_does_not_allow_even_after_15_days():
    # closing gives the outcome: it is the office's reply, so the 15-day rule stops
    closed = request(closed_at=SUBMITTED + timedelta(days=20))

    allowed, code, reason = booking_allowed(closed, SUBMITTED + timedelta(days=30))

    assert (allowed, code) == (False, CLOSED_WITHOUT_BOOKING)
    assert "chiusa" in reason and "abilitato" in reason


def test_closed_after_answered_with_interactions_left_does_not_allow():
    closed = request(first_answer_at=SUBMITTED, interactions=1, closed_at=SUBMITTED + timedelta(days=4))

    assert booking_allowed(closed, SUBMITTED + timedelta(days=5))[:2] == (False, CLOSED_WITHOUT_BOOKING)


def test_interactions_used_up_allow_automatically_even_once_closed():
    closed = request(first_answer_at=SUBMITTED, interactions=2, closed_at=SUBMITTED + timedelta(days=9))

    assert booking_allowed(closed, SUBMITTED + timedelta(days=10))[:2] == (True, INTERACTIONS_EXHAUSTED)


def test_interactions_without_an_answer_yet_do_not_count():
    # a follow-up seen before its answer (events out of order) is not "first answer + 2"
    early = request(interactions=2)

    assert booking_allowed(early, SUBMITTED + timedelta(days=3))[:2] == (False, WAITING_FOR_ANSWER)


def test_every_refusal_says_why_in_italian():
    refusals = [
        request(),
        request(first_answer_at=SUBMITTED),
        request(closed_at=SUBMITTED),
    ]
    for row in refusals:
        allowed, code, reason = booking_allowed(row, SUBMITTED + timedelta(days=1))
        assert allowed is False and code and reason.endswith(".")
