"""The body of every service's ``migrations/env.py`` (online mode only)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context


def run() -> None:
    config = context.config
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
