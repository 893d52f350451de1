"""intake: where routing put a request inside the structure (work queue, kind of place) as
columns, so officials filter by queue and may be scoped to theirs; the CRIC section a
referente regionale names

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("requests", sa.Column("cric_section", sa.String(40), nullable=True))
    op.add_column("requests", sa.Column("assigned_queue", sa.String(100), nullable=True))
    op.add_column("requests", sa.Column("assigned_kind", sa.String(20), nullable=True))
    op.execute(
        "UPDATE requests SET assigned_queue = assignment ->> 'queue', assigned_kind = assignment ->> 'kind' "
        "WHERE assignment IS NOT NULL"
    )
    op.create_index("ix_requests_assigned_queue", "requests", ["assigned_queue"])


def downgrade():
    op.drop_index("ix_requests_assigned_queue", table_name="requests")
    op.drop_column("requests", "assigned_kind")
    op.drop_column("requests", "assigned_queue")
    op.drop_column("requests", "cric_section")
