"""``ReferenceView``: the rows of one reference version in force on one day, indexed.

Built once per (version, day) and then only read: every routing look-up is a dict access.
It is all a routing rule is given: besides the rows it carries the version's id (the rules
name it when the data cannot place a request) and the CAP look-up (CAP → comuni).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from services.routing.reference.istat import comuni_of_cap
from services.routing.reference.model import (
    PROVINCIAL_TYPES,
    Comune,
    Cric,
    MatricolaPrefix,
    PatronatoOffice,
    Polo,
    Province,
    ReferenceData,
    Sede,
    SubjectRouting,
)


def _in_force(rows: Iterable, day: date) -> list:
    return [row for row in rows if row.effective_on(day)]


class ReferenceView:
    def __init__(
        self,
        data: ReferenceData,
        day: date,
        provinces: dict[str, Province],
        version: str | None = None,
        cap_lookup: Callable[[str], tuple[Comune, ...]] = comuni_of_cap,
    ):
        self.day = day
        self.provinces = provinces
        self.version = version
        self.cap_lookup = cap_lookup
        self.sedi: dict[str, Sede] = {sede.code: sede for sede in _in_force(data.sedi, day)}
        self.provincial_sede: dict[str, Sede] = {
            sede.province: sede
            for sede in self.sedi.values()
            if sede.type in PROVINCIAL_TYPES and sede.province
        }
        self.local_sede: dict[str, Sede] = {
            row.codice_catastale: self.sedi[row.sede_code]
            for row in _in_force(data.sede_comuni, day)
            if row.sede_code in self.sedi
        }
        self.cric: dict[str, Cric] = {cric.code: cric for cric in _in_force(data.cric, day)}
        self.cric_of_region: dict[str, Cric] = {cric.region: cric for cric in self.cric.values()}
        self.subjects: dict[str, SubjectRouting] = {s.code: s for s in _in_force(data.subjects, day)}
        self.poli: dict[tuple[str, str | None], Polo] = {
            (p.subject, p.region): p for p in _in_force(data.poli, day)
        }
        self.offices: dict[tuple[str, str], PatronatoOffice] = {
            (office.ente, office.ufficio): office for office in _in_force(data.patronato_offices, day)
        }
        self.companies: dict[str, str] = {c.matricola: c.sede_code for c in _in_force(data.companies, day)}
        self.prefixes: dict[str, MatricolaPrefix] = {
            p.prefix: p for p in _in_force(data.matricola_prefixes, day)
        }
        self.polo_subjects: set[str] = {subject for subject, _ in self.poli}
        self.memo: dict = {}  # what the rules work out from this view alone (decision.rules.memoised)

    # -- look-ups the rules use ------------------------------------------------------------

    def sede_of_comune(self, comune: Comune) -> tuple[Sede | None, str]:
        """The sede covering ``comune`` and how: "local" (listed for an agenzia/filiale) or
        "provincial" (the province's sede)."""
        local = self.local_sede.get(comune.codice_catastale)
        if local is not None:
            return local, "local"
        return self.provincial_sede.get(comune.province), "provincial"

    def region_of_province(self, sigla: str | None) -> str | None:
        province = self.provinces.get(sigla or "")
        return province.region if province else None

    def polo_for(self, subject: str, region: str | None) -> Polo | None:
        """A regional polo for ``region`` wins over a national one: it is the narrower rule."""
        if region is not None:
            regional = self.poli.get((subject, region))
            if regional is not None:
                return regional
        return self.poli.get((subject, None))

    def structure_name(self, code: str) -> str | None:
        sede = self.sedi.get(code)
        if sede is not None:
            return sede.name
        cric = self.cric.get(code)
        return cric.name if cric is not None else None
