"""intake: the replies to a request are found by their parent (chained requests, both ways)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_requests_parent_id", "requests", ["parent_id"])


def downgrade():
    op.drop_index("ix_requests_parent_id", table_name="requests")
