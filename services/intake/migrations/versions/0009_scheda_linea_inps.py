"""intake: the region a contact-center scheda Linea INPS names (routed to that region's CRIC)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("requests", sa.Column("stated_region", sa.String(60), nullable=True))


def downgrade():
    op.drop_column("requests", "stated_region")
