"""Notify's tables: the contacts projected from ``request_submitted`` and every delivery."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint, text
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


class RequestContact(Base):
    """Where to reach the requester of a request, as stated at submission."""

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
