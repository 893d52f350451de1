"""Alembic, one migration history per service database.

    python -m shared.migrations upgrade            # every service, creating databases if missing
    python -m shared.migrations upgrade intake     # one service

Each service keeps its own ``migrations/`` folder; the first revision of each creates the
kernel tables (outbox, processed_events) with ``create_kernel_tables``, and revision 0003
adds the outbox's parking columns with ``add_outbox_parking``.
"""

from __future__ import annotations

import argparse
import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from shared.config import REPO_ROOT, database_env_var, default_database_url

SERVICES_WITH_DATABASE = ("intake", "routing", "notify", "reporting", "agenda")


def database_url(service: str) -> str:
    return os.environ.get(database_env_var(service), default_database_url(service))


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist. Returns True if created."""
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).first()
            if exists:
                return False
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
            return True
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    url = url or database_url(service)
    ensure_database(url)
    command.upgrade(alembic_config(service, url), revision)


def create_kernel_tables(op) -> None:
    """Outbox and inbox tables, identical in every service database."""
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "outbox",
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["created_at"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def add_outbox_parking(op) -> None:
    """Kernel columns of the relay that never stalls (every service's revision 0003).

    ``aggregate_key`` keeps a request's events in order; it is filled for the rows still to
    publish only (published rows are never read by the relay again, and a table of
    millions of rows is not rewritten for them). ``parked_at`` marks a row set aside.
    """
    op.add_column("outbox", sa.Column("aggregate_key", sa.String(64), nullable=True))
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE outbox SET aggregate_key = COALESCE(body->'payload'->>'request_id', event_id::text)"
        " WHERE published_at IS NULL"
    )
    # the relay's question: which keys have a row still waiting (parked or not)
    op.create_index(
        "ix_outbox_unpublished_key",
        "outbox",
        ["aggregate_key", "created_at"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_parked",
        "outbox",
        ["parked_at"],
        postgresql_where=sa.text("published_at IS NULL AND parked_at IS NOT NULL"),
    )


def drop_outbox_parking(op) -> None:
    op.drop_index("ix_outbox_parked", "outbox")
    op.drop_index("ix_outbox_unpublished_key", "outbox")
    op.drop_column("outbox", "parked_at")
    op.drop_column("outbox", "aggregate_key")


def main() -> None:  # pragma: no cover - thin command
    parser = argparse.ArgumentParser(description="Migrazioni dei database dei servizi")
    parser.add_argument("action", choices=["upgrade"])
    parser.add_argument("services", nargs="*", default=list(SERVICES_WITH_DATABASE))
    args = parser.parse_args()
    for service in args.services:
        upgrade(service)
        print(f"{service}: database aggiornato")


if __name__ == "__main__":  # pragma: no cover
    main()
