"""notify: the Notifiche inbox, preferences per kind of notice, patronato offices' addresses,
who may see a request's notices, e-mails' HTML alternative and SMS parts

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

OWNERSHIP = (
    ("origin", 20),
    ("requester", 200),
    ("patronato_ente", 20),
    ("patronato_ufficio", 20),
    ("matricola", 20),
    ("consulente", 16),
)


def ownership_columns():
    return [sa.Column(name, sa.String(length), nullable=True) for name, length in OWNERSHIP]


def upgrade():
    for column in ownership_columns():
        op.add_column("request_contacts", column)
    op.add_column("deliveries", sa.Column("html", sa.Text(), nullable=True))
    op.add_column("deliveries", sa.Column("sms_parts", sa.Integer(), nullable=True))

    op.create_table(
        "notices",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("booking_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("protocol", sa.String(40), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *ownership_columns(),
    )
    op.create_index("ix_notices_request_id", "notices", ["request_id"])
    op.create_index("ix_notices_requester", "notices", ["requester", "created_at"])
    op.create_index("ix_notices_office", "notices", ["patronato_ente", "patronato_ufficio", "created_at"])
    op.create_index("ix_notices_matricola", "notices", ["matricola", "created_at"])
    op.create_index("ix_notices_consulente", "notices", ["consulente", "created_at"])

    op.create_table(
        "notice_reads",
        sa.Column(
            "notice_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("notices.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("reader", sa.String(200), primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "preferences",
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "patronato_offices",
        sa.Column("ente", sa.String(20), primary_key=True),
        sa.Column("ufficio", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
    )


def downgrade():
    for table in ("patronato_offices", "preferences", "notice_reads", "notices"):
        op.drop_table(table)
    op.drop_column("deliveries", "sms_parts")
    op.drop_column("deliveries", "html")
    for name, _ in OWNERSHIP:
        op.drop_column("request_contacts", name)
