"""The slots a punto di consulenza offers, derived from its calendar (never stored one by one).

A punto's calendar is a weekly opening pattern (per weekday, one or more time ranges), a
slot length, exceptions (a closure of a whole day or of a time range; an extra opening)
and the comune's patron saint's day where configured. On Italian national holidays
(library ``holidays``) and on the patron saint's day the punto is closed, unless an
extra opening says otherwise: the office's explicit choice wins over the calendar.

Times are wall-clock times in Europe/Rome; slots are returned as UTC instants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import holidays

from shared.clock import ROME
from shared.errors import InvalidInput, field_error

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED = "closed"
EXTRA_OPENING = "extra"
EXCEPTION_KINDS = (CLOSED, EXTRA_OPENING)
SLOT_MINUTES_CHOICES = (10, 15, 20, 30, 45, 60, 90, 120)
MAX_RANGE_DAYS = 62

_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)\Z")


@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class CalendarException:
    day: date
    kind: str  # CLOSED or EXTRA_OPENING
    hours: TimeRange | None = None  # None: the whole day (closures only)
    reason: str = ""


@dataclass(frozen=True)
class Calendar:
    weekly: dict[int, tuple[TimeRange, ...]]  # weekday (0 = Monday) -> opening ranges
    slot_minutes: int
    exceptions: tuple[CalendarException, ...] = ()
    patron_day: tuple[int, int] | None = None  # (month, day)


# ---- text forms (CSV, RPC) ---------------------------------------------------------------


def parse_range(text: str) -> TimeRange:
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"fascia oraria non valida: {text!r} (atteso HH:MM-HH:MM)")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    hours = TimeRange(time(h1, m1), time(h2, m2))
    if hours.end <= hours.start:
        raise ValueError(f"fascia oraria non valida: {text!r} (la fine precede l'inizio)")
    return hours


def parse_weekly(text: str) -> dict[int, tuple[TimeRange, ...]]:
    """``"mon=09:00-12:30,14:30-16:00;wed=09:00-12:30"`` -> {0: (...), 2: (...)}."""
    weekly: dict[int, tuple[TimeRange, ...]] = {}
    for part in filter(None, (item.strip() for item in (text or "").split(";"))):
        name, _, ranges = part.partition("=")
        name = name.strip().lower()
        if name not in WEEKDAYS:
            raise ValueError(f"giorno della settimana non valido: {name!r}")
        day = WEEKDAYS.index(name)
        if day in weekly:
            raise ValueError(f"giorno ripetuto: {name}")
        weekly[day] = _ordered_ranges([parse_range(item) for item in ranges.split(",") if item.strip()])
    return weekly


def format_weekly(weekly: dict[int, tuple[TimeRange, ...]]) -> str:
    return ";".join(
        f"{WEEKDAYS[day]}=" + ",".join(str(hours) for hours in weekly[day])
        for day in sorted(weekly)
        if weekly[day]
    )


def _ordered_ranges(ranges: list[TimeRange]) -> tuple[TimeRange, ...]:
    ordered = sorted(ranges, key=lambda hours: hours.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise ValueError(f"fasce orarie sovrapposte: {before} e {after}")
    return tuple(ordered)


def parse_patron_day(text: str | None) -> tuple[int, int] | None:
    """``"06-29"`` (MM-DD) -> (6, 29); empty -> None."""
    if not text:
        return None
    month, _, day = text.strip().partition("-")
    date(2024, int(month), int(day))  # a leap year: 02-29 is a valid day of some years
    return int(month), int(day)


# ---- holidays ----------------------------------------------------------------------------


def closed_for(day: date, patron_day: tuple[int, int] | None) -> str | None:
    """The name of the holiday that closes the punto on ``day``, or None."""
    national = holidays.Italy(years=day.year).get(day)
    if national:
        return str(national)
    if patron_day and (day.month, day.day) == patron_day:
        return "Festa del santo patrono"
    return None


# ---- slots -------------------------------------------------------------------------------


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _overlaps(start: int, end: int, hours: TimeRange) -> bool:
    return start < _minutes(hours.end) and _minutes(hours.start) < end


def day_ranges(calendar: Calendar, day: date) -> list[TimeRange]:
    """The opening ranges of ``day``: the weekly pattern unless a holiday or a whole-day
    closure, plus the extra openings of that day."""
    exceptions = [item for item in calendar.exceptions if item.day == day]
    closed_all_day = any(item.kind == CLOSED and item.hours is None for item in exceptions)
    ranges = []
    if not closed_all_day and closed_for(day, calendar.patron_day) is None:
        ranges.extend(calendar.weekly.get(day.weekday(), ()))
    ranges.extend(item.hours for item in exceptions if item.kind == EXTRA_OPENING and item.hours)
    return ranges


def day_slots(calendar: Calendar, day: date) -> list[datetime]:
    """The start instants (UTC) of the slots of ``day``, in order, without duplicates."""
    closures = [
        item.hours for item in calendar.exceptions if item.day == day and item.kind == CLOSED and item.hours
    ]
    length = calendar.slot_minutes
    starts = set()
    for hours in day_ranges(calendar, day):
        start = _minutes(hours.start)
        while start + length <= _minutes(hours.end):
            if not any(_overlaps(start, start + length, closure) for closure in closures):
                starts.add(start)
            start += length
    return [
        datetime.combine(day, time(start // 60, start % 60), tzinfo=ROME).astimezone(UTC)
        for start in sorted(starts)
    ]


def slots_between(calendar: Calendar, first_day: date, last_day: date) -> list[datetime]:
    """Every slot from ``first_day`` to ``last_day`` included (Rome days)."""
    slots = []
    day = first_day
    while day <= last_day:
        slots.extend(day_slots(calendar, day))
        day += timedelta(days=1)
    return slots


def offers_slot(calendar: Calendar, start: datetime) -> bool:
    """Whether ``start`` is one of the slots the calendar derives for its day."""
    return start.astimezone(UTC) in day_slots(calendar, start.astimezone(ROME).date())


def check_range(first_day: date, last_day: date) -> None:
    """Availability is asked for a bounded range: at most ``MAX_RANGE_DAYS`` days."""
    problems = []
    if last_day < first_day:
        problems.append(field_error("to", "invalid_range", "La data finale precede quella iniziale."))
    elif (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        problems.append(
            field_error(
                "to",
                "range_too_long",
                f"L'intervallo richiesto supera i {MAX_RANGE_DAYS} giorni consentiti.",
            )
        )
    if problems:
        raise InvalidInput.from_errors(problems)
