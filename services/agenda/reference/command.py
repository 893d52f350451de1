"""Punti di consulenza command: generate the sample, load a directory as a new version, list.

    python -m services.agenda.reference generate [--out DIR]
    python -m services.agenda.reference load [DIR] [--database-url URL]
    python -m services.agenda.reference versions [--database-url URL]

``load`` reads ``DIR/punti.csv`` (default: the committed sample), checks it and, in one
transaction, stores it as a new version and activates it; a file that fails a check changes
nothing (the problems are listed, exit status 1). The running agenda service reads the active
version on every query.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from services.agenda.reference import store
from services.agenda.reference.dataset import SAMPLE_DIR, read_punti, write_punti
from services.agenda.reference.sample import generate_sample
from shared.clock import SystemClock
from shared.db import make_engine
from shared.migrations import database_url

MAX_PROBLEMS_SHOWN = 40


def load_punti(directory: Path, url: str, clock=None) -> tuple[int, list[str]]:
    """(punti loaded, problems): nothing is stored when there are problems."""
    records, problems = read_punti(directory)
    if problems:
        return 0, problems
    engine = make_engine(url, pool_size=1)
    try:
        with sessionmaker(engine).begin() as session:
            store.apply_punti(session, records, str(directory), (clock or SystemClock()).now())
    finally:
        engine.dispose()
    return len(records), []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.agenda.reference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate_parser = commands.add_parser("generate", help="genera i punti di esempio dalle sedi di esempio")
    generate_parser.add_argument("--out", default=str(SAMPLE_DIR))
    load_parser = commands.add_parser("load", help="carica una cartella come nuova versione attiva")
    load_parser.add_argument("directory", nargs="?", default=str(SAMPLE_DIR))
    load_parser.add_argument("--database-url", default=database_url("agenda"))
    versions_parser = commands.add_parser("versions", help="elenca le versioni caricate (* = attiva)")
    versions_parser.add_argument("--database-url", default=database_url("agenda"))
    args = parser.parse_args(argv)

    if args.command == "generate":
        records = generate_sample()
        write_punti(Path(args.out), records)
        print(f"{len(records)} punti di consulenza di esempio scritti in {args.out}")
        return 0
    if args.command == "load":
        loaded, problems = load_punti(Path(args.directory), args.database_url)
        if problems:
            print(f"Dati non caricati: {len(problems)} problemi", file=sys.stderr)
            for problem in problems[:MAX_PROBLEMS_SHOWN]:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"Caricati {loaded} punti di consulenza come nuova versione attiva.")
        return 0
    engine = make_engine(args.database_url, pool_size=1)
    try:
        with sessionmaker(engine)() as session:
            for version in store.versions(session):
                mark = "*" if version.active else " "
                print(
                    f"{mark} {version.label}  {version.punti_count} punti  {version.loaded_at:%Y-%m-%d %H:%M}"
                )
    finally:
        engine.dispose()
    return 0
