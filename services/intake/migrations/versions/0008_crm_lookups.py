"""intake: the audit log of the CRM look-ups (who looked at whose conversations, when),
append-only: the database refuses updates, deletes and truncation

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "crm_lookups",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_sub", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(30), nullable=False),
        sa.Column("actor_sede", sa.String(10), nullable=True),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_value", sa.String(16), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
    )
    op.create_index("ix_crm_lookups_at", "crm_lookups", ["at"])
    op.create_index("ix_crm_lookups_actor_sub", "crm_lookups", ["actor_sub"])
    op.create_index("ix_crm_lookups_subject_value", "crm_lookups", ["subject_value"])
    op.execute(
        """
        CREATE FUNCTION crm_lookups_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'crm_lookups is append-only: % refused', TG_OP;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER crm_lookups_no_change BEFORE UPDATE OR DELETE ON crm_lookups "
        "FOR EACH ROW EXECUTE FUNCTION crm_lookups_append_only()"
    )
    op.execute(
        "CREATE TRIGGER crm_lookups_no_truncate BEFORE TRUNCATE ON crm_lookups "
        "FOR EACH STATEMENT EXECUTE FUNCTION crm_lookups_append_only()"
    )


def downgrade():
    op.execute("DROP TRIGGER crm_lookups_no_truncate ON crm_lookups")
    op.execute("DROP TRIGGER crm_lookups_no_change ON crm_lookups")
    op.execute("DROP FUNCTION crm_lookups_append_only()")
    op.drop_table("crm_lookups")
