"""Reporting's read model: one row of facts per request, built only from events."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RequestFact(Base):
    """What the dashboard needs about a request.

    Events may arrive in any order, so a row may be partial: a ``request_routed`` seen
    before ``request_submitted`` leaves the submission columns (and ``state``) NULL until
    the submission arrives.
    """

    __tablename__ = "request_facts"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    origin: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sla_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    area: Mapped[str | None] = mapped_column(String(40), nullable=True)
    assignment_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sede_code: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    sede_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
