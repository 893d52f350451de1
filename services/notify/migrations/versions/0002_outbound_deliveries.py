"""notify: deliveries of outbound messages, which may concern no request

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("deliveries", "request_id", existing_type=postgresql.UUID(as_uuid=True), nullable=True)


def downgrade():
    op.execute("DELETE FROM deliveries WHERE request_id IS NULL")
    op.alter_column("deliveries", "request_id", existing_type=postgresql.UUID(as_uuid=True), nullable=False)
