"""Clock: an injectable "now".

Instants are UTC-aware datetimes everywhere; day counts (reminders after 15 days, SLA
thresholds) are taken on the Europe/Rome calendar, because that is the day the people
involved see on their wall.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

ROME = ZoneInfo("Europe/Rome")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests: returns the instant it was given until moved."""

    def __init__(self, instant: datetime):
        self.instant = instant

    def now(self) -> datetime:
        return self.instant

    def advance(self, delta) -> None:
        self.instant = self.instant + delta


def rome_date(instant: datetime) -> date:
    return instant.astimezone(ROME).date()


def days_between(start: datetime, end: datetime) -> int:
    """Whole calendar days (Europe/Rome) from ``start`` to ``end``."""
    return (rome_date(end) - rome_date(start)).days


def parse_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"instant without time zone: {text!r}")
    return instant.astimezone(UTC)


class Clock(DependencyProvider):
    """Gives each worker the service's clock (``SystemClock`` unless a test replaces it)."""

    def __init__(self):
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx):
        return self.clock
