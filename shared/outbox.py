"""Transactional outbox.

A service adds its events with ``add_event(session, event)`` inside the same transaction
as its state change: both commit or neither does. ``relay_pending`` (run by each
service's ``OutboxRelay`` on a short timer) publishes unpublished rows in creation order
with publisher confirms and ``mandatory`` set (an event no queue is bound for raises
instead of vanishing), then marks them published. Rows are claimed with ``FOR UPDATE SKIP
LOCKED``, so several instances of a service relay side by side without publishing the same
row at the same time. A crash between publish and mark republishes: consumers dedupe.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from nameko import config
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from shared.db import OutboxMessage, cooperative_psycopg, make_engine
from shared.events import Event
from shared.messaging import events_exchange

log = logging.getLogger(__name__)


def add_event(session, event: Event) -> None:
    session.add(
        OutboxMessage(
            event_id=uuid.UUID(event.event_id),
            event_type=event.type,
            body=event.to_message(),
            created_at=event.occurred_at,
            attempts=0,
        )
    )


def event_publisher(amqp_uri: str) -> Publisher:
    return Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer="json", declare=[events_exchange])


def publish_envelope(publisher: Publisher, body: dict) -> None:
    publisher.publish(
        body,
        exchange=events_exchange,
        routing_key=body["type"],
        message_id=body["event_id"],
        correlation_id=body["correlation_id"],
    )


def relay_pending(sessions: sessionmaker, publisher: Publisher, batch_size: int = 200) -> int:
    """Publish up to ``batch_size`` pending events; returns how many were published."""
    published = 0
    with sessions.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.created_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            try:
                publish_envelope(publisher, row.body)
            except Exception as exc:  # broker down or unroutable: keep it, try next tick
                row.attempts += 1
                row.last_error = repr(exc)[:1000]
                log.warning("outbox: publish of %s %s failed: %r", row.event_type, row.event_id, exc)
                break
            row.published_at = datetime.now(timezone.utc)
            published += 1
    return published


class OutboxRelay(DependencyProvider):
    """Owns its own engine and publisher; the service calls ``self.outbox.relay()`` from a timer."""

    def __init__(self, url_key: str = "DATABASE_URL"):
        self.url_key = url_key

    def setup(self):
        cooperative_psycopg()
        self.engine = make_engine(config[self.url_key], pool_size=2)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.publisher = event_publisher(config["AMQP_URI"])

    def stop(self):
        self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def relay(self) -> int:
        return relay_pending(self.sessions, self.publisher)
