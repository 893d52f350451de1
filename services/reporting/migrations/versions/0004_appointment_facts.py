"""reporting: one row per booking, from agenda's appointment events

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


def upgrade():
    op.create_table(
        "appointment_facts",
        sa.Column("booking_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("sede", sa.String(10), nullable=False, index=True),
        sa.Column("region", sa.String(60), nullable=True),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("appointment_facts")
