"""The reference data routing owns, as plain values (no I/O, no framework).

Every row has an effective period: ``valid_from`` and ``valid_to`` are inclusive days;
``None`` means "since always" / "until further notice". A loaded version holds all rows
with their periods; ``ReferenceView`` (view.py) keeps those effective on one day.
The database tables that store them are in ``services/routing/models.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from shared.vocabulary import CRIC_SECTIONS  # noqa: F401 - the three CRIC sections, defined once

REGIONAL_TYPES = ("direzione_regionale",)
# The sede competent for a whole province: a direzione provinciale or, where the province
# is a metropolitan city, the direzione di coordinamento metropolitano.
PROVINCIAL_TYPES = ("direzione_provinciale", "direzione_coordinamento_metropolitano")
# Sedi that cover only the comuni listed for them (sede_comuni.csv).
LOCAL_TYPES = ("filiale_metropolitana", "agenzia_complessa", "agenzia_territoriale")
SEDE_TYPES = REGIONAL_TYPES + PROVINCIAL_TYPES + LOCAL_TYPES


@dataclass(frozen=True)
class Effective:
    """Mixin: the inclusive period in which a row is in force."""

    valid_from: date | None = field(default=None, kw_only=True)
    valid_to: date | None = field(default=None, kw_only=True)

    def effective_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Sede(Effective):
    code: str
    name: str
    type: str
    parent_code: str | None
    region: str
    province: str | None
    email: str | None


@dataclass(frozen=True)
class SedeComune(Effective):
    """A comune a local sede (agenzia, filiale) covers instead of the provincial sede."""

    sede_code: str
    codice_catastale: str
    comune: str = ""  # the name, for people reading the CSV; the code is what counts


@dataclass(frozen=True)
class Cric(Effective):
    """The Centro Regionale di Informazione e Consulenza of one region."""

    code: str
    name: str
    region: str
    parent_code: str  # the direzione regionale it belongs to
    email: str | None


@dataclass(frozen=True)
class SubjectRouting(Effective):
    """Routing's own view of a catalog subject: its work area and its CRIC section."""

    code: str
    label: str
    area: str
    cric_section: str


@dataclass(frozen=True)
class Polo(Effective):
    """A hub that handles one subject nationally (``region`` None) or for one region."""

    subject: str
    region: str | None
    sede_code: str
    name: str


@dataclass(frozen=True)
class PatronatoOffice(Effective):
    ente: str  # codice ente (the patronato)
    ufficio: str  # codice ufficio
    province: str
    name: str = ""


@dataclass(frozen=True)
class Company(Effective):
    """Company registry: the sede di competenza of a matricola."""

    matricola: str
    sede_code: str


@dataclass(frozen=True)
class MatricolaPrefix(Effective):
    """The province of the provincial office a matricola's first two digits name."""

    prefix: str
    province: str


@dataclass(frozen=True)
class Province:
    sigla: str
    name: str
    region: str
    istat_code: str = ""


@dataclass(frozen=True)
class Comune:
    name: str
    province: str  # sigla, e.g. "RM"
    region: str
    codice_catastale: str


@dataclass(frozen=True)
class ReferenceData:
    """Everything one reference version holds (rows with their effective periods)."""

    sedi: tuple[Sede, ...] = ()
    sede_comuni: tuple[SedeComune, ...] = ()
    cric: tuple[Cric, ...] = ()
    subjects: tuple[SubjectRouting, ...] = ()
    poli: tuple[Polo, ...] = ()
    patronato_offices: tuple[PatronatoOffice, ...] = ()
    companies: tuple[Company, ...] = ()
    matricola_prefixes: tuple[MatricolaPrefix, ...] = ()

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.__dataclass_fields__}

    def change_days(self) -> set[date]:
        """Every day on which some row starts or stops being in force."""
        days = set()
        for name in self.__dataclass_fields__:
            for row in getattr(self, name):
                if row.valid_from is not None:
                    days.add(row.valid_from)
                if row.valid_to is not None:
                    days.add(date.fromordinal(row.valid_to.toordinal() + 1))
        return days
