"""The sedi: the generated sample and the checks on the sedi table alone.

The sample has one direzione regionale per region and one direzione provinciale per
province (DESIGN.md §5), with codes, names and e-mails made up by a fixed rule: it is
sample data, not the INPS offices. ``checks.py`` runs these checks with those of the
other tables and, day by day, those that depend on effective periods.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from services.routing.dataset import Problem
from services.routing.structures import PROVINCIAL_TYPES, REGIONAL_TYPES, SEDE_TYPES, Province, Sede

SAMPLE_EMAIL_DOMAIN = "sample.inps.example"
CODE_PATTERN = re.compile(r"^\d{4}$")


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
            name=f"Direzione regionale {italian_name(region)}",
            type="direzione_regionale",
            parent_code=None,
            region=region,
            province=None,
            email=sample_email("direzione.regionale", region),
        )
        sedi.append(regional)
        in_region = sorted(sigla for sigla, province in provinces.items() if province.region == region)
        for province_index, sigla in enumerate(in_region, start=1):
            province = provinces[sigla]
            sedi.append(
                Sede(
                    code=f"{region_index:02d}{province_index:02d}",
                    name=f"Direzione provinciale di {italian_name(province.name)}",
                    type="direzione_provinciale",
                    parent_code=regional.code,
                    region=region,
                    province=sigla,
                    email=sample_email("direzione.provinciale", province.name),
                )
            )
    return sedi


def italian_name(name: str) -> str:
    """The Italian half of a bilingual ISTAT name ("Bolzano/Bozen" → "Bolzano")."""
    return name.split("/")[0].strip()


def sample_email(prefix: str, place: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", italian_name(place)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return f"{prefix}.{slug}@{SAMPLE_EMAIL_DOMAIN}"


# ---- checks -----------------------------------------------------------------------------


def check_sedi(sedi: list[Sede], provinces: dict[str, Province]) -> list[Problem]:
    """The sedi table alone, all rows taken as in force: [] when it may become active."""
    problems = check_sede_rows(sedi, provinces)
    if sedi:
        problems += check_province_coverage(sedi, provinces)
    return problems


def check_sede_rows(sedi: list[Sede], provinces: dict[str, Province]) -> list[Problem]:
    """What each row must satisfy whatever the day: code, name, type, region, parent."""
    if not sedi:
        return [Problem("empty_dataset", "Il file delle sedi non contiene alcuna sede.")]
    problems = _check_codes(sedi)
    by_code = {sede.code: sede for sede in sedi}
    for sede in sedi:
        problems += _check_sede(sede, by_code, provinces)
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
            Problem(
                "invalid_type",
                f"{_label(sede)}: tipo «{sede.type}» non valido (ammessi: {', '.join(SEDE_TYPES)}).",
            )
        )
    if not sede.region:
        problems.append(Problem("missing_region", f"{_label(sede)}: regione mancante."))
    elif sede.region not in {province.region for province in provinces.values()}:
        problems.append(
            Problem(
                "unknown_region",
                f"{_label(sede)}: regione «{sede.region}» sconosciuta (usare il nome ISTAT).",
            )
        )
    elif sede.province in provinces and provinces[sede.province].region != sede.region:
        detail = f"{_label(sede)}: la provincia {sede.province} non è nella regione {sede.region}."
        problems.append(Problem("province_outside_region", detail))
    if sede.type not in REGIONAL_TYPES:
        if not sede.parent_code:
            problems.append(
                Problem(
                    "missing_parent", f"{_label(sede)}: manca la sede di livello superiore (parent_code)."
                )
            )
        elif sede.parent_code == sede.code or sede.parent_code not in by_code:
            problems.append(
                Problem(
                    "unknown_parent",
                    f"{_label(sede)}: la sede di livello superiore {sede.parent_code} non esiste.",
                )
            )
    if sede.province and sede.province not in provinces:
        problems.append(
            Problem("unknown_province", f"{_label(sede)}: provincia «{sede.province}» sconosciuta.")
        )
    if sede.type in PROVINCIAL_TYPES and not sede.province:
        problems.append(
            Problem("missing_province", f"{_label(sede)}: una sede provinciale deve indicare la provincia.")
        )
    return problems


def check_province_coverage(sedi: list[Sede], provinces: dict[str, Province]) -> list[Problem]:
    """Every province has exactly one provincial sede, so every CAP reaches a sede."""
    provincial = Counter(sede.province for sede in sedi if sede.type in PROVINCIAL_TYPES and sede.province)
    problems = []
    for sigla, province in sorted(provinces.items()):
        if provincial[sigla] == 0:
            problems.append(
                Problem(
                    "province_without_sede",
                    f"La provincia {sigla} ({province.name}) non ha una direzione provinciale.",
                )
            )
        elif provincial[sigla] > 1:
            detail = f"La provincia {sigla} ({province.name}) ha {provincial[sigla]} sedi provinciali."
            problems.append(Problem("province_with_several_sedi", detail))
    return problems


def count_by_type(sedi: list[Sede]) -> dict[str, int]:
    return dict(sorted(Counter(sede.type for sede in sedi).items()))
