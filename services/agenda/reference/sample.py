"""The sample punti di consulenza: for every direzione provinciale of routing's sample sedi
(the same sede codes), a punto at the sede itself, an agenzia and, for every third sede, a
sportello; patron saints' days for the comuni that have a well-known one.

Generated once from routing's sample CSV (read as a file: agenda imports nothing of
routing) and committed as ``data/sample/punti.csv``; NOT real INPS data.
"""

from __future__ import annotations

import csv
from pathlib import Path

from services.agenda.reference.dataset import PuntoRecord
from shared.config import REPO_ROOT

ROUTING_SEDI = REPO_ROOT / "services" / "routing" / "reference" / "data" / "sample" / "sedi.csv"
TOPICS = (
    "comunicazioni",
    "informazioni",
    "normativa",
    "pensioni",
    "prestazioni",
    "soggetto_contribuente",
    "sostegno_reddito",
)
# the province's capital and its patron saint's day (MM-DD)
PATRON_DAYS = {
    "RM": ("Roma", "06-29"),
    "MI": ("Milano", "12-07"),
    "NA": ("Napoli", "09-19"),
    "TO": ("Torino", "06-24"),
    "FI": ("Firenze", "06-24"),
    "GE": ("Genova", "06-24"),
    "BO": ("Bologna", "10-04"),
    "PA": ("Palermo", "07-15"),
    "BA": ("Bari", "12-06"),
    "VE": ("Venezia", "04-25"),
    "CA": ("Cagliari", "10-30"),
    "TS": ("Trieste", "11-03"),
}
SEDE_HOURS = (
    "mon=08:30-12:30;tue=08:30-12:30,14:00-16:00;wed=08:30-12:30;thu=08:30-12:30,14:00-16:00;fri=08:30-12:30"
)
AGENZIA_HOURS = "mon=09:00-12:00;wed=09:00-12:00;fri=09:00-12:00"
SPORTELLO_HOURS = "tue=09:00-12:00;thu=09:00-12:00"


def generate_sample(sedi_csv: Path = ROUTING_SEDI) -> list[PuntoRecord]:
    with open(sedi_csv, newline="", encoding="utf-8") as source:
        sedi = [row for row in csv.DictReader(source) if row["type"] == "direzione_provinciale"]
    records = []
    for number, sede in enumerate(sorted(sedi, key=lambda row: row["code"])):
        code, province = sede["code"], sede["province"]
        comune, patron_day = PATRON_DAYS.get(
            province, (sede["name"].removeprefix("Direzione provinciale di "), "")
        )
        common = {"sede": code, "region": sede["region"], "comune": comune, "patron_day": patron_day or None}
        records.append(
            PuntoRecord(
                punto_id=f"{code}-S",
                kind="sede",
                name=f"{sede['name']}: punto di consulenza",
                address=f"Via della Sede {code}, {comune}",
                modalities=("in_person", "phone", "web_meeting"),
                topics=TOPICS,
                weekly=SEDE_HOURS,
                slot_minutes=30,
                **common,
            )
        )
        records.append(
            PuntoRecord(
                punto_id=f"{code}-A1",
                kind="agenzia",
                name=f"Agenzia {comune} 1",
                address=f"Piazza dell'Agenzia 1, {comune}",
                modalities=("in_person", "phone"),
                topics=("pensioni", "prestazioni", "sostegno_reddito", "informazioni"),
                weekly=AGENZIA_HOURS,
                slot_minutes=20,
                **common,
            )
        )
        if number % 3 == 0:
            records.append(
                PuntoRecord(
                    punto_id=f"{code}-P1",
                    kind="sportello",
                    name=f"Sportello {comune}",
                    address=f"Via dello Sportello 1, {comune}",
                    modalities=("in_person",),
                    topics=("informazioni", "pensioni"),
                    weekly=SPORTELLO_HOURS,
                    slot_minutes=15,
                    **common,
                )
            )
    return records
