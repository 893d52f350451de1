"""Reporting's commands.

    python -m services.reporting rebuild [--database-url URL]

``rebuild`` recomputes the dashboard's aggregates from the read model in one transaction
(after the migration that adds them, after a restore, or to check the kept ones): events
arriving meanwhile wait for it and then apply on top.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy.orm import sessionmaker

from services.reporting import aggregates
from shared.db import make_engine
from shared.migrations import database_url


def rebuild(url: str) -> dict:
    engine = make_engine(url, pool_size=1)
    try:
        with sessionmaker(engine).begin() as session:
            return aggregates.rebuild(session)
    finally:
        engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.reporting", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild_parser = commands.add_parser("rebuild", help="ricalcola gli aggregati del cruscotto")
    rebuild_parser.add_argument("--database-url", default=database_url("reporting"))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows = rebuild(args.database_url)
    print(
        f"Aggregati ricalcolati in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{table} {count} righe" for table, count in rows.items())
    )
    return 0
