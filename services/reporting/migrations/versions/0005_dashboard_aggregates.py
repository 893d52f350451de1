"""reporting: the dashboard's aggregates (daily request counts, subject changes), the region
of a request and the sedi routing assigns to

Revision ID: 0005
Revises: 0004

The aggregates start empty: ``python -m services.reporting rebuild`` fills them from the read
model (the events applied before this revision are already in it).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def place():
    """Where requests count: a sede (and its region), triage or not yet routed."""
    return [
        sa.Column("placement", sa.String(10), primary_key=True),
        sa.Column("sede", sa.String(20), primary_key=True),
        sa.Column("region", sa.String(60), primary_key=True),
    ]


def upgrade():
    op.add_column("request_facts", sa.Column("region", sa.String(60), nullable=True))
    op.create_index("ix_request_facts_sede_submitted", "request_facts", ["sede_code", "submitted_at"])
    op.create_index("ix_request_facts_region_submitted", "request_facts", ["region", "submitted_at"])
    op.create_table(
        "subject_changes",
        sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("from_subject", sa.String(60), primary_key=True),
        sa.Column("to_subject", sa.String(60), primary_key=True),
        sa.Column("to_sla_days", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sedi",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(60), nullable=True, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "daily_request_counts",
        sa.Column("day", sa.Date(), primary_key=True, index=True),
        *place(),
        sa.Column("subject", sa.String(60), primary_key=True),
        sa.Column("sla_days", sa.Integer(), primary_key=True),
        sa.Column("origin", sa.String(20), primary_key=True),
        sa.Column("open_requests", sa.Integer(), nullable=False),
        sa.Column("closed_within", sa.Integer(), nullable=False),
        sa.Column("closed_late", sa.Integer(), nullable=False),
        sa.Column("closing_days", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_daily_request_counts_sede_day", "daily_request_counts", ["sede", "day"])
    op.create_index("ix_daily_request_counts_region_day", "daily_request_counts", ["region", "day"])
    op.create_index(
        "ix_daily_request_counts_open",
        "daily_request_counts",
        ["day"],
        postgresql_where=sa.text("open_requests > 0"),
    )
    op.create_table(
        "subject_change_counts",
        sa.Column("day", sa.Date(), primary_key=True, index=True),
        *place(),
        sa.Column("from_subject", sa.String(60), primary_key=True),
        sa.Column("to_subject", sa.String(60), primary_key=True),
        sa.Column("changes", sa.Integer(), nullable=False),
    )


def downgrade():
    for table in ("subject_change_counts", "daily_request_counts", "sedi", "subject_changes"):
        op.drop_table(table)
    op.drop_index("ix_request_facts_region_submitted", table_name="request_facts")
    op.drop_index("ix_request_facts_sede_submitted", table_name="request_facts")
    op.drop_column("request_facts", "region")
