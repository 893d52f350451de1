"""reporting: the monthly rollup of the daily request counts (the dashboard reads settled months
from it), filled from the daily counts already kept

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_request_counts",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("placement", sa.String(10), primary_key=True),
        sa.Column("sede", sa.String(20), primary_key=True),
        sa.Column("region", sa.String(60), primary_key=True),
        sa.Column("subject", sa.String(60), primary_key=True),
        sa.Column("sla_days", sa.Integer(), primary_key=True),
        sa.Column("origin", sa.String(20), primary_key=True),
        sa.Column("open_requests", sa.Integer(), nullable=False),
        sa.Column("closed_within", sa.Integer(), nullable=False),
        sa.Column("closed_late", sa.Integer(), nullable=False),
        sa.Column("closing_days", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_monthly_request_counts_sede_month", "monthly_request_counts", ["sede", "month"])
    op.create_index("ix_monthly_request_counts_region_month", "monthly_request_counts", ["region", "month"])
    # the daily counts kept so far, summed (the same as `python -m services.reporting rebuild`)
    op.execute(
        """
        INSERT INTO monthly_request_counts
            (month, placement, sede, region, subject, sla_days, origin,
             open_requests, closed_within, closed_late, closing_days)
        SELECT date_trunc('month', day)::date, placement, sede, region, subject, sla_days, origin,
               sum(open_requests), sum(closed_within), sum(closed_late), sum(closing_days)
        FROM daily_request_counts
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        """
    )


def downgrade():
    op.drop_table("monthly_request_counts")
