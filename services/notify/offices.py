"""Where notify writes when an event names an office, not a person: the patronato offices'
registered addresses (a request's notices when neither the request nor the requester's token
gives one) and the Direzioni regionali's (their monthly reports).

    python -m services.notify.offices load [--patronati FILE] [--direzioni FILE]
    python -m services.notify.offices list

CSV files: ``ente,ufficio,name,email`` and ``region,name,email``. Without a file, the samples
in ``services/notify/data/`` (what ``make run`` loads). A load checks every row first, then
replaces both tables in one transaction.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from marshmallow import ValidationError, validate
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from services.notify.models import PatronatoOffice, RegionalDirectorate
from shared.db import make_engine
from shared.migrations import database_url

DATA = Path(__file__).parent / "data"


class OfficeFileError(ValueError):
    """A row of the file breaks a rule: its line and what is wrong."""


@dataclass(frozen=True)
class Table:
    model: type
    columns: tuple[str, ...]
    key: tuple[str, ...]
    lengths: dict
    sample: Path


PATRONATI = Table(
    PatronatoOffice,
    ("ente", "ufficio", "name", "email"),
    ("ente", "ufficio"),
    {"ente": 20, "ufficio": 20, "name": 200, "email": 254},
    DATA / "patronato_offices.csv",
)
DIREZIONI = Table(
    RegionalDirectorate,
    ("region", "name", "email"),
    ("region",),
    {"region": 60, "name": 200, "email": 254},
    DATA / "direzioni_regionali.csv",
)


def read_rows(table: Table, path: Path) -> list[dict]:
    rows, seen = [], set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != table.columns:
            raise OfficeFileError(f"{path}: intestazione attesa {','.join(table.columns)}")
        for line, row in enumerate(reader, start=2):
            values = {name: (row.get(name) or "").strip() for name in table.columns}
            if not all(values.values()):
                raise OfficeFileError(f"{path}:{line}: ogni colonna è obbligatoria")
            too_long = [name for name, limit in table.lengths.items() if len(values[name]) > limit]
            if too_long:
                raise OfficeFileError(f"{path}:{line}: valore troppo lungo in {', '.join(too_long)}")
            try:
                validate.Email()(values["email"])
            except ValidationError:
                raise OfficeFileError(f"{path}:{line}: indirizzo e-mail non valido") from None
            key = tuple(values[name] for name in table.key)
            if key in seen:
                raise OfficeFileError(f"{path}:{line}: {'/'.join(key)} ripetuto")
            seen.add(key)
            rows.append(values)
    return rows


def read_offices(path: Path) -> list[dict]:
    return read_rows(PATRONATI, path)


def load(session, table: Table, rows: list[dict]) -> int:
    session.execute(delete(table.model))
    session.add_all(table.model(**row) for row in rows)
    return len(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Indirizzi degli uffici di patronato e delle Direzioni regionali"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser("load")
    loading.add_argument("--patronati", type=Path, default=PATRONATI.sample)
    loading.add_argument("--direzioni", type=Path, default=DIREZIONI.sample)
    loading.add_argument("--database-url", default=database_url("notify"))
    listing = commands.add_parser("list")
    listing.add_argument("--database-url", default=database_url("notify"))
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url, pool_size=1)
    sessions = sessionmaker(engine)
    try:
        if args.command == "load":
            try:
                loaded = [
                    (table, path, read_rows(table, path))
                    for table, path in ((PATRONATI, args.patronati), (DIREZIONI, args.direzioni))
                ]
            except OfficeFileError as exc:
                print(f"errore: {exc}", file=sys.stderr)
                return 2
            with sessions.begin() as session:
                for table, path, rows in loaded:
                    count, name = load(session, table, rows), table.model.__tablename__
                    print(f"{count} righe di {name} caricate da {path}")
            return 0
        with sessions() as session:
            for office in session.scalars(select(PatronatoOffice).order_by("ente", "ufficio")):
                print(f"{office.ente}/{office.ufficio}  {office.name}  <{office.email}>")
            for directorate in session.scalars(select(RegionalDirectorate).order_by("region")):
                print(f"{directorate.region}  {directorate.name}  <{directorate.email}>")
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
