"""intake: the region of the assigned sede as a column (directors' scope, as SQL)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("requests", sa.Column("assigned_region", sa.String(60), nullable=True))
    op.execute("UPDATE requests SET assigned_region = assignment ->> 'region' WHERE assignment ? 'region'")
    op.create_index("ix_requests_assigned_region", "requests", ["assigned_region"])


def downgrade():
    op.drop_index("ix_requests_assigned_region", table_name="requests")
    op.drop_column("requests", "assigned_region")
