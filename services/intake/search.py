"""The history/queue search: requests within the caller's scope, newest update first.

Built to stay fast over millions of requests (bench/search_bench.py):
- every scope and filter is an equality or a range on a column, and the indexes of migration
  0010 lead with them and end with the sort key (``updated_at`` descending, ``id``), so a
  page is read in order from an index, never sorted;
- page numbers for the first ``contracts.MAX_OFFSET`` results (``OFFSET`` reads every row
  it skips; the schema refuses deeper pages), and a cursor (``next_cursor``, keyset
  pagination) at any depth;
- the total is counted exactly up to ``COUNT_CAP`` rows; past that the planner's estimate is
  given, and the answer says so (``total_is_estimate``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import load_only

from services.intake.catalog import Catalog
from services.intake.models import OWNERSHIP_COLUMNS, Request
from shared import access, contracts
from shared.clock import ROME
from shared.paging import counted_total, decode_cursor, encode_cursor  # noqa: F401 - the codec of the cursors

MAX_PAGE_SIZE = 100
# Exact totals up to this many requests (counting them is a short index scan), as documented.
COUNT_CAP = contracts.COUNT_EXACT_UP_TO
# A search by opening date sorts its matches when there are at most this many (a few ms).
SORT_AT_MOST = 30_000
ORDER = (Request.updated_at.desc(), Request.id)
EXACT_FILTERS = {
    "matricola": Request.matricola,
    "subject": Request.subject_code,
    "state": Request.state,
    "origin": Request.origin,
    "codice_fiscale": Request.citizen_codice_fiscale,
    "consulente": Request.consulente_codice_fiscale,
    "queue": Request.assigned_queue,
}
# what a summary shows (views.summary): the long texts stay in the table
SUMMARY_COLUMNS = (
    Request.protocol,
    Request.origin,
    Request.channel,
    Request.profile,
    Request.subject_code,
    Request.catalog_version,
    Request.sla_days,
    Request.state,
    Request.matricola,
    Request.consulente_codice_fiscale,
    Request.citizen_codice_fiscale,
    Request.assigned_sede,
    Request.created_at,
    Request.updated_at,
    Request.closed_at,
)


def scope_condition(scope: access.Scope):
    """The requests of ``scope`` as SQL: the same facts ``access.can_read`` checks."""
    return access.sql_condition(scope, OWNERSHIP_COLUMNS)


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ROME)


def filter_conditions(filters: dict) -> list:
    """The filters, as SQL conditions."""
    found = []
    for name, column in EXACT_FILTERS.items():
        if filters.get(name):
            found.append(column == filters[name])
    # date filters are calendar days in Rome, both ends included
    for name, column in (("opened", Request.created_at), ("updated", Request.updated_at)):
        if filters.get(f"{name}_from"):
            found.append(column >= _day_start(filters[f"{name}_from"]))
        if filters.get(f"{name}_to"):
            found.append(column < _day_start(filters[f"{name}_to"] + timedelta(days=1)))
    return found


def after(position: tuple[datetime, object]):
    """The requests after ``position`` (a cursor's sort key) in the list's order. The first
    term alone is what an index can start from (an OR is not): the scan begins at the
    cursor's instant, however deep, and the second term only drops the ties already shown."""
    updated_at, item_id = position
    return and_(
        Request.updated_at <= updated_at,
        or_(Request.updated_at < updated_at, Request.id > item_id),
    )


def search(session, catalog: Catalog, scope: access.Scope, filters: dict, summary) -> dict:
    """One page of the requests of ``scope`` matching ``filters``; ``summary`` shows each.

    With ``cursor`` the page starts after the item it names, else at ``page``; either way
    ``next_cursor`` names the last item shown when more follow (null at the end)."""
    filtered = filter_conditions(filters)
    where = [scope_condition(scope), *filtered]
    size = min(filters.get("page_size", 20), MAX_PAGE_SIZE)
    position = filters.get("cursor")
    page = None if position is not None else filters.get("page", 1)
    offset = 0 if page is None else (page - 1) * size
    total, is_estimate = count(session, where)
    # Opened between two days: the matches are found by (subject, created_at), not in the
    # list's order, and the planner cannot know that an old month's requests lie deep in a
    # list ordered by update; when they are few, collect and sort them instead.
    sort_matches = bool(filters.get("opened_from") or filters.get("opened_to")) and total <= SORT_AT_MOST
    # the page's ids first, then their rows: the ids and the sort key are in the indexes, so
    # the rows skipped (an OFFSET) or filtered out are read from an index, not from the table
    chosen = page_ids(scope, filtered, position, offset, size + 1, sort_matches)
    rows = session.scalars(
        select(Request)
        .options(load_only(*SUMMARY_COLUMNS))
        .where(Request.id.in_(chosen.scalar_subquery()))
        .order_by(*ORDER)
    ).all()
    more, rows = len(rows) > size, rows[:size]
    return {
        "items": [summary(row, catalog) for row in rows],
        "page": page,
        "page_size": size,
        "total": total,
        "total_is_estimate": is_estimate,
        "next_cursor": encode_cursor(rows[-1].updated_at, rows[-1].id) if more and rows else None,
    }


def page_ids(
    scope: access.Scope, filtered: list, position, offset: int, limit: int, sort_matches: bool = False
):
    """The ids of one page, in order. ``sort_matches``: all the matches, then sorted (a
    materialized CTE, which the planner cannot turn into a walk along the list's order). A
    scope of several conditions (a consulente's own requests or those of the companies they
    act for; a sede and its triage) is the union of one ordered, limited read per condition:
    an OR would have the database either sort all that matches or walk the whole list in
    order, testing every row."""
    branches = [scope] if len(scope.conditions) < 2 else [access.any_of(c) for c in scope.conditions]

    def read(part: access.Scope, *columns):
        query = select(*columns).where(scope_condition(part), *filtered)
        return query.where(after(position)) if position is not None else query

    if sort_matches:
        matches = read(scope, Request.id, Request.updated_at).cte("matches").prefix_with("MATERIALIZED")
        return (
            select(matches.c.id)
            .order_by(matches.c.updated_at.desc(), matches.c.id)
            .offset(offset)
            .limit(limit)
        )
    if len(branches) == 1:
        return read(scope, Request.id).order_by(*ORDER).offset(offset).limit(limit)
    reads = (
        read(part, Request.id, Request.updated_at).order_by(*ORDER).limit(offset + limit) for part in branches
    )
    union = union_all(*reads).subquery()
    merged = select(union.c.id, union.c.updated_at).distinct().subquery()  # a row in two branches
    return _newest_first(merged, offset, limit)


def _newest_first(rows, offset: int, limit: int):
    return select(rows.c.id).order_by(rows.c.updated_at.desc(), rows.c.id).offset(offset).limit(limit)


def count(session, where: list) -> tuple[int, bool]:
    """``(total, is_estimate)`` of the requests matching ``where``: counted up to
    ``COUNT_CAP``, the planner's estimate beyond."""
    capped = select(Request.id).where(*where).limit(COUNT_CAP + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(capped))
    return counted_total(counted, COUNT_CAP, lambda: planner_rows(session, select(Request.id).where(*where)))


def planner_rows(session, query) -> int:
    """How many rows PostgreSQL's planner expects ``query`` to return (from the statistics
    ANALYZE keeps: a plan, not a scan)."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return int(plan[0]["Plan"]["Plan Rows"])
