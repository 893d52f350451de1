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


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def _terminate(infra, pid: int) -> None:
    admin = make_engine(infra.database_url("intake"), pool_size=1)
    try:
        with admin.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    finally:
        admin.dispose()


def test_a_connection_that_waited_is_tested_and_replaced_if_its_server_is_gone(infra):
    """shared.db.ping_idle_connections: after a wait (here: any), a dead connection is
    found at checkout and another one opened; the transaction never sees it."""
    from shared.db import ping_idle_connections

    engine = sa.create_engine(infra.database_url("intake"), pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds=0.0)
    try:
        lost = _backend_pid(engine)
        _terminate(infra, lost)
        assert _backend_pid(engine) != lost
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_a_lost_one_fails_once(infra):
    """Within ``idle_seconds`` no ``SELECT 1`` precedes the work; a server lost meanwhile fails
    that one transaction (the retries take it again) and the pool replaces the connection."""
    from shared.db import ping_idle_connections

    engine = sa.create_engine(infra.database_url("intake"), pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds=3600.0)
    try:
        lost = _backend_pid(engine)
        _terminate(infra, lost)
        with pytest.raises(sa.exc.OperationalError) as failed:
            _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert _backend_pid(engine) != lost
    finally:
        engine.dispose()


def test_the_inbox_records_an_event_once_per_consumer(database_sessions):
    import uuid

    from shared.db import first_delivery

    sessions = database_sessions("intake")
    event_id, consumer = uuid.uuid4(), f"inbox-{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        assert first_delivery(session, consumer, str(event_id)) is True
        assert first_delivery(session, consumer, str(event_id)) is False
        assert first_delivery(session, consumer + ".other", str(event_id)) is True
