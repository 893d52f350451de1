"""routing: reference versions, sedi, routing decisions, outbox/inbox

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
        "reference_versions",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("checksum", sa.String(64), nullable=False),
    )
    # At most one active version: activating a new one must deactivate the old first.
    op.create_index(
        "ux_reference_versions_active",
        "reference_versions",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "sedi",
        sa.Column("version_id", sa.String(80), sa.ForeignKey("reference_versions.id"), primary_key=True),
        sa.Column("code", sa.String(4), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("parent_code", sa.String(4), nullable=True),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("province", sa.String(2), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
    )
    op.create_table(
        "routing_decisions",
        sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("assignment", postgresql.JSONB(), nullable=False),
        sa.Column("reference_version", sa.String(80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    for table in ("routing_decisions", "sedi", "reference_versions", "processed_events", "outbox"):
        op.drop_table(table)
