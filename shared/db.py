"""Database access: SQLAlchemy 2, one PostgreSQL database per service.

``Database`` builds the engine once per container (``setup``) and hands each worker a
``DatabaseAccess``: ``begin()`` is a unit of work that commits when the block ends and
rolls back if it raises; ``apply_once(event, fn)`` runs an event handler and records the
event id in the same transaction (the inbox), so a redelivered event changes nothing.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from nameko import config
from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, Integer, String, Text, bindparam, create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from shared import metrics


class KernelBase(DeclarativeBase):
    """Tables every service database has: the outbox and the inbox."""


class OutboxMessage(KernelBase):
    __tablename__ = "outbox"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # events of one request go out in order: the payload's request_id, else the event's own id
    aggregate_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # set aside after too many failed publishes; the relay goes on without it
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProcessedEvent(KernelBase):
    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Plain SQL, compiled once: every event of every consumer comes here, and building and
# caching an ORM or Core INSERT ... ON CONFLICT each time cost more than the round trip.
_FIRST_DELIVERY = text(
    "INSERT INTO processed_events (consumer, event_id, processed_at) "
    "VALUES (:consumer, :event_id, :processed_at) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
).bindparams(
    bindparam("event_id", type_=UUID(as_uuid=True)), bindparam("processed_at", type_=DateTime(timezone=True))
)


def first_delivery(session, consumer: str, event_id: str) -> bool:
    """Record ``event_id`` as processed by ``consumer``; False if it already was.

    A concurrent duplicate blocks on the primary key until the first transaction ends,
    then sees the conflict: of two workers with the same event, one applies it.
    """
    row = {"consumer": consumer, "event_id": uuid.UUID(str(event_id)), "processed_at": datetime.now(UTC)}
    return session.execute(_FIRST_DELIVERY, row).first() is not None


_psycopg_patched = False


def cooperative_psycopg() -> None:
    """Make psycopg2 yield to eventlet while waiting on the server (else one query
    blocks every green thread of the process)."""
    global _psycopg_patched
    if _psycopg_patched:
        return
    from eventlet import patcher

    if patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    _psycopg_patched = True


# A connection back in the pool for longer than this is tested with ``SELECT 1`` before use.
IDLE_PING_SECONDS = 5.0


def make_engine(url: str, pool_size: int = 5):
    # hide_parameters: an SQL error names its statement but never the values bound to it
    # (codici fiscali, request texts), wherever the error is logged or sent.
    engine = create_engine(url, pool_size=pool_size, max_overflow=10, hide_parameters=True, future=True)
    ping_idle_connections(engine)
    return engine


def ping_idle_connections(engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Test a connection at checkout only if it sat unused for ``idle_seconds``.

    ``pool_pre_ping`` costs a round trip on every transaction, the largest single cost of a
    short event handler. A connection in steady use has just proved itself; one that waited
    may have lost its server (a restart, a failover), and is pinged: if it is dead, the pool
    throws it away and opens another (SQLAlchemy's "pessimistic" recipe). A server lost
    while connections are busy fails those transactions, which the retries take again, and
    the disconnect error makes the pool drop every older connection.
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def remember_last_use(dbapi_connection, record):
        record.info["last_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy):
        last_used = record.info.get("last_used")
        if last_used is not None and time.monotonic() - last_used < idle_seconds:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error
        finally:
            try:
                cursor.close()
            except engine.dialect.loaded_dbapi.Error:
                pass  # the connection is gone with it


class DatabaseAccess:
    def __init__(self, sessions: sessionmaker, consumer: str):
        self.sessions = sessions
        self.consumer = consumer

    def begin(self):
        """Unit of work: ``with db.begin() as session:`` commits at the end, rolls back on error."""
        return self.sessions.begin()

    def apply_once(self, event, apply) -> bool:
        """Run ``apply(session, event)`` unless this consumer already processed the event."""
        with self.begin() as session:
            if not first_delivery(session, self.consumer, event.event_id):
                metrics.duplicate(event.type)
                return False
            apply(session, event)
            return True

    def ping(self, check=None, timeout: float = 1.5):
        """``SELECT 1`` (or ``check(session)``, returned) within ``timeout`` seconds, else
        raise: a health check must not hang on a server that does not answer."""
        import eventlet
        from sqlalchemy.exc import TimeoutError as NoAnswer  # an outage, like a pool timeout

        with eventlet.Timeout(timeout, NoAnswer(f"database: nessuna risposta entro {timeout:.1f} s")):
            with self.sessions() as session:
                return check(session) if check else session.execute(text("SELECT 1")).scalar()


class Database(DependencyProvider):
    def __init__(self, url_key: str = "DATABASE_URL"):
        self.url_key = url_key
        self.engine = None
        self.sessions = None

    def setup(self):
        cooperative_psycopg()
        # 5 kept (plus overflow under load): a machine runs several stacks in tests and
        # PostgreSQL's max_connections is shared; in production DB_POOL_SIZE = max_workers
        # saves opening overflow connections under load (see README, Performance)
        self.engine = make_engine(config[self.url_key], pool_size=int(config.get("DB_POOL_SIZE", 5)))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        consumer = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        return DatabaseAccess(self.sessions, consumer)
