"""notify: request contacts, deliveries, outbox/inbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_kernel_tables(op)
    op.create_table(
        "request_contacts",
        sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("protocol", sa.String(40), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("sms", sa.String(40), nullable=True),
        sa.Column("subject", sa.String(60), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=True),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("subject_line", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("event_id", "channel", name="uq_deliveries_event_channel"),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_deliveries_channel"),
        sa.CheckConstraint("status IN ('sent', 'failed', 'skipped')", name="ck_deliveries_status"),
    )


def downgrade():
    for table in ("deliveries", "request_contacts", "processed_events", "outbox"):
        op.drop_table(table)
