"""Agenda's tables: what it knows of each request to decide whether booking is allowed (a
projection of intake's and routing's events), the punti di consulenza (versioned reference
data) with the calendars their offices set, the bookings, and the reminders already emitted.

Two rules are enforced by the database itself, so that concurrent bookings cannot break them:
a slot of a punto holds one confirmed booking (partial unique index on ``bookings``), and a
requester holds one confirmed booking per citizen and topic (partial unique index on
``booking_citizens``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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
    # a follow-up reopened the request after a closing with the first answer (msg 3813/2021)
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # who may see the request (shared.access.Ownership), and where it was routed
    patronato_ente: Mapped[str | None] = mapped_column(String(20), nullable=True)
    patronato_ufficio: Mapped[str | None] = mapped_column(String(20), nullable=True)
    matricola: Mapped[str | None] = mapped_column(String(20), nullable=True)
    codice_fiscale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    area: Mapped[str | None] = mapped_column(String(60), nullable=True)
    assigned_sede: Mapped[str | None] = mapped_column(String(10), nullable=True)
    assigned_region: Mapped[str | None] = mapped_column(String(60), nullable=True)
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReferenceVersion(Base):
    """A loaded set of punti di consulenza; one is active at a time."""

    __tablename__ = "punti_versions"
    __table_args__ = (
        Index("uq_punti_versions_active", "active", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(String(300))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    punti_count: Mapped[int] = mapped_column(Integer)


class Punto(Base):
    """A punto di consulenza (sede, agenzia, sportello) of a sede, as in one reference version."""

    __tablename__ = "punti"

    version_id: Mapped[int] = mapped_column(ForeignKey("punti_versions.id"), primary_key=True)
    punto_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    sede: Mapped[str] = mapped_column(String(10), index=True)
    region: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    comune: Mapped[str] = mapped_column(String(100))
    modalities: Mapped[list] = mapped_column(JSONB)
    topics: Mapped[list] = mapped_column(JSONB)
    weekly: Mapped[str] = mapped_column(String(500))
    slot_minutes: Mapped[int] = mapped_column(Integer)
    patron_day: Mapped[str | None] = mapped_column(String(5), nullable=True)  # MM-DD


class PuntoCalendar(Base):
    """The weekly pattern and slot length the sede's officials set for a punto (else the
    reference data's)."""

    __tablename__ = "punto_calendars"

    punto_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    weekly: Mapped[str] = mapped_column(String(500))
    slot_minutes: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarException(Base):
    """A closure (whole day, or hours) or an extra opening of a punto on one day."""

    __tablename__ = "calendar_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    punto_id: Mapped[str] = mapped_column(String(20), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    hours: Mapped[str | None] = mapped_column(String(11), nullable=True)  # HH:MM-HH:MM
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # no double booking: one confirmed booking per slot of a punto, whatever the race
        Index(
            "uq_bookings_confirmed_slot",
            "punto_id",
            "slot_start",
            unique=True,
            postgresql_where=text("state = 'confirmed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    punto_id: Mapped[str] = mapped_column(String(20))
    punto_name: Mapped[str] = mapped_column(String(200))
    punto_address: Mapped[str] = mapped_column(String(300))
    sede: Mapped[str] = mapped_column(String(10), index=True)
    region: Mapped[str] = mapped_column(String(60))
    slot_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    slot_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    modality: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(30))
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    booked_by: Mapped[str] = mapped_column(String(100), index=True)
    booked_by_role: Mapped[str] = mapped_column(String(30))
    booked_by_name: Mapped[str] = mapped_column(String(200), default="")
    matricola: Mapped[str | None] = mapped_column(String(20), nullable=True)
    motivazione: Mapped[str] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    attachment_ids: Mapped[list] = mapped_column(JSONB, default=list)
    room_token: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    rescheduled_from: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    citizens: Mapped[list[BookingCitizen]] = relationship(
        back_populates="booking",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="BookingCitizen.position",
    )


class BookingCitizen(Base):
    """A citizen of a booking; carries the booking's requester, topic and state so that one
    index forbids two confirmed bookings of a requester for the same citizen and topic."""

    __tablename__ = "booking_citizens"
    __table_args__ = (
        Index(
            "uq_booking_citizens_confirmed",
            "booked_by",
            "codice_fiscale",
            "topic",
            unique=True,
            postgresql_where=text("state = 'confirmed'"),
        ),
    )

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    codice_fiscale: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    booked_by: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(30))

    booking: Mapped[Booking] = relationship(back_populates="citizens")


class ReminderEmitted(Base):
    """One row per (booking, lead time): the reminder was emitted (through the outbox, in the
    same transaction). The primary key makes two racing timers emit it once."""

    __tablename__ = "reminders_emitted"

    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    lead_minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    emitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
