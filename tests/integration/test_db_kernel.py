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
