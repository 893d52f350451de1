"""Customer Care's indicators at their edges: a slot of today or of yesterday (Rome), an
outcome recorded on the day, who cancelled, empty sets, the days to the appointment across
midnight and the change to summer time, the percentiles as PostgreSQL computes them."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.reporting.rules.customer_care import (
    AppointmentCounts,
    LeadTimes,
    appointment_counts,
    customer_care_figures,
    days_to_appointment,
    figures_of_rows,
    percentile,
    slot_passed,
)

TODAY = date(2026, 3, 10)


def rome(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant given in Rome's winter time (UTC+1, before 29 March 2026)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


def booking(state: str, slot_day: date, hour: int = 9, booked_at: datetime | None = None):
    return SimpleNamespace(state=state, slot_start=rome(slot_day, hour), booked_at=booked_at)


YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)


# ---- which appointments are due ------------------------------------------------------------------


def test_a_slot_is_passed_from_the_day_after_it_on_the_rome_calendar():
    assert not slot_passed(rome(TODAY, 0, 5), TODAY)  # 23:05 UTC of the day before: still today in Rome
    assert not slot_passed(rome(TODAY, 23, 55), TODAY)
    assert slot_passed(rome(YESTERDAY, 23, 55), TODAY)


def test_a_confirmed_appointment_of_today_is_upcoming_and_of_yesterday_awaits_its_outcome():
    today = appointment_counts(booking("confirmed", TODAY, hour=8), TODAY)
    yesterday = appointment_counts(booking("confirmed", YESTERDAY, hour=18), TODAY)

    assert (today.due, today.upcoming, today.awaiting_outcome) == (0, 1, 0)
    assert (yesterday.due, yesterday.upcoming, yesterday.awaiting_outcome) == (1, 0, 1)
    assert customer_care_figures(yesterday, LeadTimes())["held_share"] == 0.0  # not recorded: not held


def test_an_outcome_recorded_on_the_day_counts_as_due_so_the_share_never_passes_one():
    held_today = appointment_counts(booking("held", TODAY), TODAY)

    figures = customer_care_figures(held_today, LeadTimes())

    assert (held_today.due, held_today.held) == (1, 1)
    assert (figures["held_share"], figures["no_show_rate"]) == (1.0, 0.0)


@pytest.mark.parametrize("slot_day, due", [(YESTERDAY, 1), (TODAY, 0), (TOMORROW, 0)])
def test_a_cancellation_by_the_office_counts_against_once_the_slot_day_is_over(slot_day, due):
    counts = appointment_counts(booking("cancelled_by_office", slot_day), TODAY)

    assert (counts.due, counts.cancelled_by_office, counts.held) == (due, 1, 0)


@pytest.mark.parametrize("slot_day", [YESTERDAY, TOMORROW])
def test_a_cancellation_by_the_requester_is_never_due(slot_day):
    counts = appointment_counts(booking("cancelled_by_requester", slot_day), TODAY)

    assert (counts.booked, counts.due, counts.cancelled_by_requester) == (1, 0, 1)


def test_share_held_and_no_show_rate_of_a_mix():
    rows = [
        booking("held", YESTERDAY),
        booking("held", YESTERDAY),
        booking("held", YESTERDAY),
        booking("no_show", YESTERDAY),
        booking("cancelled_by_office", YESTERDAY),
        booking("confirmed", YESTERDAY),  # outcome never recorded
        booking("cancelled_by_requester", YESTERDAY),
        booking("confirmed", TOMORROW),
    ]

    figures = figures_of_rows(rows, TODAY)

    assert (figures["booked"], figures["due"]) == (8, 6)
    assert figures["held_share"] == 3 / 6
    assert figures["no_show_rate"] == 1 / 4
    assert (figures["awaiting_outcome"], figures["upcoming"]) == (1, 1)


def test_no_due_appointment_and_no_outcome_give_no_figure_rather_than_zero():
    only_future = figures_of_rows([booking("confirmed", TOMORROW)], TODAY)
    nothing = figures_of_rows([], TODAY)

    assert (only_future["held_share"], only_future["no_show_rate"]) == (None, None)
    assert nothing == customer_care_figures(AppointmentCounts(), LeadTimes())
    assert (nothing["booked"], nothing["held_share"], nothing["days_to_appointment_median"]) == (
        0,
        None,
        None,
    )


# ---- days to the appointment ---------------------------------------------------------------------


def test_days_to_the_appointment_are_rome_calendar_days_from_the_booking_day():
    slot = rome(TODAY, 9)

    assert days_to_appointment(rome(TODAY, 0, 10), slot) == 0  # booked the same morning
    assert days_to_appointment(rome(YESTERDAY, 23, 30), slot) == 1  # 22:30 UTC: still yesterday in Rome
    assert days_to_appointment(None, slot) is None  # the booking's event has not arrived


def test_days_to_the_appointment_across_the_change_to_summer_time():
    booked = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Rome, 28 March (UTC+1)
    slot = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 in Rome, 30 March (UTC+2)

    assert days_to_appointment(booked, slot) == 2


def test_bookings_without_a_known_booking_day_are_left_out_of_the_days_only():
    rows = [
        booking("held", YESTERDAY, booked_at=rome(YESTERDAY - timedelta(days=4), 10)),
        booking("held", YESTERDAY, booked_at=None),
    ]

    figures = figures_of_rows(rows, TODAY)

    assert (figures["booked"], figures["held"], figures["days_known"]) == (2, 2, 1)
    assert figures["days_to_appointment_average"] == figures["days_to_appointment_median"] == 4


@pytest.mark.parametrize(
    "values, fraction, expected",
    [
        ([7], 0.5, 7),
        ([1, 2, 3, 4], 0.5, 2.5),
        ([4, 1, 3, 2], 0.9, 3.7),  # (n - 1) × 0.9 = 2.7: between the third and the fourth
        ([0, 0, 10], 0.5, 0),
        ([], 0.5, None),
    ],
)
def test_percentiles_interpolate_as_postgresql_percentile_cont(values, fraction, expected):
    found = percentile(Counter(values), fraction)

    assert found is None if expected is None else found == pytest.approx(expected)


def test_percentiles_of_a_histogram_equal_those_of_the_values_written_out():
    rng = random.Random(7)
    for _ in range(200):
        values = [rng.choice([0, 1, 1, 2, 3, 5, 8, 13, 30]) for _ in range(rng.randrange(1, 40))]
        ordered = sorted(values)
        for fraction in (0.0, 0.5, 0.9, 1.0):
            position = (len(ordered) - 1) * fraction
            low, high = int(position), min(int(position) + 1, len(ordered) - 1)
            written_out = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
            assert percentile(Counter(values), fraction) == pytest.approx(written_out)


def test_lead_times_round_to_hundredths_in_the_figures():
    figures = customer_care_figures(AppointmentCounts(), LeadTimes.of([1, 2, 2]))

    assert figures["days_known"] == 3
    assert figures["days_to_appointment_average"] == 1.67
    assert (figures["days_to_appointment_median"], figures["days_to_appointment_p90"]) == (2, 2)
