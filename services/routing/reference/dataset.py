"""A reference directory: one CSV file per table, read and written as plain data.

Every file is UTF-8 with a header; besides its own columns each may carry ``valid_from``
and ``valid_to`` (inclusive days, ``AAAA-MM-GG``; empty = unbounded) and ``source``
(where the row comes from). ``FILES`` lists them, which are required, and their columns.
Shape problems (missing file, missing columns, bad dates) are returned as ``problems``,
not raised: the load reports them like any failed check. No database here.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from services.routing.reference.checks import Problem
from services.routing.reference.model import (
    Company,
    Cric,
    MatricolaPrefix,
    PatronatoOffice,
    Polo,
    ReferenceData,
    Sede,
    SedeComune,
    SubjectRouting,
)

PERIOD_COLUMNS = ("valid_from", "valid_to")
SOURCE_COLUMN = "source"
SAMPLE_DIR = Path(__file__).parent / "data" / "sample"  # written by ``command generate``


@dataclass(frozen=True)
class FileSpec:
    name: str
    attribute: str  # the ReferenceData field it fills
    columns: tuple[str, ...]
    required: bool
    build: Callable[[Callable[[str], str], dict], object]  # (value, period) -> row

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + PERIOD_COLUMNS + (SOURCE_COLUMN,)


def _or_none(text: str) -> str | None:
    return text or None


FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "sedi.csv",
        "sedi",
        ("code", "name", "type", "parent_code", "region", "province", "email"),
        True,
        lambda v, p: Sede(
            v("code"),
            v("name"),
            v("type"),
            _or_none(v("parent_code")),
            v("region"),
            _or_none(v("province").upper()),
            _or_none(v("email")),
            **p,
        ),
    ),
    FileSpec(
        "sede_comuni.csv",
        "sede_comuni",
        ("sede_code", "codice_catastale", "comune"),
        False,
        lambda v, p: SedeComune(v("sede_code"), v("codice_catastale").upper(), v("comune"), **p),
    ),
    FileSpec(
        "cric.csv",
        "cric",
        ("code", "name", "region", "parent_code", "email"),
        True,
        lambda v, p: Cric(v("code"), v("name"), v("region"), v("parent_code"), _or_none(v("email")), **p),
    ),
    FileSpec(
        "subjects.csv",
        "subjects",
        ("code", "label", "area", "cric_section"),
        True,
        lambda v, p: SubjectRouting(v("code"), v("label"), v("area"), v("cric_section"), **p),
    ),
    FileSpec(
        "poli.csv",
        "poli",
        ("subject", "region", "sede_code", "name"),
        False,
        lambda v, p: Polo(v("subject"), _or_none(v("region")), v("sede_code"), v("name"), **p),
    ),
    FileSpec(
        "patronato_offices.csv",
        "patronato_offices",
        ("ente", "ufficio", "province", "name"),
        False,
        lambda v, p: PatronatoOffice(v("ente"), v("ufficio"), v("province").upper(), v("name"), **p),
    ),
    FileSpec(
        "companies.csv",
        "companies",
        ("matricola", "sede_code"),
        False,
        lambda v, p: Company(v("matricola"), v("sede_code"), **p),
    ),
    FileSpec(
        "matricola_prefixes.csv",
        "matricola_prefixes",
        ("prefix", "province"),
        False,
        lambda v, p: MatricolaPrefix(v("prefix"), v("province").upper(), **p),
    ),
)
FILE_BY_ATTRIBUTE = {spec.attribute: spec for spec in FILES}


@dataclass
class ReferenceDataset:
    data: ReferenceData
    source: str
    checksum: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_sample(self) -> bool:
        return self.source.startswith("sample")

    @property
    def sedi(self) -> list[Sede]:
        return list(self.data.sedi)


# ---- reading --------------------------------------------------------------------------------


def read_reference(directory: Path) -> ReferenceDataset:
    directory = Path(directory)
    tables, sources, problems = {}, set(), []
    digest = hashlib.sha256()
    for spec in FILES:
        path = directory / spec.name
        if not path.is_file():
            if spec.required:
                problems.append(Problem("missing_file", f"File {path} non trovato."))
            continue
        content = path.read_bytes()
        digest.update(spec.name.encode() + b"\0" + content + b"\0")
        rows, file_sources, file_problems = _read_rows(spec, content.decode("utf-8-sig"))
        tables[spec.attribute] = tuple(rows)
        sources |= file_sources
        problems += file_problems
    source = "; ".join(sorted(sources)) or str(directory)
    return ReferenceDataset(ReferenceData(**tables), source, digest.hexdigest(), problems)


def _read_rows(spec: FileSpec, text: str) -> tuple[list, set[str], list[Problem]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in spec.columns if column not in (reader.fieldnames or [])]
    if missing:
        return (
            [],
            set(),
            [Problem("missing_columns", f"{spec.name}: colonne mancanti: {', '.join(missing)}.")],
        )
    rows, sources, problems = [], set(), []
    for line, record in enumerate(reader, start=2):

        def value(column, record=record):
            return (record.get(column) or "").strip()

        period, period_problems = _period(spec.name, line, value("valid_from"), value("valid_to"))
        problems += period_problems
        rows.append(spec.build(value, period))
        if value(SOURCE_COLUMN):
            sources.add(value(SOURCE_COLUMN))
    return rows, sources, problems


def _period(file_name: str, line: int, start: str, end: str) -> tuple[dict, list[Problem]]:
    period, problems = {"valid_from": None, "valid_to": None}, []
    for column, text in (("valid_from", start), ("valid_to", end)):
        if not text:
            continue
        try:
            period[column] = date.fromisoformat(text)
        except ValueError:
            problems.append(
                Problem(
                    "invalid_date", f"{file_name} riga {line}: {column} «{text}» non è una data AAAA-MM-GG."
                )
            )
    if period["valid_from"] and period["valid_to"] and period["valid_from"] > period["valid_to"]:
        problems.append(
            Problem("invalid_period", f"{file_name} riga {line}: valid_from è successiva a valid_to.")
        )
    return period, problems


# ---- writing --------------------------------------------------------------------------------


def write_reference(directory: Path, data: ReferenceData, source: str) -> None:
    """Write every table of ``data`` into ``directory`` (sorted rows, stable output)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for spec in FILES:
        write_table(directory / spec.name, spec, getattr(data, spec.attribute), source)


def write_table(path: Path, spec: FileSpec, rows, source: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=spec.all_columns, lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        for row in sorted(rows, key=_sort_key(spec)):
            record = {key: _cell(value) for key, value in row.as_dict().items()}
            writer.writerow({**record, SOURCE_COLUMN: source})


def _sort_key(spec: FileSpec):
    return lambda row: (
        tuple(_cell(getattr(row, column)) for column in spec.columns) + (_cell(row.valid_from),)
    )


def _cell(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)
