"""agenda: punti di consulenza (versioned), calendars and exceptions, bookings with the
database's guard against double booking, reminders emitted; eligibility learns ownership,
routing and reopening

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ELIGIBILITY_COLUMNS = {
    "reopened_at": sa.DateTime(timezone=True),
    "patronato_ente": sa.String(20),
    "patronato_ufficio": sa.String(20),
    "matricola": sa.String(20),
    "codice_fiscale": sa.String(16),
    "area": sa.String(60),
    "assigned_sede": sa.String(10),
    "assigned_region": sa.String(60),
    "routed_at": sa.DateTime(timezone=True),
}
UUID = postgresql.UUID(as_uuid=True)
INSTANT = sa.DateTime(timezone=True)


def upgrade():
    for name, type_ in ELIGIBILITY_COLUMNS.items():
        op.add_column("booking_eligibility", sa.Column(name, type_, nullable=True))

    op.create_table(
        "punti_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("label", sa.String(100), nullable=False, unique=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("loaded_at", INSTANT, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("punti_count", sa.Integer(), nullable=False),
    )
    # at most one active version
    op.create_index(
        "uq_punti_versions_active",
        "punti_versions",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "punti",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("punti_versions.id"), primary_key=True),
        sa.Column("punto_id", sa.String(20), primary_key=True),
        sa.Column("sede", sa.String(10), nullable=False, index=True),
        sa.Column("region", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("comune", sa.String(100), nullable=False),
        sa.Column("modalities", postgresql.JSONB(), nullable=False),
        sa.Column("topics", postgresql.JSONB(), nullable=False),
        sa.Column("weekly", sa.String(500), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("patron_day", sa.String(5), nullable=True),
    )
    op.create_table(
        "punto_calendars",
        sa.Column("punto_id", sa.String(20), primary_key=True),
        sa.Column("weekly", sa.String(500), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
    )
    op.create_table(
        "calendar_exceptions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("punto_id", sa.String(20), nullable=False, index=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("hours", sa.String(11), nullable=True),
        sa.Column("reason", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
    )
    op.create_table(
        "bookings",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("punto_id", sa.String(20), nullable=False),
        sa.Column("punto_name", sa.String(200), nullable=False),
        sa.Column("punto_address", sa.String(300), nullable=False),
        sa.Column("sede", sa.String(10), nullable=False, index=True),
        sa.Column("region", sa.String(60), nullable=False),
        sa.Column("slot_start", INSTANT, nullable=False, index=True),
        sa.Column("slot_end", INSTANT, nullable=False),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("request_id", UUID, nullable=True),
        sa.Column("booked_by", sa.String(100), nullable=False, index=True),
        sa.Column("booked_by_role", sa.String(30), nullable=False),
        sa.Column("booked_by_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("matricola", sa.String(20), nullable=True),
        sa.Column("motivazione", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("contact_phone", sa.String(20), nullable=True),
        sa.Column("attachment_ids", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("room_token", sa.String(64), nullable=True, unique=True),
        sa.Column("rescheduled_from", UUID, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("cancelled_at", INSTANT, nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("outcome_at", INSTANT, nullable=True),
        sa.Column("outcome_by", sa.String(100), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
    )
    op.create_index(
        "uq_bookings_confirmed_slot",
        "bookings",
        ["punto_id", "slot_start"],
        unique=True,
        postgresql_where=sa.text("state = 'confirmed'"),
    )
    op.create_table(
        "booking_citizens",
        sa.Column("booking_id", UUID, sa.ForeignKey("bookings.id"), primary_key=True),
        sa.Column("codice_fiscale", sa.String(16), primary_key=True, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("booked_by", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
    )
    op.create_index(
        "uq_booking_citizens_confirmed",
        "booking_citizens",
        ["booked_by", "codice_fiscale", "topic"],
        unique=True,
        postgresql_where=sa.text("state = 'confirmed'"),
    )
    op.create_table(
        "reminders_emitted",
        sa.Column("booking_id", UUID, primary_key=True),
        sa.Column("lead_minutes", sa.Integer(), primary_key=True),
        sa.Column("emitted_at", INSTANT, nullable=False),
    )


def downgrade():
    for table in (
        "reminders_emitted",
        "booking_citizens",
        "bookings",
        "calendar_exceptions",
        "punto_calendars",
        "punti",
        "punti_versions",
    ):
        op.drop_table(table)
    for name in ELIGIBILITY_COLUMNS:
        op.drop_column("booking_eligibility", name)
