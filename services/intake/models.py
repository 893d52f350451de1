"""Intake's tables: requests, their attachments and their state history; which columns of
a request hold the facts the access policy reads."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Sequence, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared import access


class Base(DeclarativeBase):
    pass


protocol_sequence = Sequence("request_protocol_seq", metadata=Base.metadata)
PLACE_AND_STATE = ["assigned_sede", "assigned_region", "state", "origin"]


class Request(Base):
    __tablename__ = "requests"
    # the searches' indexes (migration 0010): a scope or filter, then the order of every list,
    # with the columns the searches also filter on included (read without visiting the table)
    __table_args__ = tuple(
        Index(f"ix_requests_{name}", *columns, sql_text("updated_at DESC"), "id", postgresql_include=included)
        for name, columns, included in (
            ("updated", (), []),
            ("state_updated", ("state",), ["origin"]),
            ("sede_updated", ("assigned_sede",), ["state", "origin", "assigned_queue"]),
            ("sede_state_updated", ("assigned_sede", "state"), ["origin", "assigned_queue"]),
            ("region_updated", ("assigned_region",), ["state", "origin", "assigned_kind"]),
            ("region_state_updated", ("assigned_region", "state"), ["origin", "assigned_kind"]),
            ("matricola_updated", ("matricola",), PLACE_AND_STATE),
            ("consulente_updated", ("consulente_codice_fiscale",), PLACE_AND_STATE),
            ("citizen_updated", ("citizen_codice_fiscale",), PLACE_AND_STATE),
            ("patronato_updated", ("patronato_ente", "patronato_ufficio"), ["state", "origin"]),
        )
    ) + (
        Index(
            "ix_requests_subject_created",
            "subject_code",
            "created_at",
            postgresql_include=["updated_at", "id", *PLACE_AND_STATE],
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(40), unique=True)
    origin: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    profile: Mapped[str] = mapped_column(String(30))
    subject_code: Mapped[str] = mapped_column(String(60))
    catalog_version: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(40))
    # the CRIC section a referente regionale's question (or a scheda Linea INPS) concerns
    cric_section: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # the region a contact-center scheda Linea INPS names (its CRIC's)
    stated_region: Mapped[str | None] = mapped_column(String(60), nullable=True)
    sla_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: outbound, not measured
    text: Mapped[str] = mapped_column(Text)
    case_identifier: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    citizen_codice_fiscale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    citizen_cap: Mapped[str | None] = mapped_column(String(5), nullable=True)
    matricola: Mapped[str | None] = mapped_column(String(10), nullable=True)
    patronato_ente: Mapped[str | None] = mapped_column(String(20), nullable=True)
    patronato_ufficio: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contacts: Mapped[dict] = mapped_column(JSONB, default=dict)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("requests.id"), nullable=True, index=True
    )
    requester_sub: Mapped[str] = mapped_column(String(100), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_role: Mapped[str] = mapped_column(String(30), default="")
    # the intermediary (consulente) who wrote, for the officials' "by consulente" queue
    consulente_codice_fiscale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    external_message_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    first_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answers_count: Mapped[int] = mapped_column(Integer, default=0)
    followups_count: Mapped[int] = mapped_column(Integer, default=0)
    reminders_count: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    booking_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    assignment: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    assigned_sede: Mapped[str | None] = mapped_column(String(10), nullable=True)
    assigned_region: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # the work queue inside the structure (area, or CRIC section) and the kind of place
    assigned_queue: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    assigned_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # last time the unrouted-request sweep re-sent request_submitted (services/intake/sweep.py)
    resubmitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="request", order_by="Attachment.created_at"
    )
    state_changes: Mapped[list[StateChange]] = relationship(order_by="StateChange.id")
    messages: Mapped[list[Message]] = relationship(order_by="Message.at")


# The access policy's ownership facts and the columns that hold them: one mapping builds
# both the facts of a loaded request and the SQL filter of a search (views.py).
OWNERSHIP_COLUMNS = {
    "origin": Request.origin,
    "requester": Request.requester_sub,
    "patronato_ente": Request.patronato_ente,
    "patronato_ufficio": Request.patronato_ufficio,
    "matricola": Request.matricola,
    "consulente": Request.consulente_codice_fiscale,
    "assigned_sede": Request.assigned_sede,
    "assigned_region": Request.assigned_region,
    "area": Request.area,
    "assigned_queue": Request.assigned_queue,
    "assigned_kind": Request.assigned_kind,
}


def ownership(request: Request) -> access.Ownership:
    """The facts of a request the access policy looks at."""
    return access.Ownership(
        **{fact: getattr(request, column.key) for fact, column in OWNERSHIP_COLUMNS.items()}
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("requests.id"), nullable=True, index=True
    )
    owner_sub: Mapped[str] = mapped_column(String(100), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # cassetto files are stored together in one archive; the single files are then purged.
    # An upload never used is marked purged when the purge takes it (no longer claimable)
    # and its row deleted once its object is gone (use_cases/attachments.py).
    bundled_into: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    request: Mapped[Request | None] = relationship(back_populates="attachments")


class StateChange(Base):
    __tablename__ = "state_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("requests.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # what happened (aggregate.STEP_*); null for rows recorded before migration 0005
    step: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # a change of subject: {"old_subject": ..., "new_subject": ...}
    details: Mapped[dict | None] = mapped_column(JSONB, nullable=True)


class Message(Base):
    """One item of a request's thread after the opening text: answers, follow-ups, reminders."""

    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # answer | followup | reminder
    author: Mapped[str] = mapped_column(String(100))
    author_role: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReferenteGrant(Base):
    """The referente regionale profile granted by a patronato's amministratore to one of its operators."""

    __tablename__ = "referente_grants"

    patronato_ente: Mapped[str] = mapped_column(String(20), primary_key=True)
    operator_sub: Mapped[str] = mapped_column(String(100), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CrmLookup(Base):
    """One look-up of a citizen's or a company's conversations across sedi (the CRM view,
    msg 3813/2021): who looked, when, at whose data, how many were shown. Append-only: the
    service only inserts, and the database refuses any update or delete (migration 0008)."""

    __tablename__ = "crm_lookups"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor_sub: Mapped[str] = mapped_column(String(100), index=True)
    actor_role: Mapped[str] = mapped_column(String(30))
    actor_sede: Mapped[str | None] = mapped_column(String(10), nullable=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # codice_fiscale | matricola
    subject_value: Mapped[str] = mapped_column(String(16), index=True)
    results: Mapped[int] = mapped_column(Integer)
