"""Dashboard (Cruscotto) figures as plain functions (HERMES msg 2614/2018; DESIGN.md §2).

For the requests of one subject with threshold n days (5, 10, 15 or 25):

- threshold indicator = requests closed within n days of submission
                        ÷ (requests closed + requests still open and past n days);
- backlog index (indice di giacenza) = requests still open and not past n days
                                       ÷ all requests still open;
- average closing time in days.

How days are counted (the seed says "entro n giorni dall'invio" and no more; the reading
chosen is in README, "Cruscotto"): whole calendar days on the Europe/Rome calendar, the day of
submission being day 0. A request closed on day n is within the threshold, one closed on day
n + 1 is late; a request still open is past the threshold from day n + 1. "Still open" means
not closed: ``open`` (aperta) or ``in_progress`` (in carico), the requests that lie waiting
(giacenti). A ratio whose denominator is 0 is ``None``: no figure, rather than a made-up 0 or 1.

Two ways in, one arithmetic: ``sla_figures`` measures plain rows (anything with ``subject``,
``sla_days``, ``state``, ``submitted_at``, ``closed_at``: a database row, a ``RequestTiming``),
``figures`` turns counts kept by the aggregates (``Counts``) into the same dictionary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from shared.clock import days_between, rome_date
from shared.vocabulary import STATE_CLOSED


@dataclass(frozen=True)
class RequestTiming:
    subject: str
    sla_days: int
    state: str
    submitted_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Counts:
    """What the indicators of a set of requests are made of."""

    open: int = 0
    open_past_threshold: int = 0
    closed_within_threshold: int = 0
    closed_late: int = 0
    closing_days: int = 0  # summed over the closed requests

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.open + other.open,
            self.open_past_threshold + other.open_past_threshold,
            self.closed_within_threshold + other.closed_within_threshold,
            self.closed_late + other.closed_late,
            self.closing_days + other.closing_days,
        )


# ---- one request -------------------------------------------------------------------------------


def closing_days(row) -> int:
    return days_between(row.submitted_at, row.closed_at)


def closed_within_threshold(row) -> bool:
    return row.state == STATE_CLOSED and closing_days(row) <= row.sla_days


def open_past_threshold(row, now: datetime) -> bool:
    return row.state != STATE_CLOSED and is_past_threshold(rome_date(row.submitted_at), row.sla_days, now)


def is_past_threshold(submitted_day: date, sla_days: int, now: datetime | date) -> bool:
    """Whether a request submitted on ``submitted_day`` (Rome) and still open at ``now`` has
    passed its threshold: from day n + 1 after the submission."""
    today = rome_date(now) if isinstance(now, datetime) else now
    return (today - submitted_day).days > sla_days


def counts_of(row, now: datetime) -> Counts:
    if row.state == STATE_CLOSED:
        days = closing_days(row)
        within = days <= row.sla_days
        return Counts(closed_within_threshold=int(within), closed_late=int(not within), closing_days=days)
    return Counts(open=1, open_past_threshold=int(open_past_threshold(row, now)))


# ---- a set of requests -------------------------------------------------------------------------


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(counts: Counts) -> dict:
    """The indicators of a set of requests from its counts."""
    closed = counts.closed_within_threshold + counts.closed_late
    return {
        "submitted": counts.open + closed,
        "open": counts.open,
        "closed": closed,
        "closed_within_sla": counts.closed_within_threshold,
        "closed_late": counts.closed_late,
        "open_past_sla": counts.open_past_threshold,
        "threshold_indicator": ratio(counts.closed_within_threshold, closed + counts.open_past_threshold),
        "backlog_index": ratio(counts.open - counts.open_past_threshold, counts.open),
        "average_closing_days": round(counts.closing_days / closed, 2) if closed else None,
    }


def sla_figures(rows, now: datetime) -> dict:
    """The figures for a set of requests, each measured against its own threshold."""
    total = Counts()
    for row in rows:
        total += counts_of(row, now)
    return figures(total)


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
