"""``RoutingTableProvider``: the in-memory routing table of the active reference version.

The table is built in the background when the container starts (never at import; a service
with no reference data loaded, or whose database is not up yet, still starts and builds it
on first use). Afterwards, at
most every ``refresh_seconds``, one worker asks the database for the active version id
(one indexed row) and rebuilds the table only when it changed. Workers in between get
the table they already have: a decision is a few dict look-ups.
"""

from __future__ import annotations

import logging
import threading
import time

from nameko import config
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from services.routing.decision.table import RoutingTable
from services.routing.reference import store as reference_store
from shared.db import cooperative_psycopg, make_engine
from shared.identifiers import comuni_index

log = logging.getLogger(__name__)


def load_routing_table(session, version_id: str | None) -> RoutingTable:
    """The table of a stored reference version (an empty one for None: nothing loaded yet)."""
    if version_id is None:
        return RoutingTable.empty()
    return RoutingTable(version_id, reference_store.version_data(session, version_id))


class RoutingTables:
    """Keeps the current table and refreshes it from ``sessions`` when it is due."""

    MAX_PAST_VERSIONS = 4

    def __init__(self, sessions: sessionmaker, refresh_seconds: float, monotonic=time.monotonic):
        self.sessions = sessions
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self.table: RoutingTable | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()
        self.past: dict[str, RoutingTable] = {}

    def current(self) -> RoutingTable:
        if not self._due():
            return self.table
        with self.lock:
            if self._due():  # another worker may have refreshed while we waited
                self._refresh()
        return self.table

    def _due(self) -> bool:
        return self.table is None or self.monotonic() - self.checked_at >= self.refresh_seconds

    def _refresh(self) -> None:
        try:
            with self.sessions() as session:
                version_id = reference_store.active_version_id(session)
                if self.table is None or version_id != self.table.version:
                    self.table = load_routing_table(session, version_id)
                    log.info("routing table: reference version %s, %s", version_id, self.table.data.counts())
        except Exception:
            if self.table is None:
                raise  # nothing to route with: let the caller fail and retry
            log.exception("routing table: refresh failed, keeping version %s", self.table.version)
        self.checked_at = self.monotonic()

    def for_version(self, session, version_id: str) -> RoutingTable | None:
        """The table of any stored version (to replay a past decision); None if unknown."""
        current = self.current()
        if version_id == current.version:
            return current
        if version_id not in self.past:
            if not reference_store.version_exists(session, version_id):
                return None
            if len(self.past) >= self.MAX_PAST_VERSIONS:
                self.past.clear()
            self.past[version_id] = load_routing_table(session, version_id)
        return self.past[version_id]


class RoutingTableProvider(DependencyProvider):
    """Hands each worker the shared ``RoutingTables``; call ``.current()`` for the table."""

    def __init__(self, url_key: str = "DATABASE_URL", refresh_seconds: float = 5.0):
        self.url_key = url_key
        self.refresh_seconds = refresh_seconds
        self.engine = None
        self.tables = None

    def setup(self):
        cooperative_psycopg()
        self.engine = make_engine(config[self.url_key], pool_size=1)
        self.tables = RoutingTables(sessionmaker(self.engine), self.refresh_seconds)

    def start(self):
        # The first decision would otherwise pay for reading the ISTAT data (about a second).
        self.container.spawn_managed_thread(self._warm_up, identifier="routing-table-warm-up")

    def _warm_up(self):
        comuni_index()
        try:
            self.tables.current()
        except Exception as exc:  # the database may not be up yet: the first event will retry
            log.warning("routing table not loaded at start: %r", exc)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.tables
