"""intake: lifecycle facts, thread messages, referente grants

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_REQUEST_COLUMNS = [
    sa.Column("requester_role", sa.String(30), nullable=False, server_default=""),
    sa.Column("consulente_codice_fiscale", sa.String(16), nullable=True),
    sa.Column("external_message_id", sa.String(100), nullable=True, unique=True),
    sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answers_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("followups_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("reminders_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_reminder_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.Text(), nullable=True),
    sa.Column("booking_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
]


def upgrade():
    for column in NEW_REQUEST_COLUMNS:
        op.add_column("requests", column)
    op.alter_column("requests", "sla_days", nullable=True)
    op.add_column("attachments", sa.Column("bundled_into", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column("attachments", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_requests_consulente_codice_fiscale", "requests", ["consulente_codice_fiscale"])
    op.create_table(
        "messages",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "request_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("requests.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("author_role", sa.String(30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referente_grants",
        sa.Column("patronato_ente", sa.String(20), primary_key=True),
        sa.Column("operator_sub", sa.String(100), primary_key=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("referente_grants")
    op.drop_table("messages")
    op.drop_index("ix_requests_consulente_codice_fiscale", "requests")
    op.drop_column("attachments", "purged_at")
    op.drop_column("attachments", "bundled_into")
    op.alter_column("requests", "sla_days", nullable=False)
    for column in reversed(NEW_REQUEST_COLUMNS):
        op.drop_column("requests", column.name)
