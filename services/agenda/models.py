"""Agenda's tables: what it knows of each request to decide whether booking is allowed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class BookingEligibility(Base):
    """Projected from events (never by asking intake).

    ``interactions`` counts the further interactions used after the first answer (at most 2);
    ``booking_enabled`` is set when the official enables booking on closing. Events may
    arrive before ``request_submitted``: until it arrives, ``requester``, ``origin`` and
    ``submitted_at`` are NULL and the request is not yet known to the eligibility query.
    """

    __tablename__ = "booking_eligibility"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    requester: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    origin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    interactions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    booking_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
