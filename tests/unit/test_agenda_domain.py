"""When a request lets its requester book an appointment (DESIGN.md §2, Appointments)."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.agenda.domain import (
    ENABLED_BY_OFFICE,
    INTERACTIONS_AVAILABLE,
    INTERACTIONS_EXHAUSTED,
    NO_ANSWER_IN_TIME,
    WAITING_FOR_ANSWER,
    booking_allowed,
)

SUBMITTED = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def request(**overrides):
    values = {"submitted_at": SUBMITTED, "first_answer_at": None, "interactions": 0, "booking_enabled": False}
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
    submitted = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)
    just_before = datetime(2026, 3, 17, 22, 59, tzinfo=timezone.utc)  # 17 March 23:59 in Rome
    just_after = datetime(2026, 3, 17, 23, 0, tzinfo=timezone.utc)  # 18 March 00:00 in Rome

    assert booking_allowed(request(submitted_at=submitted), just_before)[0] is False
    assert booking_allowed(request(submitted_at=submitted), just_after)[0] is True


def test_enabled_by_office_allows_at_once():
    allowed, code, reason = booking_allowed(request(booking_enabled=True, first_answer_at=SUBMITTED), SUBMITTED)

    assert (allowed, code) == (True, ENABLED_BY_OFFICE)
    assert "abilitato" in reason


def test_answered_request_waits_for_both_further_interactions():
    answered = SUBMITTED + timedelta(days=3)
    late = SUBMITTED + timedelta(days=40)  # an answer stops the 15-day rule

    assert booking_allowed(request(first_answer_at=answered, interactions=1), late)[:2] == (False, INTERACTIONS_AVAILABLE)
    assert "resta 1 ulteriore interazione" in booking_allowed(request(first_answer_at=answered, interactions=1), late)[2]
    assert booking_allowed(request(first_answer_at=answered, interactions=2), late)[:2] == (True, INTERACTIONS_EXHAUSTED)
