"""The dashboard's aggregates, kept from events and rebuilt from the read model.

``tracked(projection)`` wraps a projection of a request's event: under a lock on that request,
it reads what the request contributes to the aggregates (``rules.cells``), applies the event
to the read model, reads the contribution again and adds the difference. A contribution is a
function of the request's facts, and the facts do not depend on the order events arrive in
(``projections``), so neither do the aggregates; a redelivered event is stopped by the inbox
before it gets here (``shared.db.apply_once``), and would add a difference of nothing anyway.

Beside the daily counts, the same counts summed by month (``monthly_request_counts``) follow
every difference in the same transaction: the dashboard reads settled months from them.

``rebuild(session)`` recomputes the tables from the read model with one SQL aggregation that
states the same rules (and the monthly rollup by summing the daily counts): after a
migration, a restore, or to check the kept ones.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace

from sqlalchemy import bindparam, delete, func, select, text

from services.reporting.models import (
    DailyRequestCount,
    MonthlyRequestCount,
    RequestFact,
    SubjectChange,
    SubjectChangeCount,
)
from services.reporting.rules.cells import (
    PLACEMENT_SEDE,
    PLACEMENT_TRIAGE,
    PLACEMENT_UNROUTED,
    ChangeCell,
    RequestCell,
    change_contributions,
    request_contribution,
)
from services.reporting.rules.indicators import Counts
from shared.upsert import insert  # cached compiled SQL (shared/upsert.py)

FACT_COLUMNS = (
    RequestFact.submitted_at,
    RequestFact.subject,
    RequestFact.sla_days,
    RequestFact.origin,
    RequestFact.state,
    RequestFact.closed_at,
    RequestFact.assignment_kind,
    RequestFact.sede_code,
    RequestFact.region,
)
REQUEST_KEY = ("day", "placement", "sede", "region", "subject", "sla_days", "origin")
CHANGE_KEY = ("day", "placement", "sede", "region", "from_subject", "to_subject")


def tracked(project):
    """``project(session, event)`` with the aggregates following the request it changes."""

    def apply(session, event) -> None:
        request_id = uuid.UUID(str(event.payload["request_id"]))
        lock_request(session, request_id)
        before = contributions(session, request_id)
        project(session, event)
        add_difference(session, before, contributions(session, request_id))

    apply.__name__ = apply.__qualname__ = getattr(project, "__name__", "apply")
    apply.__doc__ = project.__doc__
    return apply


_FACTS = RequestFact.__table__
_CHANGES = SubjectChange.__table__
# Built once: the same few statements run for every event of every request.
_LOCK = select(func.pg_advisory_xact_lock(bindparam("key")))
_FACT_OF_REQUEST = select(*(_FACTS.c[column.key] for column in FACT_COLUMNS)).where(
    _FACTS.c.request_id == bindparam("request_id")
)
_CHANGES_OF_REQUEST = select(_CHANGES.c.changed_at, _CHANGES.c.from_subject, _CHANGES.c.to_subject).where(
    _CHANGES.c.request_id == bindparam("request_id")
)


def lock_request(session, request_id: uuid.UUID) -> None:
    """One event of a request at a time (until the transaction ends): two workers applying two
    events of the same request would each read a contribution the other is changing."""
    session.execute(_LOCK, {"key": int.from_bytes(request_id.bytes[:8], "big", signed=True)})


def contributions(session, request_id: uuid.UUID) -> dict:
    """Everything the request adds to the aggregates now: cell -> Counts (requests) or
    cell -> number (changes of subject). Core selects: never the session's cached object."""
    fact = session.execute(_FACT_OF_REQUEST, {"request_id": request_id}).first()
    changes = session.execute(_CHANGES_OF_REQUEST, {"request_id": request_id}).all()
    found: dict = defaultdict(int)
    if fact is not None:
        counted = request_contribution(fact)
        if counted is not None:
            cell, counts = counted
            found[cell] = counts
    for cell in change_contributions(fact, changes):
        found[cell] += 1
    return dict(found)


def add_difference(session, before: dict, after: dict) -> None:
    """Add ``after - before`` to the aggregates, cell by cell in a fixed order: the daily cells
    and the changes first, then the months (two transactions touching the same rows take their
    row locks in the same order, so they never wait on each other in a circle)."""
    months: dict = defaultdict(Counts)
    for cell in sorted(set(before) | set(after), key=repr):
        old, new = before.get(cell), after.get(cell)
        if isinstance(cell, RequestCell):
            delta = (new or Counts()) + _negated(old or Counts())
            if delta != Counts():
                _add_requests(session, DailyRequestCount, _key(cell, "day"), delta)
                months[replace(cell, day=cell.day.replace(day=1))] += delta
        else:
            delta = (new or 0) - (old or 0)
            if delta:
                _add_changes(session, cell, delta)
    for cell, delta in sorted(months.items(), key=lambda item: repr(item[0])):
        if delta != Counts():
            _add_requests(session, MonthlyRequestCount, _key(cell, "month"), delta)


def _key(cell: RequestCell, day_column: str) -> dict:
    """The primary key of the row ``cell`` counts in, its day in ``day_column``."""
    return {day_column: cell.day, **{column: getattr(cell, column) for column in REQUEST_KEY[1:]}}


def _negated(counts: Counts) -> Counts:
    return Counts(
        -counts.open,
        -counts.open_past_threshold,
        -counts.closed_within_threshold,
        -counts.closed_late,
        -counts.closing_days,
    )


AMOUNTS = ("open_requests", "closed_within", "closed_late", "closing_days")


def _adding(table, key_columns, amounts=AMOUNTS):
    """INSERT the amounts at the key, or add them to the row already there."""
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: table.c[name] + statement.excluded[name] for name in amounts},
    )


def _deleting_empty(table, key_columns, *empty):
    """DELETE the row at the key if its counts are back to nothing."""
    return delete(table).where(*(table.c[name] == bindparam(f"key_{name}") for name in key_columns), *empty)


def _empty_counts(table):
    return (table.c.open_requests == 0, table.c.closed_within == 0, table.c.closed_late == 0)


_DAILY, _MONTHLY = DailyRequestCount.__table__, MonthlyRequestCount.__table__
_CHANGE_COUNTS = SubjectChangeCount.__table__
_ADD_REQUESTS = {
    DailyRequestCount: _adding(_DAILY, ("day", *REQUEST_KEY[1:])),
    MonthlyRequestCount: _adding(_MONTHLY, ("month", *REQUEST_KEY[1:])),
}
_DELETE_EMPTY_REQUESTS = {
    DailyRequestCount: _deleting_empty(_DAILY, ("day", *REQUEST_KEY[1:]), *_empty_counts(_DAILY)),
    MonthlyRequestCount: _deleting_empty(_MONTHLY, ("month", *REQUEST_KEY[1:]), *_empty_counts(_MONTHLY)),
}
_ADD_CHANGES = _adding(_CHANGE_COUNTS, CHANGE_KEY, ("changes",))
_DELETE_EMPTY_CHANGES = _deleting_empty(_CHANGE_COUNTS, CHANGE_KEY, _CHANGE_COUNTS.c.changes == 0)


def _add_requests(session, model, key: dict, delta: Counts) -> None:
    """Add ``delta`` to the row of ``model`` (daily or monthly counts) at ``key``; a row whose
    counts are back to nothing is deleted."""
    amounts = {
        "open_requests": delta.open,
        "closed_within": delta.closed_within_threshold,
        "closed_late": delta.closed_late,
        "closing_days": delta.closing_days,
    }
    session.execute(_ADD_REQUESTS[model], {**key, **amounts})
    if any(value < 0 for value in amounts.values()):
        session.execute(_DELETE_EMPTY_REQUESTS[model], {f"key_{name}": value for name, value in key.items()})


def _add_changes(session, cell: ChangeCell, delta: int) -> None:
    key = {name: getattr(cell, name) for name in CHANGE_KEY}
    session.execute(_ADD_CHANGES, {**key, "changes": delta})
    if delta < 0:
        session.execute(_DELETE_EMPTY_CHANGES, {f"key_{name}": value for name, value in key.items()})


# ---- rebuilding from the read model ------------------------------------------------------------

# The rules of rules/cells.py in SQL: the placement, the Rome day, closed within or late.
_PLACEMENT = f"""
    CASE WHEN f.assignment_kind IS NULL THEN '{PLACEMENT_UNROUTED}'
         WHEN f.assignment_kind = 'triage' THEN '{PLACEMENT_TRIAGE}'
         ELSE '{PLACEMENT_SEDE}' END"""
_IN_A_SEDE = "f.assignment_kind IS NOT NULL AND f.assignment_kind <> 'triage'"
_SEDE = f"CASE WHEN {_IN_A_SEDE} THEN coalesce(f.sede_code, '') ELSE '' END"
_REGION = f"CASE WHEN {_IN_A_SEDE} THEN coalesce(f.region, '') ELSE '' END"

REBUILD_REQUESTS = f"""
INSERT INTO daily_request_counts
    (day, placement, sede, region, subject, sla_days, origin,
     open_requests, closed_within, closed_late, closing_days)
SELECT day, placement, sede, region, subject, sla_days, origin,
       count(*) FILTER (WHERE NOT closed),
       count(*) FILTER (WHERE closed AND days <= sla_days),
       count(*) FILTER (WHERE closed AND days > sla_days),
       coalesce(sum(days) FILTER (WHERE closed), 0)
FROM (
    SELECT (f.submitted_at AT TIME ZONE 'Europe/Rome')::date AS day,
           {_PLACEMENT} AS placement, {_SEDE} AS sede, {_REGION} AS region,
           f.subject, f.sla_days, f.origin,
           (f.state = 'closed' AND f.closed_at IS NOT NULL) AS closed,
           (f.closed_at AT TIME ZONE 'Europe/Rome')::date
               - (f.submitted_at AT TIME ZONE 'Europe/Rome')::date AS days
    FROM request_facts f
    WHERE f.submitted_at IS NOT NULL
) AS facts
GROUP BY day, placement, sede, region, subject, sla_days, origin
ORDER BY day  -- a period's rows side by side on disk: the dashboard reads days in ranges
"""

REBUILD_MONTHS = """
INSERT INTO monthly_request_counts
    (month, placement, sede, region, subject, sla_days, origin,
     open_requests, closed_within, closed_late, closing_days)
SELECT date_trunc('month', day)::date, placement, sede, region, subject, sla_days, origin,
       sum(open_requests), sum(closed_within), sum(closed_late), sum(closing_days)
FROM daily_request_counts
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1
"""

REBUILD_CHANGES = f"""
INSERT INTO subject_change_counts (day, placement, sede, region, from_subject, to_subject, changes)
SELECT (c.changed_at AT TIME ZONE 'Europe/Rome')::date, {_PLACEMENT}, {_SEDE}, {_REGION},
       c.from_subject, c.to_subject, count(*)
FROM subject_changes c LEFT JOIN request_facts f ON f.request_id = c.request_id
GROUP BY 1, 2, 3, 4, 5, 6
"""


def rebuild(session) -> dict:
    """Recompute the aggregates (daily, monthly, changes of subject) from the read model, in
    the caller's transaction. Events
    applied meanwhile wait for it (the read model is locked against writes until it commits)."""
    session.execute(text("LOCK TABLE request_facts, subject_changes IN SHARE MODE"))
    session.execute(delete(DailyRequestCount))
    session.execute(delete(MonthlyRequestCount))
    session.execute(delete(SubjectChangeCount))
    session.execute(text(REBUILD_REQUESTS))
    session.execute(text(REBUILD_MONTHS))
    session.execute(text(REBUILD_CHANGES))
    return {
        "daily_request_counts": session.scalar(select(func.count()).select_from(DailyRequestCount)),
        "monthly_request_counts": session.scalar(select(func.count()).select_from(MonthlyRequestCount)),
        "subject_change_counts": session.scalar(select(func.count()).select_from(SubjectChangeCount)),
    }
