"""Reporting's read model, built only from events: one row of facts per request, and one
row per outbound or contact-center message."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RequestFact(Base):
    """What the dashboard needs about a request.

    Events may arrive in any order, so a row may be partial: an event seen before
    ``request_submitted`` leaves the submission columns NULL until the submission arrives
    (and ``state`` NULL too, unless that event was itself a state change).
    """

    __tablename__ = "request_facts"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    catalog_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
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
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    followups: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # when the subject last changed: a submission or an older change arriving late must not undo it
    subject_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    booking_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class OutboundMessage(Base):
    """A proactive message a sede sent to a company, intermediary or patronato."""

    __tablename__ = "outbound_messages"

    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    sede: Mapped[str] = mapped_column(String(20), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    matricola: Mapped[str | None] = mapped_column(String(40), nullable=True)
    codice_fiscale: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ContactCenterMessage(Base):
    """An inbound fax or outbound contact-center message, as recorded by intake."""

    __tablename__ = "contact_center_messages"

    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    matricola: Mapped[str | None] = mapped_column(String(40), nullable=True)
    codice_fiscale: Mapped[str | None] = mapped_column(String(40), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AppointmentFact(Base):
    """One row per booking (agenda's events): where, how, and how it ended."""

    __tablename__ = "appointment_facts"

    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sede: Mapped[str] = mapped_column(String(10), index=True)
    region: Mapped[str | None] = mapped_column(String(60), nullable=True)
    modality: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(60))
    slot_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # confirmed, then one of held | no_show | cancelled_by_requester | cancelled_by_office
    state: Mapped[str] = mapped_column(String(30))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
