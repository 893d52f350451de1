"""reporting: request lifecycle facts, outbound and contact-center messages

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INSTANTS = ("taken_at", "first_answer_at", "subject_changed_at", "last_event_at")
COUNTERS = ("answers", "followups", "reminders")


def upgrade():
    op.add_column("request_facts", sa.Column("catalog_version", sa.String(40), nullable=True))
    for name in INSTANTS:
        op.add_column("request_facts", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    for name in COUNTERS:
        op.add_column("request_facts", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.add_column("request_facts", sa.Column("outcome", sa.Text(), nullable=True))
    op.add_column(
        "request_facts", sa.Column("booking_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index("ix_request_facts_last_event_at", "request_facts", ["last_event_at"])
    op.create_table(
        "outbound_messages",
        sa.Column("message_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("sede", sa.String(20), nullable=False, index=True),
        sa.Column("recipient_kind", sa.String(20), nullable=False),
        sa.Column("matricola", sa.String(40), nullable=True),
        sa.Column("codice_fiscale", sa.String(40), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        "contact_center_messages",
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("matricola", sa.String(40), nullable=True),
        sa.Column("codice_fiscale", sa.String(40), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade():
    op.drop_table("contact_center_messages")
    op.drop_table("outbound_messages")
    op.drop_index("ix_request_facts_last_event_at", table_name="request_facts")
    for name in ("catalog_version", *INSTANTS, *COUNTERS, "outcome", "booking_enabled"):
        op.drop_column("request_facts", name)
