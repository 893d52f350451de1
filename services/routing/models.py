"""Routing's tables: reference versions with their rows, and the decisions taken.

Every reference table holds the rows of every version (``version_id``) with their
effective period; nothing is ever updated in place, so any past decision can be replayed
on the version it used.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ReferenceVersion(Base):
    """One load of the reference data. At most one is active (partial unique index)."""

    __tablename__ = "reference_versions"
    __table_args__ = (
        Index("ux_reference_versions_active", "active", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    checksum: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict] = mapped_column(JSONB, default=dict)


class EffectiveRow:
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)


class SedeRow(EffectiveRow, Base):
    """A sede as it is in one reference version (the same code may change between versions)."""

    __tablename__ = "sedi"

    version_id: Mapped[str] = mapped_column(String(80), ForeignKey("reference_versions.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(50))
    parent_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    region: Mapped[str] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(2), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)


class VersionedRow(EffectiveRow):
    """Rows whose key may repeat within a version, in different periods."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    version_id: Mapped[str] = mapped_column(String(80), ForeignKey("reference_versions.id"), index=True)


class SedeComuneRow(VersionedRow, Base):
    __tablename__ = "sede_comuni"

    sede_code: Mapped[str] = mapped_column(String(4))
    codice_catastale: Mapped[str] = mapped_column(String(4))
    comune: Mapped[str] = mapped_column(String(200))


class CricRow(VersionedRow, Base):
    __tablename__ = "cric"

    code: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str] = mapped_column(String(4))
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)


class SubjectRow(VersionedRow, Base):
    __tablename__ = "subjects"

    code: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(300))
    area: Mapped[str] = mapped_column(String(100))
    cric_section: Mapped[str] = mapped_column(String(100))


class PoloRow(VersionedRow, Base):
    __tablename__ = "poli"

    subject: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sede_code: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(200))


class PatronatoOfficeRow(VersionedRow, Base):
    __tablename__ = "patronato_offices"

    ente: Mapped[str] = mapped_column(String(20))
    ufficio: Mapped[str] = mapped_column(String(20))
    province: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200))


class CompanyRow(VersionedRow, Base):
    __tablename__ = "companies"

    matricola: Mapped[str] = mapped_column(String(10))
    sede_code: Mapped[str] = mapped_column(String(4))


class MatricolaPrefixRow(VersionedRow, Base):
    __tablename__ = "matricola_prefixes"

    prefix: Mapped[str] = mapped_column(String(2))
    province: Mapped[str] = mapped_column(String(2))


class RoutingDecision(Base):
    """One decision about a request: the first on submission, then one per re-routing or
    manual reassignment (``sequence`` 1, 2, ...). The last is the current assignment."""

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ux_routing_decisions_request_sequence", "request_id", "sequence", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sequence: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(40))  # request_submitted | request_subject_changed | manual
    rule: Mapped[str] = mapped_column(String(80))
    inputs: Mapped[dict] = mapped_column(JSONB)
    assignment: Mapped[dict] = mapped_column(JSONB)
    reference_version: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    request: Mapped[dict] = mapped_column(JSONB)  # the facts the rules looked at
    rule_chain: Mapped[list] = mapped_column(JSONB)
    effective_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    emitted: Mapped[bool] = mapped_column(Boolean, default=True)  # request_routed sent for it
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)  # what triggered it


class RequestState(Base):
    """Whether a request is closed, as intake's events say (``request_closed``, and a
    follow-up that reopens it): routing refuses to move a closed request. A request with no
    row is open. ``changed_at`` is the moment of the event applied last; an older event
    arriving late changes nothing."""

    __tablename__ = "request_states"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    closed: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
