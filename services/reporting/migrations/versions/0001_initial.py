"""reporting: request facts read model, outbox/inbox

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
        "request_facts",
        sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("protocol", sa.String(40), nullable=True),
        sa.Column("subject", sa.String(60), nullable=True, index=True),
        sa.Column("origin", sa.String(20), nullable=True, index=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("sla_days", sa.Integer(), nullable=True),
        sa.Column("area", sa.String(40), nullable=True),
        sa.Column("assignment_kind", sa.String(20), nullable=True),
        sa.Column("sede_code", sa.String(20), nullable=True, index=True),
        sa.Column("sede_name", sa.String(200), nullable=True),
        sa.Column("state", sa.String(20), nullable=True, index=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    for table in ("request_facts", "processed_events", "outbox"):
        op.drop_table(table)
