"""intake: outbox parking; when an unrouted request's submission was last re-sent

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from shared.migrations import add_outbox_parking, drop_outbox_parking

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    add_outbox_parking(op)
    op.add_column("requests", sa.Column("resubmitted_at", sa.DateTime(timezone=True), nullable=True))
    # the sweep's question, cheap on millions of requests: the few still waiting for routing
    op.create_index(
        "ix_requests_unrouted", "requests", ["created_at"], postgresql_where=sa.text("routed_at IS NULL")
    )


def downgrade():
    op.drop_index("ix_requests_unrouted", "requests")
    op.drop_column("requests", "resubmitted_at")
    drop_outbox_parking(op)
