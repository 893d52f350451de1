"""intake: requests, attachments, state history, outbox/inbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_kernel_tables(op)
    op.execute("CREATE SEQUENCE request_protocol_seq")
    op.create_table(
        "requests",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("protocol", sa.String(40), nullable=False, unique=True),
        sa.Column("origin", sa.String(20), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("profile", sa.String(30), nullable=False),
        sa.Column("subject_code", sa.String(60), nullable=False, index=True),
        sa.Column("catalog_version", sa.String(40), nullable=False),
        sa.Column("area", sa.String(40), nullable=False),
        sa.Column("sla_days", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("case_identifier", postgresql.JSONB(), nullable=True),
        sa.Column("citizen_codice_fiscale", sa.String(16), nullable=True, index=True),
        sa.Column("citizen_cap", sa.String(5), nullable=True),
        sa.Column("matricola", sa.String(10), nullable=True, index=True),
        sa.Column("patronato_ente", sa.String(20), nullable=True),
        sa.Column("patronato_ufficio", sa.String(20), nullable=True),
        sa.Column("contacts", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("parent_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("requests.id"), nullable=True),
        sa.Column("requester_sub", sa.String(100), nullable=False, index=True),
        sa.Column("requester_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("assignment", postgresql.JSONB(), nullable=True),
        sa.Column("assigned_sede", sa.String(10), nullable=True, index=True),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_index("ix_requests_patronato_office", "requests", ["patronato_ente", "patronato_ufficio"])
    op.create_table(
        "attachments",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "request_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("requests.id"),
            nullable=True,
            index=True,
        ),
        sa.Column("owner_sub", sa.String(100), nullable=False, index=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "state_changes",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "request_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("requests.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    for table in ("state_changes", "attachments", "requests", "processed_events", "outbox"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE request_protocol_seq")
