"""The Cruscotto's read side: every figure an SQL aggregation over the aggregates
(``daily_request_counts`` and its monthly rollup ``monthly_request_counts``,
``subject_change_counts``), never a scan of every request; only the list behind a cell reads
the requests themselves, one page at a time. A period's counts come from the rollup for its
whole settled months and from the daily counts for the days at its edges (``count_rows``).

Functions take the view already resolved and allowed (``resolve_view`` finds the sede's region;
the entrypoint asks ``shared.access`` whether the caller may see it) and ``today``, the Rome day
open requests are measured at.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, select, union_all

from services.reporting.models import (
    AppointmentFact,
    DailyRequestCount,
    MonthlyRequestCount,
    RequestFact,
    Sede,
    SubjectChangeCount,
)
from services.reporting.rules.cells import PLACEMENT_SEDE, PLACEMENT_TRIAGE, PLACEMENT_UNROUTED, due_day
from services.reporting.rules.indicators import Counts, figures, ratio
from services.reporting.rules.periods import split_period
from shared.access import (
    DASHBOARD_NATIONAL,
    DASHBOARD_REGION,
    DASHBOARD_SEDE,
    DASHBOARD_TRIAGE,
    DashboardView,
)
from shared.clock import ROME, rome_date
from shared.errors import InvalidInput, field_error
from shared.vocabulary import STATE_CLOSED

COUNTS = DailyRequestCount.__table__
MONTHS = MonthlyRequestCount.__table__
CELL_COLUMNS = ("placement", "sede", "region", "subject", "sla_days", "origin")
AMOUNT_NAMES = ("open_requests", "open_past", "closed_within", "closed_late", "closing_days")
CHANGES = SubjectChangeCount.__table__
FACTS = RequestFact.__table__
CHILD_LEVEL = {DASHBOARD_NATIONAL: DASHBOARD_REGION, DASHBOARD_REGION: DASHBOARD_SEDE}


# ---- the view and the period -------------------------------------------------------------------


def resolve_view(session, scope: DashboardView, level: str | None, code: str | None) -> DashboardView:
    """The level asked for (else the caller's own), a sede with its region as routing's
    decisions name it (None for a sede no request was ever assigned to: its figures are empty,
    and only a national caller or the sede's own people may look at it)."""
    if level is None:
        level, code = scope.level, scope.code if code is None else code
    if level in (DASHBOARD_NATIONAL, DASHBOARD_TRIAGE):
        return DashboardView(level)
    if code is None:
        if scope.level != level:
            raise InvalidInput.from_errors(
                [field_error("code", "code_required", "Indicare il codice della regione o della sede.")]
            )
        code = scope.code
    if level == DASHBOARD_SEDE:
        region = session.scalar(select(Sede.region).where(Sede.code == code))
        if region is None:  # a sede that has appointments but no request yet: agenda's region
            region = session.scalar(
                select(AppointmentFact.region).where(AppointmentFact.sede == code).limit(1)
            )
        return DashboardView(DASHBOARD_SEDE, code, region)
    return DashboardView(DASHBOARD_REGION, code)


def period(from_day: date | None, to_day: date | None, today: date) -> tuple[date, date]:
    """The submission days asked for; by default from the first of January to today."""
    first = from_day or date(today.year, 1, 1)
    last = to_day or max(today, first)
    if first > last:
        raise InvalidInput.from_errors(
            [field_error("from", "invalid_range", "Il primo giorno non può seguire l'ultimo.")]
        )
    return first, last


def view_output(session, view: DashboardView) -> dict:
    name = None
    if view.level == DASHBOARD_SEDE:
        name = session.scalar(select(Sede.name).where(Sede.code == view.code))
    elif view.level == DASHBOARD_REGION:
        name = view.code
    elif view.level == DASHBOARD_NATIONAL:
        name = "Italia"
    else:
        name = "Coda di smistamento"
    return {"level": view.level, "code": view.code, "name": name, "region": view.region}


def _where_view(table, view: DashboardView):
    """The rows of ``table`` (an aggregate) that count in ``view``; at the national level the
    sedi only (triage and requests not yet routed are counted apart)."""
    if view.level == DASHBOARD_TRIAGE:
        return table.c.placement == PLACEMENT_TRIAGE
    condition = table.c.placement == PLACEMENT_SEDE
    if view.level == DASHBOARD_REGION:
        condition = and_(condition, table.c.region == view.code)
    elif view.level == DASHBOARD_SEDE:
        condition = and_(condition, table.c.sede == view.code)
    return condition


def _filters(table, subject: str | None, origin: str | None, sla_days: int | None = None):
    conditions = []
    if subject is not None:
        conditions.append(table.c.subject == subject)
    if origin is not None:
        conditions.append(table.c.origin == origin)
    if sla_days is not None:
        conditions.append(table.c.sla_days == sla_days)
    return conditions


def _between(column, first: date | None, last: date | None) -> list:
    conditions = []
    if first is not None:
        conditions.append(column >= first)
    if last is not None:
        conditions.append(column <= last)
    return conditions


def count_rows(first: date | None, last: date | None, today: date, unsettled_months: bool = True):
    """The counts of the requests submitted from ``first`` to ``last`` (None: no bound), as one
    table with the daily counts' columns and ``open_past`` (open and past the threshold on
    ``today``), its parts cut by ``rules.periods.split_period``:

    - a whole month already settled from the monthly rollup, ``day`` its first day, every open
      request of it past its threshold;
    - a whole month not settled yet from the rollup too, ``open_past`` 0, plus the daily rows
      of the month holding open requests already past their threshold, which add ``open_past``
      alone (once a month's first weeks have gone by, few of its rows still hold open ones);
    - the days at the edges from the daily counts.

    ``unsettled_months`` false: such months are read day by day (the backlog wants their days).
    PostgreSQL pushes a query's conditions into each part."""
    parts = split_period(first, last, today, unsettled_months)
    zero = literal(0)
    past = COUNTS.c.day + COUNTS.c.sla_days < today

    def days(start, end, *conditions, past_only=False):
        amounts = (
            [zero, COUNTS.c.open_requests, zero, zero, zero]
            if past_only
            else [
                COUNTS.c.open_requests,
                case((past, COUNTS.c.open_requests), else_=0),
                COUNTS.c.closed_within,
                COUNTS.c.closed_late,
                COUNTS.c.closing_days,
            ]
        )
        return select(
            COUNTS.c.day,
            *(COUNTS.c[name] for name in CELL_COLUMNS),
            *(amount.label(name) for amount, name in zip(amounts, AMOUNT_NAMES, strict=True)),
        ).where(*_between(COUNTS.c.day, start, end), *conditions)

    def months(start, end, open_past):
        amounts = [
            MONTHS.c.open_requests,
            open_past,
            MONTHS.c.closed_within,
            MONTHS.c.closed_late,
            MONTHS.c.closing_days,
        ]
        return select(
            MONTHS.c.month.label("day"),
            *(MONTHS.c[name] for name in CELL_COLUMNS),
            *(amount.label(name) for amount, name in zip(amounts, AMOUNT_NAMES, strict=True)),
        ).where(*_between(MONTHS.c.month, start, end))

    selects = [days(start, end) for start, end in parts.days]
    if parts.settled is not None:
        selects.append(months(*parts.settled, MONTHS.c.open_requests))
    if parts.unsettled is not None:
        selects.append(months(*parts.unsettled, zero))
        selects.append(days(*parts.unsettled, COUNTS.c.open_requests > 0, past, past_only=True))
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("counts")


def _count_columns(table) -> list:
    return [
        func.sum(table.c.open_requests).label("open"),
        func.sum(table.c.open_past).label("open_past"),
        func.sum(table.c.closed_within).label("closed_within"),
        func.sum(table.c.closed_late).label("closed_late"),
        func.sum(table.c.closing_days).label("closing_days"),
    ]


def _counts(row) -> Counts:
    return Counts(
        int(row.open or 0),
        int(row.open_past or 0),
        int(row.closed_within or 0),
        int(row.closed_late or 0),
        int(row.closing_days or 0),
    )


def _sede_names(session, codes) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Sede.code, Sede.name).where(Sede.code.in_(sorted(codes)))).all())


# ---- indicators --------------------------------------------------------------------------------


def indicators(session, view: DashboardView, query: dict, today: date) -> dict:
    """Threshold indicator, backlog index and closing time of the requests submitted in the
    period: in total, per subject, per origin, and per region or sede one level down; at the
    national level, triage and requests not yet routed apart."""
    first, last = period(query.get("from_day"), query.get("to_day"), today)
    counts = count_rows(first, last, today)
    child = _child_column(counts, view)
    placement = counts.c.placement
    # nationally every placement is read: triage and not yet routed are shown apart
    where = [] if view.level == DASHBOARD_NATIONAL else [_where_view(counts, view)]
    statement = (
        select(
            placement,
            counts.c.subject,
            counts.c.sla_days,
            counts.c.origin,
            child,
            *_count_columns(counts),
        )
        .where(*where, *_filters(counts, query.get("subject"), query.get("origin")))
        .group_by(placement, counts.c.subject, counts.c.sla_days, counts.c.origin, child)
    )
    totals, subjects, origins, children = (
        Counts(),
        defaultdict(Counts),
        defaultdict(Counts),
        defaultdict(Counts),
    )
    apart = {PLACEMENT_TRIAGE: Counts(), PLACEMENT_UNROUTED: Counts()}
    for row in session.execute(statement):
        counts = _counts(row)
        if row.placement != PLACEMENT_SEDE:
            apart[row.placement] += counts
            continue
        totals += counts
        subjects[(row.subject, row.sla_days)] += counts
        origins[row.origin] += counts
        if view.level in CHILD_LEVEL:
            children[row.child] += counts
    return {
        "view": view_output(session, view),
        "period": {"first_day": first.isoformat(), "last_day": last.isoformat()},
        "as_of": today.isoformat(),
        "totals": figures(totals),
        "subjects": [
            {"subject": subject, "sla_days": sla_days, **figures(counts)}
            for (subject, sla_days), counts in sorted(subjects.items())
        ],
        "origins": [{"origin": origin, **figures(counts)} for origin, counts in sorted(origins.items())],
        "children": children_of(session, view, children, figures),
        "apart": (
            {"triage": figures(apart[PLACEMENT_TRIAGE]), "unrouted": figures(apart[PLACEMENT_UNROUTED])}
            if view.level == DASHBOARD_NATIONAL
            else None
        ),
    }


def _child_column(table, view: DashboardView):
    if view.level == DASHBOARD_NATIONAL:
        return table.c.region.label("child")
    return table.c.sede.label("child")  # one level down from a region (below a sede: its requests)


def children_of(session, view: DashboardView, children: dict, shape) -> list[dict]:
    level = CHILD_LEVEL.get(view.level)
    if level is None:
        return []
    names = _sede_names(session, children) if level == DASHBOARD_SEDE else {code: code for code in children}
    return [
        {"level": level, "code": code, "name": names.get(code) or None, **shape(counts)}
        for code, counts in sorted(children.items())
        if code  # a structure without a region stays in the national totals only
    ]


# ---- backlog -----------------------------------------------------------------------------------


def backlog_figures(counts: Counts) -> dict:
    return {
        "open": counts.open,
        "open_within_sla": counts.open - counts.open_past_threshold,
        "open_past_sla": counts.open_past_threshold,
        "backlog_index": ratio(counts.open - counts.open_past_threshold, counts.open),
    }


def backlog(session, view: DashboardView, query: dict, today: date) -> dict:
    """The requests lying open today, whenever submitted: the backlog index (open not yet past
    the threshold ÷ open), per subject and one level down, and the open ones not yet late by
    the day their threshold ends."""
    counts = count_rows(None, None, today, unsettled_months=False)  # whenever submitted, by day
    child = _child_column(counts, view)
    statement = (
        select(counts.c.subject, counts.c.sla_days, counts.c.day, child, *_count_columns(counts))
        .where(
            counts.c.open_requests > 0,
            _where_view(counts, view),
            *_filters(counts, query.get("subject"), query.get("origin")),
        )
        .group_by(counts.c.subject, counts.c.sla_days, counts.c.day, child)
    )
    totals, subjects, children, due = Counts(), defaultdict(Counts), defaultdict(Counts), defaultdict(int)
    for row in session.execute(statement):
        counts = _counts(row)
        totals += counts
        subjects[(row.subject, row.sla_days)] += counts
        if view.level in CHILD_LEVEL:
            children[row.child] += counts
        last_day = due_day(row.day, row.sla_days)
        if last_day >= today:
            due[last_day] += counts.open
    return {
        "view": view_output(session, view),
        "as_of": today.isoformat(),
        "totals": backlog_figures(totals),
        "due": [{"due_day": day.isoformat(), "open": open_} for day, open_ in sorted(due.items())],
        "subjects": [
            {"subject": subject, "sla_days": sla_days, **backlog_figures(counts)}
            for (subject, sla_days), counts in sorted(subjects.items())
        ],
        "children": children_of(session, view, children, backlog_figures),
    }


# ---- trend -------------------------------------------------------------------------------------


def trend(session, view: DashboardView, query: dict, today: date) -> dict:
    """The indicators month by month (months of submission), by default the last twelve."""
    default_first = date(today.year - 1, today.month, 1) if today.month < 12 else date(today.year, 1, 1)
    first, last = period(query.get("from_day") or default_first, query.get("to_day"), today)
    counts = count_rows(first, last, today)
    month = func.to_char(counts.c.day, "YYYY-MM").label("month")
    statement = (
        select(month, *_count_columns(counts))
        .where(_where_view(counts, view), *_filters(counts, query.get("subject"), query.get("origin")))
        .group_by(month)
        .order_by(month)
    )
    return {
        "view": view_output(session, view),
        "period": {"first_day": first.isoformat(), "last_day": last.isoformat()},
        "as_of": today.isoformat(),
        "months": [{"month": row.month, **figures(_counts(row))} for row in session.execute(statement)],
    }


# ---- changes of subject ------------------------------------------------------------------------


def subject_changes(session, view: DashboardView, query: dict, today: date) -> dict:
    """ "Cambio oggetto per lavorazione": how many requests were moved from which subject to
    which, by sede, on the days of the period."""
    first, last = period(query.get("from_day"), query.get("to_day"), today)
    statement = (
        select(
            CHANGES.c.sede,
            CHANGES.c.region,
            CHANGES.c.from_subject,
            CHANGES.c.to_subject,
            func.sum(CHANGES.c.changes).label("changes"),
        )
        .where(CHANGES.c.day.between(first, last), _where_view(CHANGES, view))
        .group_by(CHANGES.c.sede, CHANGES.c.region, CHANGES.c.from_subject, CHANGES.c.to_subject)
    )
    rows = session.execute(statement).all()
    names = _sede_names(session, {row.sede for row in rows if row.sede})
    transitions = defaultdict(int)
    for row in rows:
        transitions[(row.from_subject, row.to_subject)] += int(row.changes)
    return {
        "view": view_output(session, view),
        "period": {"first_day": first.isoformat(), "last_day": last.isoformat()},
        "total": sum(transitions.values()),
        "transitions": [
            {"from_subject": old, "to_subject": new, "changes": changes}
            for (old, new), changes in sorted(transitions.items(), key=lambda item: (-item[1], item[0]))
        ],
        "by_sede": [
            {
                "sede": row.sede,
                "name": names.get(row.sede),
                "region": row.region or None,
                "from_subject": row.from_subject,
                "to_subject": row.to_subject,
                "changes": int(row.changes),
            }
            for row in sorted(
                rows, key=lambda row: (row.sede, -row.changes, row.from_subject, row.to_subject)
            )
        ],
    }


# ---- the requests behind a cell ----------------------------------------------------------------


def rome_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ROME).astimezone(UTC)


def _rome_day(column):
    return func.date(func.timezone("Europe/Rome", column))


def _fact_bucket(bucket: str, today: date):
    closed = FACTS.c.state == STATE_CLOSED
    still_open = FACTS.c.state != STATE_CLOSED
    past = _rome_day(FACTS.c.submitted_at) + FACTS.c.sla_days < today
    within = _rome_day(FACTS.c.closed_at) - _rome_day(FACTS.c.submitted_at) <= FACTS.c.sla_days
    return {
        "all": None,
        "open": still_open,
        "open_within_sla": and_(still_open, ~past),
        "open_past_sla": and_(still_open, past),
        "closed": closed,
        "closed_within_sla": and_(closed, within),
        "closed_late": and_(closed, ~within),
    }[bucket]


def _bucket_total(row, bucket: str) -> int:
    counts = _counts(row)
    closed = counts.closed_within_threshold + counts.closed_late
    return {
        "all": counts.open + closed,
        "open": counts.open,
        "open_within_sla": counts.open - counts.open_past_threshold,
        "open_past_sla": counts.open_past_threshold,
        "closed": closed,
        "closed_within_sla": counts.closed_within_threshold,
        "closed_late": counts.closed_late,
    }[bucket]


def _facts_in_view(view: DashboardView):
    routed = and_(FACTS.c.assignment_kind.isnot(None), FACTS.c.assignment_kind != "triage")
    if view.level == DASHBOARD_TRIAGE:
        return FACTS.c.assignment_kind == "triage"
    if view.level == DASHBOARD_REGION:
        return and_(routed, FACTS.c.region == view.code)
    if view.level == DASHBOARD_SEDE:
        return and_(routed, FACTS.c.sede_code == view.code)
    return routed


def requests(session, view: DashboardView, query: dict, today: date) -> dict:
    """The requests of one cell (view, period, subject, threshold, origin, bucket), oldest first,
    one page at a time; the total comes from the aggregates, the same count the cell shows."""
    first, last = period(query.get("from_day"), query.get("to_day"), today)
    subject, origin, sla_days, bucket = (
        query.get("subject"),
        query.get("origin"),
        query.get("sla_days"),
        query["bucket"],
    )
    page, page_size = query["page"], query["page_size"]
    counts = count_rows(first, last, today)
    total_row = session.execute(
        select(*_count_columns(counts)).where(
            _where_view(counts, view), *_filters(counts, subject, origin, sla_days)
        )
    ).one()
    conditions = [
        FACTS.c.submitted_at >= rome_start(first),
        FACTS.c.submitted_at < rome_start(last + timedelta(days=1)),
        _facts_in_view(view),
        *_filters(FACTS, subject, origin, sla_days),
    ]
    in_bucket = _fact_bucket(bucket, today)
    if in_bucket is not None:
        conditions.append(in_bucket)
    rows = session.execute(
        select(FACTS)
        .where(*conditions)
        .order_by(FACTS.c.submitted_at, FACTS.c.request_id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return {
        "view": view_output(session, view),
        "items": [_request_item(row, today) for row in rows],
        "total": _bucket_total(total_row, bucket),
        "page": page,
        "page_size": page_size,
    }


def _request_item(row, today: date) -> dict:
    submitted_day = rome_date(row.submitted_at)
    closed = row.state == STATE_CLOSED and row.closed_at is not None
    end = rome_date(row.closed_at) if closed else today
    days = (end - submitted_day).days
    return {
        "request_id": str(row.request_id),
        "protocol": row.protocol,
        "subject": row.subject,
        "sla_days": row.sla_days,
        "origin": row.origin,
        "sede": row.sede_code if row.assignment_kind not in (None, "triage") else None,
        "sede_name": row.sede_name if row.assignment_kind not in (None, "triage") else None,
        "region": row.region,
        "state": row.state,
        "submitted_at": row.submitted_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if closed else None,
        "due_day": due_day(submitted_day, row.sla_days).isoformat(),
        "days": days,
        "within_sla": days <= row.sla_days,
    }
