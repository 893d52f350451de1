"""Periods of the dashboard and of the monthly reports, as plain functions of dates.

A period is a range of submission days (Europe/Rome), both ends included: the figures of a
period are those of the requests submitted in it (a cohort), measured as they stand now. A
month's report waits until the month's longest threshold has elapsed (msg 2614/2018: "nel
rispetto del compimento del tempo soglia massimo stabilito"): from then on every request of
the month is closed or past its threshold, and its threshold indicator no longer changes.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from shared.vocabulary import SLA_DAYS

LONGEST_THRESHOLD_DAYS = max(SLA_DAYS)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """The first and the last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-03"`` -> (2026, 3); ValueError otherwise."""
    year, _, month = str(text).partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit() or not 1 <= int(month) <= 12:
        raise ValueError(f"mese non valido: {text!r} (AAAA-MM)")
    return int(year), int(month)


def previous_month(day: date) -> tuple[int, int]:
    first = day.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def report_ready_on(year: int, month: int) -> date:
    """The first day on which every request of the month is past its longest threshold: the
    last day of the month, plus the longest threshold, plus one."""
    return month_bounds(year, month)[1] + timedelta(days=LONGEST_THRESHOLD_DAYS + 1)


def months_ready(today: date, since: tuple[int, int]) -> list[tuple[int, int]]:
    """The months from ``since`` whose report can be produced on ``today``, oldest first."""
    year, month = since
    ready = []
    while report_ready_on(year, month) <= today:
        ready.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ready
