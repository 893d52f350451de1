"""agenda: booking eligibility projection, outbox/inbox

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
        "booking_eligibility",
        sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("requester", sa.String(100), nullable=False, index=True),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interactions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("booking_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    for table in ("booking_eligibility", "processed_events", "outbox"):
        op.drop_table(table)
