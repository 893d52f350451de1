"""notify: the Direzioni regionali's addresses, where the monthly reports are sent

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "regional_directorates",
        sa.Column("region", sa.String(60), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
    )


def downgrade():
    op.drop_table("regional_directorates")
