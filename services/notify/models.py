"""Notify's tables: the contacts projected from ``request_submitted`` and every delivery."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CHANNEL_EMAIL = "email"
CHANNEL_SMS = "sms"

STATUS_QUEUED = "queued"  # waiting to be sent (again, after a transient error) by the dispatcher
STATUS_SENT = "sent"
STATUS_FAILED = "failed"  # refused for good (e.g. the mail server rejects the address)
STATUS_SKIPPED = "skipped"  # nothing to send to, or no provider for the channel


class Base(DeclarativeBase):
    pass


class OwnershipColumns:
    """The facts ``shared.access`` decides visibility from (who wrote, for which office,
    company or intermediary): a notice is listed to whoever may see its request."""

    origin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    requester: Mapped[str | None] = mapped_column(String(200), nullable=True)
    patronato_ente: Mapped[str | None] = mapped_column(String(20), nullable=True)
    patronato_ufficio: Mapped[str | None] = mapped_column(String(20), nullable=True)
    matricola: Mapped[str | None] = mapped_column(String(20), nullable=True)
    consulente: Mapped[str | None] = mapped_column(String(16), nullable=True)


class RequestContact(OwnershipColumns, Base):
    """Where to reach the requester of a request (the address given with it, else the token's,
    else the patronato office's registered one) and who may see its notices."""

    __tablename__ = "request_contacts"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    sms: Mapped[str | None] = mapped_column(String(40), nullable=True)
    subject: Mapped[str] = mapped_column(String(60))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One message on one channel for one event (at most one: UNIQUE(event_id, channel)).

    ``request_id`` is NULL for an outbound message from a sede that concerns no request.

    A delivery is written ``queued`` with its whole text in the event's unit of work, and sent
    afterwards by the dispatcher (``dispatch.py``), which leases it (``next_attempt_at``) so
    that no connection is held open across the send; ``attempts`` counts the sends tried.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="uq_deliveries_event_channel"),
        CheckConstraint("channel IN ('email', 'sms')", name="ck_deliveries_channel"),
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'skipped')", name="ck_deliveries_status"),
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'queued'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True, index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(254), nullable=True)
    template: Mapped[str] = mapped_column(String(60))
    subject_line: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [{"filename", "mime_type", "content" (base64)}]: the .ics of an appointment
    attachments: Mapped[list | None] = mapped_column(JSONB, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)  # the e-mail's HTML alternative
    sms_parts: Mapped[int | None] = mapped_column(Integer, nullable=True)  # SMS: messages it takes


class Notice(OwnershipColumns, Base):
    """One entry of the portal's Notifiche inbox (at most one per event), shown to whoever
    may see its request (``shared.access.notice_scope``)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_requester", "requester", "created_at"),
        Index("ix_notices_office", "patronato_ente", "patronato_ufficio", "created_at"),
        Index("ix_notices_matricola", "matricola", "created_at"),
        Index("ix_notices_consulente", "consulente", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True, index=True)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NoticeRead(Base):
    """Who read which notice (read/unread is each reader's own)."""

    __tablename__ = "notice_reads"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    reader: Mapped[str] = mapped_column(String(200), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Preference(Base):
    """A portal user's choice for one kind of notice: e-mail and SMS on or off (the inbox
    always lists it). No row: both on."""

    __tablename__ = "preferences"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean)
    sms: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PatronatoOffice(Base):
    """A patronato office's registered e-mail address: where its requests' notices go when
    neither the request nor the token gives one (reference data, ``python -m
    services.notify.offices load``)."""

    __tablename__ = "patronato_offices"

    ente: Mapped[str] = mapped_column(String(20), primary_key=True)
    ufficio: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))


class RegionalDirectorate(Base):
    """A Direzione regionale's address: where its monthly report is sent (reference data,
    ``python -m services.notify.offices load``)."""

    __tablename__ = "regional_directorates"

    region: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
