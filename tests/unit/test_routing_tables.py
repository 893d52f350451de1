"""RoutingTables: loads on first use, rechecks the active version at most every few
seconds, rebuilds only when it changed, keeps the old table if the database fails."""

from __future__ import annotations

import contextlib

import pytest

from services.routing import dependencies
from services.routing.decision.table import RoutingTable
from services.routing.dependencies import RoutingTables
from services.routing.reference import store as reference_store


class FakeDatabase:
    """Stands in for the database behind ``reference_store.active_version_id`` and
    ``dependencies.load_routing_table``."""

    def __init__(self, active=None):
        self.active = active
        self.version_checks = 0
        self.tables_built = 0
        self.down = False

    def sessions(self):
        return contextlib.nullcontext(self)

    def active_version_id(self, session):
        if self.down:
            raise ConnectionError("database down")
        self.version_checks += 1
        return self.active

    def load_routing_table(self, session, version_id):
        self.tables_built += 1
        return RoutingTable(version_id, []) if version_id else RoutingTable.empty()


class FakeMonotonic:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def database(monkeypatch):
    database = FakeDatabase()
    monkeypatch.setattr(reference_store, "active_version_id", database.active_version_id)
    monkeypatch.setattr(dependencies, "load_routing_table", database.load_routing_table)
    return database


@pytest.fixture
def clock():
    return FakeMonotonic()


def test_first_use_loads_and_no_version_means_an_empty_table(database, clock):
    tables = RoutingTables(database.sessions, refresh_seconds=5, monotonic=clock)

    assert tables.current().loaded is False
    assert database.tables_built == 1


def test_rechecks_at_most_every_refresh_interval_and_rebuilds_on_change(database, clock):
    database.active = "v1"
    tables = RoutingTables(database.sessions, refresh_seconds=5, monotonic=clock)
    assert tables.current().version == "v1"

    database.active = "v2"
    clock.now += 1
    assert tables.current().version == "v1"  # not due yet: no query
    assert database.version_checks == 1

    clock.now += 5
    assert tables.current().version == "v2"
    assert database.tables_built == 2


def test_same_version_is_not_rebuilt(database, clock):
    database.active = "v1"
    tables = RoutingTables(database.sessions, refresh_seconds=5, monotonic=clock)
    tables.current()

    clock.now += 10
    tables.current()

    assert (database.version_checks, database.tables_built) == (2, 1)


def test_database_failure_keeps_the_table_it_has_but_fails_without_one(database, clock):
    database.active = "v1"
    tables = RoutingTables(database.sessions, refresh_seconds=5, monotonic=clock)
    tables.current()

    database.down = True
    clock.now += 10
    assert tables.current().version == "v1"

    with pytest.raises(ConnectionError):
        RoutingTables(database.sessions, refresh_seconds=5, monotonic=clock).current()
