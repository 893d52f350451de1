"""Slots derived from a punto's calendar: weekly pattern, slot length, holidays, patron
saint's day, closures and extra openings (services/agenda/rules/slots.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from services.agenda.rules import slots
from services.agenda.rules.slots import Calendar, CalendarException, TimeRange
from shared.clock import ROME
from shared.errors import InvalidInput

WEEKLY = slots.parse_weekly("mon=09:00-10:00;wed=09:00-10:00,14:00-15:00")
MONDAY = date(2026, 3, 2)
WEDNESDAY = date(2026, 3, 4)


def rome(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ROME).astimezone(UTC)


def calendar(**overrides) -> Calendar:
    values = {"weekly": WEEKLY, "slot_minutes": 30}
    values.update(overrides)
    return Calendar(**values)


def test_weekly_pattern_gives_slots_of_the_slot_length():
    assert slots.day_slots(calendar(), MONDAY) == [rome(MONDAY, 9), rome(MONDAY, 9, 30)]
    assert slots.day_slots(calendar(), WEDNESDAY) == [
        rome(WEDNESDAY, 9),
        rome(WEDNESDAY, 9, 30),
        rome(WEDNESDAY, 14),
        rome(WEDNESDAY, 14, 30),
    ]
    assert slots.day_slots(calendar(), date(2026, 3, 3)) == []  # Tuesday: closed


def test_a_slot_that_does_not_fit_before_closing_is_not_offered():
    assert slots.day_slots(calendar(slot_minutes=45), MONDAY) == [rome(MONDAY, 9)]


def test_slots_are_rome_wall_clock_times_across_daylight_saving():
    summer_monday = date(2026, 7, 6)
    assert slots.day_slots(calendar(), summer_monday)[0] == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)
    assert slots.day_slots(calendar(), MONDAY)[0] == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_national_holidays_close_the_punto():
    easter_monday = date(2026, 4, 6)
    assert slots.closed_for(easter_monday, None) is not None
    assert slots.day_slots(calendar(), easter_monday) == []
    assert slots.day_slots(calendar(), date(2026, 6, 1)) != []  # a Monday, not the 2nd of June


def test_the_patron_saints_day_closes_only_where_configured():
    saints_peter_and_paul = date(2026, 6, 29)  # a Monday: Roma's patron saints
    assert slots.day_slots(calendar(), saints_peter_and_paul) != []
    assert slots.day_slots(calendar(patron_day=(6, 29)), saints_peter_and_paul) == []
    assert slots.closed_for(saints_peter_and_paul, (6, 29)) == "Festa del santo patrono"


def test_closures_of_a_day_or_of_hours_and_extra_openings():
    closed_day = CalendarException(MONDAY, slots.CLOSED)
    assert slots.day_slots(calendar(exceptions=(closed_day,)), MONDAY) == []
    closed_hour = CalendarException(WEDNESDAY, slots.CLOSED, TimeRange(time(9, 15), time(9, 45)))
    assert slots.day_slots(calendar(exceptions=(closed_hour,)), WEDNESDAY) == [
        rome(WEDNESDAY, 14),
        rome(WEDNESDAY, 14, 30),
    ]
    tuesday = date(2026, 3, 3)
    extra = CalendarException(tuesday, slots.EXTRA_OPENING, TimeRange(time(16, 0), time(17, 0)))
    assert slots.day_slots(calendar(exceptions=(extra,)), tuesday) == [
        rome(tuesday, 16),
        rome(tuesday, 16, 30),
    ]


def test_an_extra_opening_on_a_holiday_is_the_offices_choice():
    christmas = date(2026, 12, 25)
    extra = CalendarException(christmas, slots.EXTRA_OPENING, TimeRange(time(10, 0), time(10, 30)))
    assert slots.day_slots(calendar(exceptions=(extra,)), christmas) == [rome(christmas, 10)]


def test_slots_between_and_offers_slot():
    found = slots.slots_between(calendar(), MONDAY, WEDNESDAY)
    assert len(found) == 6
    assert slots.offers_slot(calendar(), rome(MONDAY, 9, 30))
    assert not slots.offers_slot(calendar(), rome(MONDAY, 9, 15))


def test_the_weekly_pattern_text_round_trips_and_bad_text_is_refused():
    assert slots.format_weekly(WEEKLY) == "mon=09:00-10:00;wed=09:00-10:00,14:00-15:00"
    for bad in ("xyz=09:00-10:00", "mon=10:00-09:00", "mon=09:00-11:00,10:00-12:00", "mon=9-10"):
        with pytest.raises(ValueError):
            slots.parse_weekly(bad)


def test_availability_is_asked_for_at_most_62_days():
    slots.check_range(date(2026, 1, 1), date(2026, 3, 3))  # 62 days
    with pytest.raises(InvalidInput) as too_long:
        slots.check_range(date(2026, 1, 1), date(2026, 3, 4))
    assert too_long.value.errors[0]["code"] == "range_too_long"
    with pytest.raises(InvalidInput) as backwards:
        slots.check_range(date(2026, 1, 2), date(2026, 1, 1))
    assert backwards.value.errors[0]["code"] == "invalid_range"
