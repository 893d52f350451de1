"""Reporting's read model, built only from events: one row of facts per request, and one
row per outbound or contact-center message."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
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
    __table_args__ = (
        # the list behind a cell of the dashboard: one sede's or one region's requests by day
        Index("ix_request_facts_sede_submitted", "sede_code", "submitted_at"),
        Index("ix_request_facts_region_submitted", "region", "submitted_at"),
    )

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
    # the region of the structure routing assigned the request to (None for triage)
    region: Mapped[str | None] = mapped_column(String(60), nullable=True)
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
    """One row per booking (agenda's events): where, how, when it was booked, how it ended."""

    __tablename__ = "appointment_facts"
    __table_args__ = (
        # Customer Care: the appointments of a period (slot days), nationally, by region, by sede
        Index("ix_appointment_facts_slot_day", "slot_day"),
        Index("ix_appointment_facts_sede_slot_day", "sede", "slot_day"),
        Index("ix_appointment_facts_region_slot_day", "region", "slot_day"),
    )

    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sede: Mapped[str] = mapped_column(String(10), index=True)
    region: Mapped[str | None] = mapped_column(String(60), nullable=True)
    modality: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(60))
    slot_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    slot_day: Mapped[date] = mapped_column(Date)  # of slot_start, in Rome
    # confirmed, then one of held | no_show | cancelled_by_requester | cancelled_by_office
    state: Mapped[str] = mapped_column(String(30))
    # the instant of whichever appointment event arrived first
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # from appointment_booked only (None until it arrives): the day the citizen booked
    booked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    booked_day: Mapped[date | None] = mapped_column(Date, nullable=True)  # of booked_at, in Rome


class SubjectChange(Base):
    """One change of subject ("cambio oggetto per lavorazione") of a request."""

    __tablename__ = "subject_changes"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    from_subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    to_subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    to_sla_days: Mapped[int] = mapped_column(Integer)


class Sede(Base):
    """A structure requests are assigned to, as routing's decisions name it: its region
    places it in the drill-down (national → region → sede)."""

    __tablename__ = "sedi"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # sede | cric | polo
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---- aggregates (services/reporting/aggregates.py): sums of services/reporting/rules/cells.py


class DailyRequestCount(Base):
    """Requests by day of submission (Rome), placement, subject and threshold, origin: how
    many are open, closed within the threshold, closed late, and their closing days."""

    __tablename__ = "daily_request_counts"
    __table_args__ = (
        Index("ix_daily_request_counts_sede_day", "sede", "day"),
        Index("ix_daily_request_counts_region_day", "region", "day"),
        # the backlog reads the cells that still hold open requests
        Index("ix_daily_request_counts_open", "day", postgresql_where=text("open_requests > 0")),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    placement: Mapped[str] = mapped_column(String(10), primary_key=True)
    sede: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(60), primary_key=True)
    subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    sla_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(20), primary_key=True)
    open_requests: Mapped[int] = mapped_column(Integer, default=0)
    closed_within: Mapped[int] = mapped_column(Integer, default=0)
    closed_late: Mapped[int] = mapped_column(Integer, default=0)
    closing_days: Mapped[int] = mapped_column(BigInteger, default=0)


class MonthlyRequestCount(Base):
    """``daily_request_counts`` summed by month (``month``: its first day), kept with it: the
    dashboard reads a month from here once the month is settled (every request of it closed
    or past its threshold, ``rules.periods.split_period``), so a year is about a dozen rows
    per cell instead of some 250."""

    __tablename__ = "monthly_request_counts"
    __table_args__ = (
        Index("ix_monthly_request_counts_sede_month", "sede", "month"),
        Index("ix_monthly_request_counts_region_month", "region", "month"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    placement: Mapped[str] = mapped_column(String(10), primary_key=True)
    sede: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(60), primary_key=True)
    subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    sla_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(20), primary_key=True)
    open_requests: Mapped[int] = mapped_column(Integer, default=0)
    closed_within: Mapped[int] = mapped_column(Integer, default=0)
    closed_late: Mapped[int] = mapped_column(Integer, default=0)
    closing_days: Mapped[int] = mapped_column(BigInteger, default=0)


class SubjectChangeCount(Base):
    """Changes of subject by day of the change (Rome), placement, from and to subject."""

    __tablename__ = "subject_change_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    placement: Mapped[str] = mapped_column(String(10), primary_key=True)
    sede: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(60), primary_key=True)
    from_subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    to_subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    changes: Mapped[int] = mapped_column(Integer, default=0)


class MonthlyReport(Base):
    """The monthly report of a Direzione regionale (msg 2614/2018): produced once per region
    and month (the unique pair is the claim two instances race for), its files in object
    storage, its figures as they were when produced."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("region", "month", name="uq_monthly_reports_region_month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    region: Mapped[str] = mapped_column(String(60))
    month: Mapped[str] = mapped_column(String(7))  # AAAA-MM
    state: Mapped[str] = mapped_column(String(12))  # generating | published
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    figures: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    files: Mapped[list | None] = mapped_column(JSONB, nullable=True)
