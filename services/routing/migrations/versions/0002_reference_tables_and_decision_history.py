"""routing: effective dates, CRIC, subjects, poli, patronato offices, company registry,
matricola prefixes, comuni covered by local sedi; a history of decisions per request

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

NEW_TABLES = (
    "sede_comuni",
    "cric",
    "subjects",
    "poli",
    "patronato_offices",
    "companies",
    "matricola_prefixes",
)


def period():
    return [
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
    ]


def versioned(name, *columns):
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("version_id", sa.String(80), sa.ForeignKey("reference_versions.id"), nullable=False),
        *columns,
        *period(),
    )
    op.create_index(f"ix_{name}_version_id", name, ["version_id"])


def upgrade():
    op.add_column(
        "reference_versions", sa.Column("counts", postgresql.JSONB(), nullable=False, server_default="{}")
    )
    for column in period():
        op.add_column("sedi", column)

    versioned(
        "sede_comuni",
        sa.Column("sede_code", sa.String(4), nullable=False),
        sa.Column("codice_catastale", sa.String(4), nullable=False),
        sa.Column("comune", sa.String(200), nullable=False),
    )
    versioned(
        "cric",
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("parent_code", sa.String(4), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
    )
    versioned(
        "subjects",
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("area", sa.String(100), nullable=False),
        sa.Column("cric_section", sa.String(100), nullable=False),
    )
    versioned(
        "poli",
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("sede_code", sa.String(4), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
    )
    versioned(
        "patronato_offices",
        sa.Column("ente", sa.String(20), nullable=False),
        sa.Column("ufficio", sa.String(20), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
    )
    versioned(
        "companies",
        sa.Column("matricola", sa.String(10), nullable=False),
        sa.Column("sede_code", sa.String(4), nullable=False),
    )
    versioned(
        "matricola_prefixes",
        sa.Column("prefix", sa.String(2), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
    )

    # routing_decisions: from one row per request to a history of decisions per request.
    op.add_column("routing_decisions", sa.Column("id", postgresql.UUID(as_uuid=True), nullable=True))
    op.execute("UPDATE routing_decisions SET id = gen_random_uuid()")
    op.alter_column("routing_decisions", "id", nullable=False)
    op.drop_constraint("routing_decisions_pkey", "routing_decisions", type_="primary")
    op.create_primary_key("routing_decisions_pkey", "routing_decisions", ["id"])
    new_columns = [
        sa.Column("sequence", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("trigger", sa.String(40), nullable=False, server_default="request_submitted"),
        sa.Column("request", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("rule_chain", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("effective_day", sa.Date(), nullable=True),
        sa.Column("previous", postgresql.JSONB(), nullable=True),
        sa.Column("emitted", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=True),
    ]
    for column in new_columns:
        op.add_column("routing_decisions", column)
    op.create_index(
        "ux_routing_decisions_request_sequence", "routing_decisions", ["request_id", "sequence"], unique=True
    )


def downgrade():
    op.drop_index("ux_routing_decisions_request_sequence", "routing_decisions")
    # keep the latest decision of each request, as 0001 had one row per request
    op.execute(
        "DELETE FROM routing_decisions d USING routing_decisions later "
        "WHERE later.request_id = d.request_id AND later.sequence > d.sequence"
    )
    for name in (
        "event_id",
        "emitted",
        "previous",
        "effective_day",
        "rule_chain",
        "request",
        "trigger",
        "sequence",
    ):
        op.drop_column("routing_decisions", name)
    op.drop_constraint("routing_decisions_pkey", "routing_decisions", type_="primary")
    op.drop_column("routing_decisions", "id")
    op.create_primary_key("routing_decisions_pkey", "routing_decisions", ["request_id"])
    for name in NEW_TABLES:
        op.drop_table(name)
    op.drop_column("sedi", "valid_to")
    op.drop_column("sedi", "valid_from")
    op.drop_column("reference_versions", "counts")
