"""intake: each history entry says which step it records (a comment given without a change
of state, a change of subject with the subjects)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("state_changes", sa.Column("step", sa.String(30), nullable=True))
    op.add_column("state_changes", sa.Column("details", postgresql.JSONB(), nullable=True))


def downgrade():
    op.drop_column("state_changes", "details")
    op.drop_column("state_changes", "step")
