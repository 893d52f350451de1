"""agenda: closing time; rows may come from lifecycle events before the submission

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SUBMISSION_COLUMNS = {
    "requester": sa.String(100),
    "origin": sa.String(20),
    "submitted_at": sa.DateTime(timezone=True),
}


def upgrade():
    op.add_column("booking_eligibility", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    # An answer or a closing may be consumed before the submission: the row exists first,
    # its submission columns arrive later.
    for name, type_ in SUBMISSION_COLUMNS.items():
        op.alter_column("booking_eligibility", name, existing_type=type_, nullable=True)


def downgrade():
    op.execute("DELETE FROM booking_eligibility WHERE submitted_at IS NULL")
    for name, type_ in SUBMISSION_COLUMNS.items():
        op.alter_column("booking_eligibility", name, existing_type=type_, nullable=False)
    op.drop_column("booking_eligibility", "closed_at")
