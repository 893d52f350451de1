"""Where one request counts in the dashboard's aggregates: plain functions of its facts.

The aggregates are sums of these contributions, so that every view is an SQL aggregation over
small tables instead of a scan of every request:

- a request counts once in ``daily_request_counts``, in the cell of the day it was submitted
  (Rome), its placement (the sede and region routing assigned it to, or triage, or not yet
  routed), its subject and threshold, and its origin; as open, closed within the threshold
  or closed late, with its closing days;
- each change of subject counts once in ``subject_change_counts``, in the cell of the day of
  the change, the request's placement, and the two subjects.

A request's contribution is a function of its facts only: the aggregates are kept by removing
what a request contributed before an event and adding what it contributes after
(``services/reporting/aggregates.py``), so they do not depend on the order events arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.reporting.rules.indicators import Counts
from shared.clock import days_between, rome_date
from shared.vocabulary import STATE_CLOSED

PLACEMENT_SEDE = "sede"  # a sede, CRIC or polo: a structure with a code and a region
PLACEMENT_TRIAGE = "triage"  # routing matched no rule: counted apart
PLACEMENT_UNROUTED = "unrouted"  # no routing decision received yet: counted apart
PLACEMENTS = (PLACEMENT_SEDE, PLACEMENT_TRIAGE, PLACEMENT_UNROUTED)


@dataclass(frozen=True)
class Placement:
    kind: str
    sede: str = ""
    region: str = ""


@dataclass(frozen=True)
class RequestCell:
    day: date
    placement: str
    sede: str
    region: str
    subject: str
    sla_days: int
    origin: str


@dataclass(frozen=True)
class ChangeCell:
    day: date
    placement: str
    sede: str
    region: str
    from_subject: str
    to_subject: str


def placement_of(assignment_kind: str | None, sede_code: str | None, region: str | None) -> Placement:
    if assignment_kind is None:
        return Placement(PLACEMENT_UNROUTED)
    if assignment_kind == "triage":
        return Placement(PLACEMENT_TRIAGE)
    return Placement(PLACEMENT_SEDE, sede_code or "", region or "")


def due_day(submitted_day: date, sla_days: int) -> date:
    """The last day within the threshold (day n after the submission)."""
    return submitted_day + timedelta(days=sla_days)


def request_contribution(fact) -> tuple[RequestCell, Counts] | None:
    """The cell ``fact`` counts in and what it adds there; None until its submission is known.

    ``fact`` has ``submitted_at``, ``subject``, ``sla_days``, ``origin``, ``state``,
    ``closed_at``, ``assignment_kind``, ``sede_code``, ``region``. Whether an open request is
    past its threshold is not stored: it depends on the day one looks (``is_past_threshold``
    over the cell's day and threshold).
    """
    if fact.submitted_at is None:
        return None
    place = placement_of(fact.assignment_kind, fact.sede_code, fact.region)
    day = rome_date(fact.submitted_at)
    cell = RequestCell(day, place.kind, place.sede, place.region, fact.subject, fact.sla_days, fact.origin)
    if fact.state == STATE_CLOSED and fact.closed_at is not None:
        days = days_between(fact.submitted_at, fact.closed_at)
        within = days <= fact.sla_days
        return cell, Counts(
            closed_within_threshold=int(within), closed_late=int(not within), closing_days=days
        )
    return cell, Counts(open=1)


def change_contributions(fact, changes) -> list[ChangeCell]:
    """One cell per change of subject of the request (``changes``: rows with ``changed_at``,
    ``from_subject``, ``to_subject``), placed where the request is now."""
    place = (
        placement_of(fact.assignment_kind, fact.sede_code, fact.region)
        if fact is not None
        else Placement(PLACEMENT_UNROUTED)
    )
    return [
        ChangeCell(
            rome_date(change.changed_at),
            place.kind,
            place.sede,
            place.region,
            change.from_subject,
            change.to_subject,
        )
        for change in changes
    ]
