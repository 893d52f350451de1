"""Routing's tables: reference versions, their sedi, and the decisions taken."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text, text
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


class SedeRow(Base):
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


class RoutingDecision(Base):
    __tablename__ = "routing_decisions"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    rule: Mapped[str] = mapped_column(String(80))
    inputs: Mapped[dict] = mapped_column(JSONB)
    assignment: Mapped[dict] = mapped_column(JSONB)
    reference_version: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
