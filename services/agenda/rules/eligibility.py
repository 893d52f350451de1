"""Agenda rules as plain functions (DESIGN.md §2, Appointments).

Booking from a request is allowed when
- the official enabled it on closing, or
- the first answer arrived and both further interactions are used up, or
- more than 15 days have passed since submission with no answer
  (days counted on the Europe/Rome calendar).

A request closed without enabling booking has had its outcome (esito): closing is the
office's reply, so the 15-day rule no longer applies to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.clock import days_between, rome_date
from shared.vocabulary import DAYS_WITHOUT_ANSWER, MAX_FOLLOWUPS

# booking opens once *more than* DAYS_WITHOUT_ANSWER days have passed, or when the
# MAX_FOLLOWUPS further interactions after the first answer are used up

ENABLED_BY_OFFICE = "enabled_by_office"
INTERACTIONS_EXHAUSTED = "interactions_exhausted"
NO_ANSWER_IN_TIME = "no_answer_in_time"
CLOSED_WITHOUT_BOOKING = "closed_without_booking"
WAITING_FOR_ANSWER = "waiting_for_answer"
INTERACTIONS_AVAILABLE = "interactions_available"


def booking_allowed(row, now: datetime) -> tuple[bool, str, str]:
    """Whether the requester may book from this request: (allowed, machine code, Italian reason).

    ``row`` is anything with the attributes ``submitted_at``, ``first_answer_at``,
    ``interactions``, ``booking_enabled`` and ``closed_at`` (the ORM row, or a plain
    object in tests).
    """
    if row.booking_enabled:
        return True, ENABLED_BY_OFFICE, "La sede ha abilitato la prenotazione di un appuntamento."
    answered = row.first_answer_at is not None
    if answered and row.interactions >= MAX_FOLLOWUPS:
        return _interactions_exhausted()
    if is_closed(row):
        return (
            False,
            CLOSED_WITHOUT_BOOKING,
            "La richiesta è stata chiusa senza che la sede abbia abilitato "
            "la prenotazione di un appuntamento.",
        )
    if answered:
        return _interactions_left(row.interactions)
    return _before_answer(days_between(row.submitted_at, now))


def is_closed(row) -> bool:
    """Closed, and not reopened since by a follow-up (msg 3813/2021: a follow-up reopens a
    request closed with its first answer). ``reopened_at`` is optional on ``row``."""
    reopened_at = getattr(row, "reopened_at", None)
    return row.closed_at is not None and (reopened_at is None or row.closed_at > reopened_at)


def _interactions_exhausted() -> tuple[bool, str, str]:
    return (
        True,
        INTERACTIONS_EXHAUSTED,
        "La richiesta ha ricevuto risposta e le ulteriori interazioni sono esaurite: "
        "è possibile prenotare un appuntamento.",
    )


def _interactions_left(interactions: int) -> tuple[bool, str, str]:
    left = MAX_FOLLOWUPS - interactions
    still = "resta 1 ulteriore interazione" if left == 1 else f"restano {left} ulteriori interazioni"
    return (
        False,
        INTERACTIONS_AVAILABLE,
        f"La richiesta ha ricevuto risposta: {still} prima di poter prenotare un appuntamento.",
    )


def _before_answer(days_waited: int) -> tuple[bool, str, str]:
    if days_waited > DAYS_WITHOUT_ANSWER:
        return (
            True,
            NO_ANSWER_IN_TIME,
            f"Nessuna risposta dopo {days_waited} giorni dalla presentazione: "
            "è possibile prenotare un appuntamento.",
        )
    left = DAYS_WITHOUT_ANSWER + 1 - days_waited
    still = "manca 1 giorno" if left == 1 else f"mancano {left} giorni"
    return (
        False,
        WAITING_FOR_ANSWER,
        f"La prenotazione è possibile se la richiesta resta senza risposta "
        f"per più di {DAYS_WITHOUT_ANSWER} giorni: {still}.",
    )


def booking_possible_from(row, now: datetime) -> date | None:
    """The first day (Europe/Rome) booking becomes possible by waiting, when it is not yet:
    the day after the 15th without an answer. None when it is already possible, or when
    waiting alone will not make it possible (an answer came, the request was closed)."""
    allowed, reason_code, _ = booking_allowed(row, now)
    if allowed or reason_code != WAITING_FOR_ANSWER:
        return None
    return rome_date(row.submitted_at) + timedelta(days=DAYS_WITHOUT_ANSWER + 1)
