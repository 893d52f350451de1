"""Periods of the dashboard and of the monthly reports, as plain functions of dates.

A period is a range of submission days (Europe/Rome), both ends included: the figures of a
period are those of the requests submitted in it (a cohort), measured as they stand now. A
month's report waits until the month's longest threshold has elapsed (msg 2614/2018: "nel
rispetto del compimento del tempo soglia massimo stabilito"): from then on every request of
the month is closed or past its threshold, and its threshold indicator no longer changes.
The same moment lets the dashboard read such a month from the monthly rollup instead of its
days (``split_period``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from shared.vocabulary import SLA_DAYS

LONGEST_THRESHOLD_DAYS = max(SLA_DAYS)
ONE_DAY = timedelta(days=1)


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


def last_settled_day(today: date) -> date:
    """The last day of the latest month whose requests are all closed or past their threshold
    on ``today`` (the month's report is ready): its counts no longer depend on the day one
    looks, so a monthly rollup can stand for its days."""
    limit = today - timedelta(days=LONGEST_THRESHOLD_DAYS + 1)
    if (limit + timedelta(days=1)).day == 1:
        return limit
    return limit.replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class PeriodParts:
    """A period cut in three (each an inclusive range of days, ``None`` for an open end):

    - ``settled``: whole months settled on the day one looks (from the first day of the first
      to the last day of the last): read from the monthly rollup, every open request of them
      past its threshold;
    - ``unsettled``: whole months not settled yet: from the rollup too, except which of their
      open requests are past the threshold, which depends on their days;
    - ``days``: the days at the edges (a month begun or ended inside the period), from the
      daily counts.
    """

    settled: tuple[date | None, date] | None
    unsettled: tuple[date, date] | None
    days: tuple[tuple[date | None, date | None], ...]


def split_period(
    first: date | None, last: date | None, today: date, unsettled_months: bool = True
) -> PeriodParts:
    """Cut [first, last] (None: since always / until whenever) into its whole months settled on
    ``today``, its whole months not yet settled (left to the days when ``unsettled_months`` is
    false) and the days at its edges."""
    whole_first = first if first is None or first.day == 1 else _next_month_start(first)
    whole_last = None if last is None else (last if _is_month_end(last) else _month_start(last) - ONE_DAY)
    if whole_first is not None and whole_last is not None and whole_first > whole_last:
        return PeriodParts(None, None, ((first, last),))  # no whole month in it
    settled_day = last_settled_day(today)
    settled_end = settled_day if whole_last is None else min(whole_last, settled_day)
    settled = None
    if whole_first is None or whole_first <= settled_end:
        settled = (whole_first, settled_end)
    unsettled = None
    if unsettled_months and whole_last is not None:
        start = settled_day + ONE_DAY if whole_first is None else max(whole_first, settled_day + ONE_DAY)
        if start <= whole_last:
            unsettled = (start, whole_last)
    if settled is None and unsettled is None:
        return PeriodParts(None, None, ((first, last),))
    months_end = unsettled[1] if unsettled else settled[1]
    days = []
    if whole_first is not None and first < whole_first:
        days.append((first, whole_first - ONE_DAY))
    if last is None or months_end < last:
        days.append((months_end + ONE_DAY, last))
    return PeriodParts(settled, unsettled, tuple(days))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month_start(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1
