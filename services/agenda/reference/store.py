"""Versions of the punti di consulenza: each load is a new version, activated in the same
transaction (the previous one is kept, inactive). Bookings and calendars name a punto by its
``punto_id``, which stays the same across versions."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import func, select, update

from services.agenda.models import Punto, ReferenceVersion
from services.agenda.reference.dataset import PuntoRecord


def apply_punti(session, records: list[PuntoRecord], source: str, now) -> ReferenceVersion:
    """Store ``records`` as a new version and make it the active one."""
    number = (session.scalar(select(func.count()).select_from(ReferenceVersion)) or 0) + 1
    session.execute(update(ReferenceVersion).where(ReferenceVersion.active).values(active=False))
    version = ReferenceVersion(
        label=f"punti-{now:%Y%m%d%H%M%S}-{number}",
        source=source[:300],
        loaded_at=now,
        active=True,
        punti_count=len(records),
    )
    session.add(version)
    session.flush()
    for record in records:
        values = asdict(record)
        values["modalities"], values["topics"] = list(record.modalities), list(record.topics)
        session.add(Punto(version_id=version.id, **values))
    session.flush()
    return version


def active_version_id(session) -> int | None:
    return session.scalar(select(ReferenceVersion.id).where(ReferenceVersion.active))


def versions(session) -> list[ReferenceVersion]:
    return session.scalars(select(ReferenceVersion).order_by(ReferenceVersion.id)).all()
