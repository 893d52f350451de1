"""shared.upsert: ON CONFLICT statements get a cache key that tells their shapes apart and
carries their values as parameters (a wrong key would run one statement's SQL with another's)."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.dialects import postgresql

from shared.db import ProcessedEvent
from shared.upsert import insert

TABLE = ProcessedEvent.__table__
DIALECT = postgresql.psycopg2.dialect()


def upsert(consumer, processed_at="2026-01-01T00:00:00+00:00", set_=None, where=None):
    statement = insert(TABLE).values(consumer=consumer, event_id=uuid.uuid4(), processed_at=processed_at)
    return statement.on_conflict_do_update(
        index_elements=[TABLE.c.consumer, TABLE.c.event_id],
        set_=set_
        if set_ is not None
        else {"processed_at": func.least(TABLE.c.processed_at, statement.excluded.processed_at)},
        where=where,
    )


def test_same_shape_shares_a_key_and_keeps_its_own_values():
    first, second = upsert("a"), upsert("b")
    first_key, second_key = first._generate_cache_key(), second._generate_cache_key()
    assert first_key is not None and first_key == second_key
    assert "a" in [p.value for p in first_key.bindparams]
    assert "b" in [p.value for p in second_key.bindparams]


def test_a_plain_value_in_set_is_a_parameter_not_part_of_the_shape():
    first = upsert("a", set_={"consumer": "first"})
    second = upsert("a", set_={"consumer": "second"})
    assert first._generate_cache_key() == second._generate_cache_key()
    assert "second" in [p.value for p in second._generate_cache_key().bindparams]
    assert "second" not in str(second.compile(dialect=DIALECT))


def test_different_set_where_or_target_are_different_keys():
    base = upsert("a")._generate_cache_key()
    assert upsert("a", set_={"consumer": "x"})._generate_cache_key() != base
    assert upsert("a", where=TABLE.c.consumer == "z")._generate_cache_key() != base
    nothing = insert(TABLE).values(consumer="a", event_id=uuid.uuid4(), processed_at="2026-01-01")
    assert (
        nothing.on_conflict_do_nothing()._generate_cache_key()
        != nothing.on_conflict_do_nothing(index_elements=["consumer", "event_id"])._generate_cache_key()
    )


def test_compiles_to_the_same_sql_as_sqlalchemys_own():
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    ours = upsert("a", set_={"consumer": "x"})
    theirs = pg_insert(TABLE).values(
        consumer="a", event_id=uuid.uuid4(), processed_at="2026-01-01T00:00:00+00:00"
    )
    theirs = theirs.on_conflict_do_update(
        index_elements=[TABLE.c.consumer, TABLE.c.event_id], set_={"consumer": "x"}
    )
    assert str(ours.compile(dialect=DIALECT)) == str(theirs.compile(dialect=DIALECT))
