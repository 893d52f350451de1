"""Reporting's commands.

    python -m services.reporting rebuild [--database-url URL]
    python -m services.reporting report --month 2026-03 [--region Lazio] [--force]
    python -m services.reporting due                  # produce every monthly report that is due

``rebuild`` recomputes the dashboard's aggregates from the read model in one transaction
(after the migration that adds them, after a restore, or to check the kept ones): events
arriving meanwhile wait for it and then apply on top. ``report`` produces the monthly report of
a month for one region (default: every region that received requests), stored in object storage
like the timer's (``--force`` makes a published one anew); ``due`` does what the timer does.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.reporting import aggregates, monthly
from services.reporting.models import Sede
from services.reporting.rules.periods import parse_month
from shared.clock import SystemClock
from shared.config import load_service_config
from shared.db import make_engine
from shared.migrations import database_url
from shared.storage import ObjectStoreAccess, make_client


def rebuild(url: str) -> dict:
    engine = make_engine(url, pool_size=1)
    try:
        with sessionmaker(engine).begin() as session:
            return aggregates.rebuild(session)
    finally:
        engine.dispose()


def object_store() -> ObjectStoreAccess:
    settings = load_service_config("reporting")
    client = make_client(settings["S3_ENDPOINT"], settings["S3_ACCESS_KEY"], settings["S3_SECRET_KEY"])
    return ObjectStoreAccess(client, settings["S3_BUCKET"])


def report(url: str, month: str, region: str | None, force: bool) -> list[dict]:
    year, number = parse_month(month)
    engine = make_engine(url, pool_size=1)
    try:
        sessions = sessionmaker(engine, expire_on_commit=False)
        if region is None:
            with sessions.begin() as session:
                regions = session.scalars(select(Sede.region).where(Sede.region.isnot(None)).distinct()).all()
        else:
            regions = [region]
        store, now = object_store(), SystemClock().now()
        produced = [
            monthly.produce(sessions.begin, store, name, year, number, now, force) for name in sorted(regions)
        ]
        return [item for item in produced if item is not None]
    finally:
        engine.dispose()


def due(url: str) -> list[dict]:
    engine = make_engine(url, pool_size=1)
    try:
        return monthly.produce_due(
            sessionmaker(engine, expire_on_commit=False).begin, object_store(), SystemClock().now()
        )
    finally:
        engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.reporting", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild_parser = commands.add_parser("rebuild", help="ricalcola gli aggregati del cruscotto")
    rebuild_parser.add_argument("--database-url", default=database_url("reporting"))
    report_parser = commands.add_parser("report", help="produce il report mensile di un mese")
    report_parser.add_argument("--month", required=True, help="AAAA-MM")
    report_parser.add_argument("--region", default=None, help="una regione (default: tutte)")
    report_parser.add_argument("--force", action="store_true", help="rifà un report già pubblicato")
    report_parser.add_argument("--database-url", default=database_url("reporting"))
    due_parser = commands.add_parser("due", help="produce i report mensili dovuti (come il timer)")
    due_parser.add_argument("--database-url", default=database_url("reporting"))
    args = parser.parse_args(argv)

    if args.command in ("report", "due"):
        try:
            produced = (
                report(args.database_url, args.month, args.region, args.force)
                if args.command == "report"
                else due(args.database_url)
            )
        except ValueError as exc:
            parser.error(str(exc))
        for item in produced:
            formats = ", ".join(file["format"] for file in item["files"])
            print(f"{item['region']} {item['month']}: {item['id']} ({formats})")
        if not produced:
            print("Nessun report prodotto (già pubblicati, o prodotti da un'altra istanza).")
        return 0

    started = time.perf_counter()
    rows = rebuild(args.database_url)
    print(
        f"Aggregati ricalcolati in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{table} {count} righe" for table, count in rows.items())
    )
    return 0
