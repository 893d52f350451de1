"""Reference versions in the database: store a checked dataset as the new active version,
read a version back as ``ReferenceData``, list the versions.

A version is a complete snapshot (every table), written once and never changed; only
the ``active`` flag moves. Old versions stay, so any recorded decision can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from services.routing.models import (
    CompanyRow,
    CricRow,
    MatricolaPrefixRow,
    PatronatoOfficeRow,
    PoloRow,
    ReferenceVersion,
    SedeComuneRow,
    SedeRow,
    SubjectRow,
)
from services.routing.reference.checks import Problem, check_reference
from services.routing.reference.dataset import ReferenceDataset
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
from shared.clock import rome_date

# ReferenceData field -> (table model, value type)
TABLES = {
    "sedi": (SedeRow, Sede),
    "sede_comuni": (SedeComuneRow, SedeComune),
    "cric": (CricRow, Cric),
    "subjects": (SubjectRow, SubjectRouting),
    "poli": (PoloRow, Polo),
    "patronato_offices": (PatronatoOfficeRow, PatronatoOffice),
    "companies": (CompanyRow, Company),
    "matricola_prefixes": (MatricolaPrefixRow, MatricolaPrefix),
}


def active_version_id(session) -> str | None:
    return session.scalar(select(ReferenceVersion.id).where(ReferenceVersion.active))


# ---- reading a version ----------------------------------------------------------------------


def version_data(session, version_id: str) -> ReferenceData:
    tables = {}
    for attribute, (model, value_type) in TABLES.items():
        fields = tuple(value_type.__dataclass_fields__)
        rows = session.execute(
            select(*(getattr(model, name) for name in fields)).where(model.version_id == version_id)
        )
        tables[attribute] = tuple(value_type(**dict(zip(fields, row, strict=False))) for row in rows)
    return ReferenceData(**tables)


def version_exists(session, version_id: str) -> bool:
    return session.get(ReferenceVersion, version_id) is not None


def list_versions(session) -> list[dict]:
    versions = session.scalars(select(ReferenceVersion).order_by(ReferenceVersion.loaded_at.desc()))
    return [
        {
            "id": version.id,
            "loaded_at": version.loaded_at.isoformat(),
            "source": version.source,
            "active": version.active,
            "checksum": version.checksum,
            "counts": version.counts or {},
        }
        for version in versions
    ]


# ---- loading a new version ------------------------------------------------------------------


@dataclass
class LoadOutcome:
    version_id: str | None
    previous_version_id: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return self.version_id is not None


def apply_reference(session, clock, dataset: ReferenceDataset, provinces: dict, comuni: dict) -> LoadOutcome:
    """Store ``dataset`` as a new version and make it active, unless a check fails: then
    nothing is written and the problems are returned."""
    loaded_at = clock.now()
    problems = dataset.problems or check_reference(dataset.data, provinces, comuni, rome_date(loaded_at))
    if problems:
        return LoadOutcome(None, problems=problems)
    # Two loads at once would both try to become active: the second waits for the first.
    session.execute(text("LOCK TABLE reference_versions IN SHARE ROW EXCLUSIVE MODE"))
    previous = active_version_id(session)
    version_id = new_version_id(dataset, loaded_at)
    session.add(
        ReferenceVersion(
            id=version_id,
            loaded_at=loaded_at,
            source=dataset.source,
            active=False,
            checksum=dataset.checksum,
            counts=dataset.data.counts(),
        )
    )
    session.flush()
    for attribute, (model, _) in TABLES.items():
        rows = [{"version_id": version_id, **row.as_dict()} for row in getattr(dataset.data, attribute)]
        if rows:
            session.execute(insert(model), rows)
    # Deactivate before activating: the partial unique index allows one active row.
    session.execute(update(ReferenceVersion).where(ReferenceVersion.active).values(active=False))
    session.execute(update(ReferenceVersion).where(ReferenceVersion.id == version_id).values(active=True))
    return LoadOutcome(version_id, previous_version_id=previous)


def new_version_id(dataset: ReferenceDataset, loaded_at) -> str:
    kind = "sample" if dataset.is_sample else "import"
    return f"{kind}-{loaded_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
