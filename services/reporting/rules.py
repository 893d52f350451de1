"""Dashboard (Cruscotto) figures as plain functions over plain rows (DESIGN.md §2, Dashboard).

For the requests of one subject with threshold n days:

- threshold indicator = closed within n days of submission
                        ÷ (closed + still open and past n days);
- backlog index (indice di giacenza) = still open and not past n days ÷ all still open;
- average closing time in days.

"Still open" means not closed: ``open`` (aperta) or ``in_progress`` (in carico), the
requests that lie waiting (giacenti). Days are whole calendar days on the Europe/Rome
calendar. A ratio whose denominator is 0 is ``None``: no figure, rather than a made-up 0 or 1.

A row is anything with ``subject``, ``sla_days``, ``state``, ``submitted_at`` and
``closed_at`` (a database row, or a ``RequestTiming`` in tests).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from shared.clock import days_between
from shared.vocabulary import STATE_CLOSED


@dataclass(frozen=True)
class RequestTiming:
    subject: str
    sla_days: int
    state: str
    submitted_at: datetime
    closed_at: datetime | None = None


def closing_days(row) -> int:
    return days_between(row.submitted_at, row.closed_at)


def closed_within_threshold(row) -> bool:
    return row.state == STATE_CLOSED and closing_days(row) <= row.sla_days


def open_past_threshold(row, now: datetime) -> bool:
    return row.state != STATE_CLOSED and days_between(row.submitted_at, now) > row.sla_days


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def sla_figures(rows, now: datetime) -> dict:
    """The figures for a set of requests, each measured against its own threshold."""
    closed = [row for row in rows if row.state == STATE_CLOSED]
    still_open = [row for row in rows if row.state != STATE_CLOSED]
    closed_in_time = sum(1 for row in closed if closed_within_threshold(row))
    late_open = sum(1 for row in still_open if open_past_threshold(row, now))
    return {
        "open": len(still_open),
        "closed": len(closed),
        "closed_within_sla": closed_in_time,
        "open_past_sla": late_open,
        "threshold_indicator": ratio(closed_in_time, len(closed) + late_open),
        "backlog_index": ratio(len(still_open) - late_open, len(still_open)),
        "average_closing_days": fmean(closing_days(row) for row in closed) if closed else None,
    }


def sla_snapshot(rows, now: datetime) -> dict:
    """Figures per subject (and threshold), sorted by subject, plus the total over all rows."""
    rows = list(rows)
    by_subject = defaultdict(list)
    for row in rows:
        by_subject[(row.subject, row.sla_days)].append(row)
    subjects = [
        {"subject": subject, "sla_days": sla_days, **sla_figures(group, now)}
        for (subject, sla_days), group in sorted(by_subject.items())
    ]
    return {"subjects": subjects, "total": sla_figures(rows, now)}
