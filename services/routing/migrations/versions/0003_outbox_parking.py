"""routing: outbox rows that cannot be published are parked; a request's events stay in order

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.migrations import add_outbox_parking, drop_outbox_parking

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    add_outbox_parking(op)


def downgrade():
    drop_outbox_parking(op)
