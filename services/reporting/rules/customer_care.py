"""Customer Care for the Agenda Appuntamenti: three indicators of the consulting appointments,
as plain functions of a booking's facts.

HERMES msg 2614/2018 recalls that msg 2697/2017 built "l'indice complessivo di qualità per le
richieste di consulenza" from three indicators, without saying which; 2697/2017 is not among
the seeds. The reading chosen here (README, "Customer Care"), from agenda's events only:

- **share held** = appointments held ÷ appointments due. Due: every appointment whose outcome
  was recorded (held or no-show), and every other one whose slot day (Rome) has passed, except
  those the requester cancelled or moved (the citizen gave the slot back: nobody failed them).
  So a cancellation by the office and an appointment whose outcome was never recorded count
  as not held. A slot of today is not yet due: its outcome may still be recorded today.
- **no-show rate** = no-shows ÷ (held + no-shows), the appointments whose outcome was recorded.
- **days to the appointment** = slot day − booking day (calendar days, Europe/Rome) of every
  booking whose booking day is known, however it ended: how far ahead the offices had a slot
  when the citizen booked. Average, median and 90th percentile (linear interpolation between
  the closest ranks, as PostgreSQL's ``percentile_cont``).

A ratio with nothing below the line is ``None``. The three are not folded into one index: the
weights of msg 2697/2017 are not known here, and a made-up index would hide which one moved.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from shared.clock import days_between, rome_date

CONFIRMED = "confirmed"
HELD = "held"
NO_SHOW = "no_show"
CANCELLED_BY_REQUESTER = "cancelled_by_requester"
CANCELLED_BY_OFFICE = "cancelled_by_office"
FINAL_STATES = (HELD, NO_SHOW, CANCELLED_BY_REQUESTER, CANCELLED_BY_OFFICE)


@dataclass(frozen=True)
class AppointmentCounts:
    """What the share held and the no-show rate of a set of bookings are made of."""

    booked: int = 0
    due: int = 0
    held: int = 0
    no_show: int = 0
    cancelled_by_requester: int = 0
    cancelled_by_office: int = 0
    awaiting_outcome: int = 0  # confirmed, slot day passed, no outcome recorded
    upcoming: int = 0  # confirmed, slot today or later

    def __add__(self, other: AppointmentCounts) -> AppointmentCounts:
        return AppointmentCounts(
            self.booked + other.booked,
            self.due + other.due,
            self.held + other.held,
            self.no_show + other.no_show,
            self.cancelled_by_requester + other.cancelled_by_requester,
            self.cancelled_by_office + other.cancelled_by_office,
            self.awaiting_outcome + other.awaiting_outcome,
            self.upcoming + other.upcoming,
        )


def slot_passed(slot_start: datetime, today: date) -> bool:
    """The slot's day (Rome) is over: from the day after the appointment."""
    return rome_date(slot_start) < today


def appointment_counts(row, today: date) -> AppointmentCounts:
    """One booking (``state``, ``slot_start``) as counts, measured on ``today`` (Rome)."""
    passed = slot_passed(row.slot_start, today)
    state = row.state
    return AppointmentCounts(
        booked=1,
        due=int(state in (HELD, NO_SHOW) or (passed and state in (CONFIRMED, CANCELLED_BY_OFFICE))),
        held=int(state == HELD),
        no_show=int(state == NO_SHOW),
        cancelled_by_requester=int(state == CANCELLED_BY_REQUESTER),
        cancelled_by_office=int(state == CANCELLED_BY_OFFICE),
        awaiting_outcome=int(state == CONFIRMED and passed),
        upcoming=int(state == CONFIRMED and not passed),
    )


def days_to_appointment(booked_at: datetime | None, slot_start: datetime) -> int | None:
    """Slot day − booking day (Rome); None when the booking day is not known (a booking whose
    ``appointment_booked`` has not arrived, or one projected before reporting kept it)."""
    if booked_at is None:
        return None
    return days_between(booked_at, slot_start)


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """The ``fraction`` percentile of values given as value -> how many times, by linear
    interpolation between the closest ranks (PostgreSQL's ``percentile_cont``)."""
    total = sum(histogram.values())
    if not total:
        return None
    position = (total - 1) * fraction
    low_rank, high_rank = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > low_rank:
            low = value
        if seen > high_rank:
            high = value
            break
    return low + (high - low) * (position - low_rank)


@dataclass(frozen=True)
class LeadTimes:
    """Days to the appointment of a set of bookings (those whose booking day is known)."""

    known: int = 0
    average: float | None = None
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, days: Iterable[int]) -> LeadTimes:
        return cls.of_histogram(Counter(days))

    @classmethod
    def of_histogram(cls, histogram: Mapping[int, int]) -> LeadTimes:
        """From days -> number of bookings: how the dashboard counts them (days add up across
        groups, a median does not)."""
        known = sum(histogram.values())
        if not known:
            return cls()
        average = sum(days * count for days, count in histogram.items()) / known
        return cls(known, average, percentile(histogram, 0.5), percentile(histogram, 0.9))


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def customer_care_figures(counts: AppointmentCounts, lead: LeadTimes) -> dict:
    """The three indicators of a set of bookings, with the counts they are made of."""
    return {
        "booked": counts.booked,
        "due": counts.due,
        "held": counts.held,
        "no_show": counts.no_show,
        "cancelled_by_requester": counts.cancelled_by_requester,
        "cancelled_by_office": counts.cancelled_by_office,
        "awaiting_outcome": counts.awaiting_outcome,
        "upcoming": counts.upcoming,
        "held_share": ratio(counts.held, counts.due),
        "no_show_rate": ratio(counts.no_show, counts.held + counts.no_show),
        "days_known": lead.known,
        "days_to_appointment_average": _rounded(lead.average),
        "days_to_appointment_median": _rounded(lead.median),
        "days_to_appointment_p90": _rounded(lead.p90),
    }


def figures_of_rows(rows, today: date) -> dict:
    """The figures of plain rows (``state``, ``slot_start``, ``booked_at``): what the SQL of
    ``services/reporting/customer_care.py`` computes, written row by row."""
    counts, days = AppointmentCounts(), []
    for row in rows:
        counts += appointment_counts(row, today)
        lead = days_to_appointment(row.booked_at, row.slot_start)
        if lead is not None:
            days.append(lead)
    return customer_care_figures(counts, LeadTimes.of(days))
