"""notify: deliveries are queued with their text and sent by a dispatcher with leases and retries

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
    op.add_column("deliveries", sa.Column("body", sa.Text(), nullable=True))
    op.add_column("deliveries", sa.Column("attachments", postgresql.JSONB(), nullable=True))
    op.add_column("deliveries", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("deliveries", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("ck_deliveries_status", "deliveries", type_="check")
    op.create_check_constraint(
        "ck_deliveries_status", "deliveries", "status IN ('queued', 'sent', 'failed', 'skipped')"
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )


def downgrade():
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    # a delivery still waiting cannot be described by the old states: it was never sent
    op.execute(
        "UPDATE deliveries SET status = 'failed', error = 'non inviato prima del downgrade'"
        " WHERE status = 'queued'"
    )
    op.drop_constraint("ck_deliveries_status", "deliveries", type_="check")
    op.create_check_constraint(
        "ck_deliveries_status", "deliveries", "status IN ('sent', 'failed', 'skipped')"
    )
    for column in ("next_attempt_at", "attempts", "attachments", "body"):
        op.drop_column("deliveries", column)
