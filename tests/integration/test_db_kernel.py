"""shared.db on the real PostgreSQL: SQL errors never carry the values bound to them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.db import make_engine

VALID_CF = "RSSMRA85T10A562S"


def test_sql_errors_name_the_statement_never_its_values(infra):
    engine = make_engine(infra.database_url("intake"), pool_size=1)
    try:
        with pytest.raises(sa.exc.DataError) as failed, engine.connect() as connection:
            connection.execute(sa.text("SELECT 1 / 0 WHERE :cf <> ''"), {"cf": VALID_CF})
    finally:
        engine.dispose()
    message = str(failed.value)
    assert "division by zero" in message and "SELECT 1 / 0" in message
    assert VALID_CF not in message


def test_a_cached_upsert_runs_with_each_executions_own_values(infra):
    """shared.upsert: the second execution reuses the compiled SQL, never the first's values."""
    import uuid

    from sqlalchemy.orm import sessionmaker

    from shared.db import ProcessedEvent
    from shared.upsert import insert

    table = ProcessedEvent.__table__
    engine = make_engine(infra.database_url("intake"), pool_size=1)
    event_id, consumers = uuid.uuid4(), [f"upsert-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        for consumer in consumers:
            for processed_at in ("2026-01-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00"):
                with sessionmaker(engine).begin() as session:
                    statement = insert(table).values(
                        consumer=consumer, event_id=event_id, processed_at=processed_at
                    )
                    session.execute(
                        statement.on_conflict_do_update(
                            index_elements=[table.c.consumer, table.c.event_id],
                            set_={"processed_at": statement.excluded.processed_at, "consumer": consumer},
                        )
                    )
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.c.consumer, table.c.processed_at).where(table.c.event_id == event_id)
            ).all()
    finally:
        engine.dispose()
    assert sorted(row.consumer for row in rows) == sorted(consumers)
    assert {row.processed_at.day for row in rows} == {1}
