"""intake: indexes for the searches, leading with a scope or filter and ending with the order

Every list is sorted newest update first (``updated_at DESC, id``): an index that ends with
that key hands a page over in order, so a page costs as many rows as it shows (or as a
cursor skips to), never a sort of everything that matches. Each index replaces the
single-column one it extends (it serves every query the old one did). The subject + opening
date search reads (subject, created_at). The other columns the searches filter on are
INCLUDEd, so a scope or a filter is checked in the index (an index-only scan) instead of in
the table, row by row. Built CONCURRENTLY: a live table keeps taking requests meanwhile.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ORDER = "updated_at DESC, id"
# what the searches filter on besides the key: in the index, read without visiting the table
PLACE_AND_STATE = "assigned_sede, assigned_region, state, origin"
# name: (key columns, INCLUDE columns, the single-column index it replaces or None)
INDEXES = {
    "ix_requests_updated": (ORDER, None, ("ix_requests_updated_at", "updated_at")),
    "ix_requests_state_updated": (f"state, {ORDER}", "origin", ("ix_requests_state", "state")),
    "ix_requests_sede_updated": (
        f"assigned_sede, {ORDER}",
        "state, origin, assigned_queue",
        ("ix_requests_assigned_sede", "assigned_sede"),
    ),
    "ix_requests_sede_state_updated": (f"assigned_sede, state, {ORDER}", "origin, assigned_queue", None),
    "ix_requests_region_updated": (
        f"assigned_region, {ORDER}",
        "state, origin, assigned_kind",
        ("ix_requests_assigned_region", "assigned_region"),
    ),
    "ix_requests_region_state_updated": (f"assigned_region, state, {ORDER}", "origin, assigned_kind", None),
    "ix_requests_matricola_updated": (
        f"matricola, {ORDER}",
        PLACE_AND_STATE,
        ("ix_requests_matricola", "matricola"),
    ),
    "ix_requests_consulente_updated": (
        f"consulente_codice_fiscale, {ORDER}",
        PLACE_AND_STATE,
        ("ix_requests_consulente_codice_fiscale", "consulente_codice_fiscale"),
    ),
    "ix_requests_citizen_updated": (
        f"citizen_codice_fiscale, {ORDER}",
        PLACE_AND_STATE,
        ("ix_requests_citizen_codice_fiscale", "citizen_codice_fiscale"),
    ),
    "ix_requests_patronato_updated": (
        f"patronato_ente, patronato_ufficio, {ORDER}",
        "state, origin",
        ("ix_requests_patronato_office", "patronato_ente, patronato_ufficio"),
    ),
    "ix_requests_subject_created": (
        "subject_code, created_at",
        f"updated_at, id, {PLACE_AND_STATE}",
        ("ix_requests_subject_code", "subject_code"),
    ),
}
# A company's (a consulente's) requests go to its sede: without these the planner multiplies
# the two selectivities, expects a handful of rows and picks a plan that reads thousands.
STATISTICS = {
    "st_requests_matricola_place": "matricola, assigned_sede, assigned_region",
    "st_requests_consulente_place": "consulente_codice_fiscale, assigned_sede, assigned_region",
    "st_requests_citizen_place": "citizen_codice_fiscale, assigned_sede, assigned_region",
    "st_requests_sede_region": "assigned_sede, assigned_region",
}


def upgrade():
    with op.get_context().autocommit_block():
        for name, (columns, included, replaced) in INDEXES.items():
            include = f" INCLUDE ({included})" if included else ""
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON requests ({columns}){include}")
            if replaced:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {replaced[0]}")
    for name, columns in STATISTICS.items():
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (dependencies) ON {columns} FROM requests")
    # index-only scans need a fresh visibility map: vacuum a busy table sooner than by default
    op.execute(
        "ALTER TABLE requests SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)"
    )
    op.execute("ANALYZE requests")  # the new statistics count from now, not from the next autovacuum


def downgrade():
    op.execute(
        "ALTER TABLE requests RESET (autovacuum_vacuum_scale_factor, "
        "autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)"
    )
    for name in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
    with op.get_context().autocommit_block():
        for name, (_, _, replaced) in INDEXES.items():
            if replaced:
                old_name, old_columns = replaced
                op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {old_name} ON requests ({old_columns})")
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
