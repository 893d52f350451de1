"""Patronato offices' registered e-mail addresses: where a request's notices go when neither
the request nor the requester's token gives an address.

    python -m services.notify.offices load [FILE]   # CSV: ente,ufficio,name,email
    python -m services.notify.offices list

Without FILE, the sample in ``services/notify/data/patronato_offices.csv`` (what ``make run``
loads). A load replaces the whole table in one transaction, after checking every row.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from marshmallow import ValidationError, validate
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from services.notify.models import PatronatoOffice
from shared.db import make_engine
from shared.migrations import database_url

SAMPLE = Path(__file__).parent / "data" / "patronato_offices.csv"
COLUMNS = ("ente", "ufficio", "name", "email")


class OfficeFileError(ValueError):
    """A row of the file breaks a rule: its line and what is wrong."""


def read_offices(path: Path) -> list[dict]:
    offices, seen = [], set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise OfficeFileError(f"{path}: intestazione attesa {','.join(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            values = {name: (row.get(name) or "").strip() for name in COLUMNS}
            if not all(values.values()):
                raise OfficeFileError(f"{path}:{line}: ogni colonna è obbligatoria")
            if len(values["ente"]) > 20 or len(values["ufficio"]) > 20 or len(values["name"]) > 200:
                raise OfficeFileError(f"{path}:{line}: valore troppo lungo")
            try:
                validate.Email()(values["email"])
            except ValidationError:
                raise OfficeFileError(f"{path}:{line}: indirizzo e-mail non valido") from None
            key = (values["ente"], values["ufficio"])
            if key in seen:
                raise OfficeFileError(f"{path}:{line}: ufficio {key[0]}/{key[1]} ripetuto")
            seen.add(key)
            offices.append(values)
    return offices


def load(session, offices: list[dict]) -> int:
    session.execute(delete(PatronatoOffice))
    session.add_all(PatronatoOffice(**office) for office in offices)
    return len(offices)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Indirizzi registrati degli uffici di patronato")
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser("load")
    loading.add_argument("file", nargs="?", type=Path, default=SAMPLE)
    loading.add_argument("--database-url", default=database_url("notify"))
    listing = commands.add_parser("list")
    listing.add_argument("--database-url", default=database_url("notify"))
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url, pool_size=1)
    sessions = sessionmaker(engine)
    try:
        if args.command == "load":
            try:
                offices = read_offices(args.file)
            except OfficeFileError as exc:
                print(f"errore: {exc}", file=sys.stderr)
                return 2
            with sessions.begin() as session:
                count = load(session, offices)
            print(f"{count} uffici di patronato caricati da {args.file}")
        else:
            with sessions() as session:
                for office in session.scalars(select(PatronatoOffice).order_by("ente", "ufficio")):
                    print(f"{office.ente}/{office.ufficio}  {office.name}  <{office.email}>")
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
