"""Monthly reports for each Direzione regionale (HERMES msg 2614/2018): once the month's
longest threshold has elapsed (``rules.periods.report_ready_on``), the region's indicators for
the requests submitted in the month, per sede and per subject, and the changes of subject of
the month, and the Customer Care of the Agenda (the appointments of the month), as PDF, CSV
and XLSX in object storage.

Exactly once, whatever the number of reporting instances: producing starts by claiming the
(region, month) row (a unique pair); the instance whose insert wins renders and stores, the
others find the row and do nothing. A claim left by an instance that died is taken over after
``CLAIM_LEASE``. The figures are the dashboard's own (``dashboard.indicators`` and
``dashboard.subject_changes``, ``customer_care.customer_care`` for the region and the month),
kept with the report.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.reporting import customer_care, dashboard, rendering
from services.reporting.models import MonthlyReport, Sede
from services.reporting.rules.periods import month_bounds, month_key, parse_month, report_ready_on
from shared.access import DASHBOARD_REGION, DashboardView
from shared.clock import rome_date
from shared.errors import NotFound
from shared.events import REPORT_PUBLISHED, make_event
from shared.outbox import add_event

CLAIM_LEASE = timedelta(minutes=15)
TIMER_INTERVAL_SECONDS = 600  # how often each instance looks for reports that are due
GENERATING, PUBLISHED = "generating", "published"
MONTHS_LOOKED_BACK = 3  # the timer produces what is due among the last months, never the whole past


def claim(session, region: str, month: str, now: datetime, force: bool = False) -> uuid.UUID | None:
    """The id of a new claim on (region, month), or None when another instance holds it or the
    report is published (``force``: produce a published one again, by command)."""
    table = MonthlyReport.__table__
    new_id = uuid.uuid4()
    statement = insert(MonthlyReport).values(
        id=new_id, region=region, month=month, state=GENERATING, claimed_at=now
    )
    retake = (table.c.state == GENERATING) & (table.c.claimed_at < now - CLAIM_LEASE)
    if force:
        retake = retake | (table.c.state == PUBLISHED)
    statement = statement.on_conflict_do_update(
        constraint="uq_monthly_reports_region_month",
        set_={"state": GENERATING, "claimed_at": now},
        where=retake,
    ).returning(table.c.id)
    found = session.execute(statement).first()
    return found.id if found else None


def content(session, region: str, year: int, month: int, now: datetime) -> dict:
    """What a report says: the dashboard's figures for the region and the month."""
    first, last = month_bounds(year, month)
    view = DashboardView(DASHBOARD_REGION, region)
    query = {"from_day": first, "to_day": last}
    today = rome_date(now)
    return {
        "title": f"Comunicazione Bidirezionale – Direzione regionale {region} – {month_key(first)}",
        "region": region,
        "month": month_key(first),
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "as_of": today.isoformat(),
        "generated_at": now.isoformat(),
        "indicators": dashboard.indicators(session, view, query, today),
        "subject_changes": dashboard.subject_changes(session, view, query, today),
        "customer_care": customer_care.customer_care(session, view, query, today),
    }


def produce(
    begin, store, region: str, year: int, month: int, now: datetime, force: bool = False
) -> dict | None:
    """Claim, render, store, publish; None when someone else has it (or had it)."""
    key = f"{year:04d}-{month:02d}"
    with begin() as session:
        report_id = claim(session, region, key, now, force)
    if report_id is None:
        return None
    with begin() as session:
        report = content(session, region, year, month, now)
    files = []
    for fmt, render in rendering.RENDERERS.items():
        data = render(report)
        filename = f"cruscotto-{_slug(region)}-{key}.{fmt}"
        object_key = f"reports/{report_id}/{filename}"
        store.put(object_key, data, rendering.FORMATS[fmt])
        files.append(
            {
                "format": fmt,
                "key": object_key,
                "filename": filename,
                "content_type": rendering.FORMATS[fmt],
                "size": len(data),
            }
        )
    with begin() as session:
        row = session.get(MonthlyReport, report_id)
        row.state, row.published_at, row.files = PUBLISHED, now, files
        row.figures = {key: report[key] for key in ("indicators", "subject_changes", "customer_care")}
        # in the same transaction: notify sends the report to the Direzione regionale
        add_event(session, make_event(REPORT_PUBLISHED, published_payload(row, report), producer="reporting"))
        return summary(row)


def published_payload(row: MonthlyReport, report: dict) -> dict:
    totals = report["indicators"].get("totals") or {}
    return {
        "report_id": row.id,
        "region": row.region,
        "month": row.month,
        "first_day": report["first_day"],
        "last_day": report["last_day"],
        "published_at": row.published_at,
        "files": row.files,
        "totals": {
            key: value for key, value in totals.items() if isinstance(value, int | float) or value is None
        },
    }


def due(session, today: date) -> list[tuple[str, int, int]]:
    """(region, year, month) whose report is ready and not yet published: every region that
    ever received a request, the last ``MONTHS_LOOKED_BACK`` months."""
    regions = session.scalars(select(Sede.region).where(Sede.region.isnot(None)).distinct()).all()
    months, cursor = [], today.replace(day=1)
    for _ in range(MONTHS_LOOKED_BACK):
        cursor = (cursor - timedelta(days=1)).replace(day=1)
        if report_ready_on(cursor.year, cursor.month) <= today:
            months.append((cursor.year, cursor.month))
    done = set(
        session.execute(
            select(MonthlyReport.region, MonthlyReport.month).where(MonthlyReport.state == PUBLISHED)
        ).all()
    )
    return [
        (region, year, month)
        for region in sorted(regions)
        for year, month in sorted(months)
        if (region, f"{year:04d}-{month:02d}") not in done
    ]


def produce_due(begin, store, now: datetime) -> list[dict]:
    with begin() as session:
        pending = due(session, rome_date(now))
    produced = []
    for region, year, month in pending:
        report = produce(begin, store, region, year, month, now)
        if report is not None:
            produced.append(report)
    return produced


def summary(row: MonthlyReport) -> dict:
    return {
        "id": str(row.id),
        "region": row.region,
        "month": row.month,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "files": [
            {key: item[key] for key in ("format", "filename", "content_type", "size")}
            for item in row.files or []
        ],
    }


def published(session, region: str | None = None, month: str | None = None) -> list[MonthlyReport]:
    statement = select(MonthlyReport).where(MonthlyReport.state == PUBLISHED)
    if region is not None:
        statement = statement.where(MonthlyReport.region == region)
    if month is not None:
        parse_month(month)
        statement = statement.where(MonthlyReport.month == month)
    return session.scalars(statement.order_by(MonthlyReport.month.desc(), MonthlyReport.region)).all()


def stored_file(session, report_id: str, fmt: str, region: str | None) -> tuple[MonthlyReport, dict]:
    """A published report's file; another region's report (``region``: the caller's, None for
    all) answers as missing."""
    try:
        row = session.get(MonthlyReport, uuid.UUID(str(report_id)))
    except ValueError:
        row = None
    if row is None or row.state != PUBLISHED or region not in (None, row.region):
        raise NotFound("report_not_found", "Report mensile non trovato.")
    for item in row.files or []:
        if item["format"] == fmt:
            return row, item
    raise NotFound("report_not_found", f"Il report non ha un file {fmt}.")


def _slug(text: str) -> str:
    return "".join(char.lower() if char.isalnum() else "-" for char in text).strip("-")
