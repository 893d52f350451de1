"""reporting: monthly reports per Direzione regionale

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_reports",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("region", sa.String(60), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("figures", postgresql.JSONB(), nullable=True),
        sa.Column("files", postgresql.JSONB(), nullable=True),
        sa.UniqueConstraint("region", "month", name="uq_monthly_reports_region_month"),
    )


def downgrade():
    op.drop_table("monthly_reports")
