"""The punti di consulenza as a CSV file (``punti.csv``), read and checked.

Columns: ``punto_id`` (unique), ``sede`` (the sede code, the same codes routing uses),
``region``, ``kind`` (sede | agenzia | sportello), ``name``, ``address``, ``comune``,
``modalities`` and ``topics`` (``|``-separated), ``weekly`` (``mon=09:00-12:30,14:30-16:00;
wed=...``), ``slot_minutes``, ``patron_day`` (MM-DD, the comune's patron saint; may be empty).
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from services.agenda.rules.booking import MODALITIES
from services.agenda.rules.slots import SLOT_MINUTES_CHOICES, parse_patron_day, parse_weekly

SAMPLE_DIR = Path(__file__).parent / "data" / "sample"
PUNTI_FILE = "punti.csv"
KINDS = ("sede", "agenzia", "sportello")
COLUMNS = (
    "punto_id",
    "sede",
    "region",
    "kind",
    "name",
    "address",
    "comune",
    "modalities",
    "topics",
    "weekly",
    "slot_minutes",
    "patron_day",
)


@dataclass(frozen=True)
class PuntoRecord:
    punto_id: str
    sede: str
    region: str
    kind: str
    name: str
    address: str
    comune: str
    modalities: tuple[str, ...]
    topics: tuple[str, ...]
    weekly: str
    slot_minutes: int
    patron_day: str | None


def read_punti(directory: Path) -> tuple[list[PuntoRecord], list[str]]:
    """The punti of ``directory/punti.csv`` and the problems found (line: what)."""
    records, problems, seen = [], [], set()
    with open(directory / PUNTI_FILE, newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            return [], [f"{PUNTI_FILE}: colonne mancanti: {', '.join(sorted(missing))}"]
        for line, row in enumerate(reader, start=2):
            try:
                record = _record(row)
            except ValueError as exc:
                problems.append(f"{PUNTI_FILE}:{line}: {exc}")
                continue
            if record.punto_id in seen:
                problems.append(f"{PUNTI_FILE}:{line}: punto_id ripetuto: {record.punto_id}")
            seen.add(record.punto_id)
            records.append(record)
    if not records and not problems:
        problems.append(f"{PUNTI_FILE}: nessun punto di consulenza")
    return records, problems


def _record(row: dict) -> PuntoRecord:
    values = {name: (row.get(name) or "").strip() for name in COLUMNS}
    if not values["punto_id"] or len(values["punto_id"]) > 20:
        raise ValueError("punto_id mancante o più lungo di 20 caratteri")
    if not (values["sede"].isdigit() and len(values["sede"]) == 4):
        raise ValueError(f"codice sede non valido: {values['sede']!r}")
    if values["kind"] not in KINDS:
        raise ValueError(f"tipo di punto non valido: {values['kind']!r} (usare {', '.join(KINDS)})")
    modalities = tuple(item for item in values["modalities"].split("|") if item)
    if not modalities or set(modalities) - set(MODALITIES):
        raise ValueError(f"modalità non valide: {values['modalities']!r}")
    topics = tuple(item for item in values["topics"].split("|") if item)
    if not topics:
        raise ValueError("nessuna tematica")
    parse_weekly(values["weekly"])
    slot_minutes = int(values["slot_minutes"])
    if slot_minutes not in SLOT_MINUTES_CHOICES:
        raise ValueError(f"durata dello slot non ammessa: {slot_minutes}")
    parse_patron_day(values["patron_day"])
    for name in ("name", "address", "comune", "region"):
        if not values[name]:
            raise ValueError(f"{name} mancante")
    return PuntoRecord(
        **{
            **values,
            "modalities": modalities,
            "topics": topics,
            "slot_minutes": slot_minutes,
            "patron_day": values["patron_day"] or None,
        }
    )


def write_punti(directory: Path, records: list[PuntoRecord]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / PUNTI_FILE, "w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=COLUMNS)
        writer.writeheader()
        for record in records:
            row = asdict(record)
            row["modalities"] = "|".join(record.modalities)
            row["topics"] = "|".join(record.topics)
            row["patron_day"] = record.patron_day or ""
            writer.writerow(row)
