"""Small helpers for integration tests on the real broker and database."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from amqp.exceptions import InternalError, NotFound
from kombu import Connection

from shared.events import make_event
from shared.outbox import event_publisher, publish_envelope


def publish_event(
    amqp_uri: str, event_type: str, payload: dict, producer: str = "tests", version: int = 1
) -> dict:
    """Publish a valid event exactly as a relay would; returns the envelope sent."""
    envelope = make_event(event_type, payload, producer=producer, version=version).to_message()
    publish_envelope(event_publisher(amqp_uri), envelope)
    return envelope


def publish_raw(amqp_uri: str, routing_key: str, body) -> None:
    """Publish anything (even invalid) to the events exchange."""
    publisher = event_publisher(amqp_uri)
    from shared.messaging import events_exchange

    publisher.publish(body, exchange=events_exchange, routing_key=routing_key)


def get_message(amqp_uri: str, queue_name: str, timeout: float = 10.0, matching=lambda body: True):
    """Wait for the first message on ``queue_name`` whose decoded body satisfies ``matching``
    (others, left by earlier tests, are taken and skipped); returns (body, headers).
    The queue is not declared here: its (quorum) arguments belong to shared.messaging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = _first_matching(amqp_uri, queue_name, deadline, matching)
        except InternalError:
            # 541 "noproc": a quorum queue declared a moment ago whose process the broker
            # is still starting; the connection is closed with it: wait and connect again
            time.sleep(0.5)
            continue
        if found is not None:
            return found
    raise AssertionError(f"no message on {queue_name} within {timeout} s")


def _first_matching(amqp_uri: str, queue_name: str, deadline: float, matching):
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        try:
            while time.monotonic() < deadline:
                try:
                    message = channel.basic_get(queue_name, no_ack=True)
                except NotFound:  # a dead-letter queue is declared with its first message
                    channel = connection.channel()
                    message = None
                if message is None:
                    time.sleep(0.1)
                    continue
                body = json.loads(message.body)
                if matching(body):
                    return body, message.headers
        finally:
            if channel.is_open:
                channel.close()
    return None


def drain(amqp_uri: str, queue_name: str) -> int:
    with Connection(amqp_uri) as connection:
        return connection.default_channel.queue_purge(queue_name) or 0


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def scalar(url: str, sql: str, **params):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def about(**fields):
    """``entrypoint_waiter`` callback: wait for the worker that handled this test's own event
    (earlier tests may leave other events in a shared queue)."""

    def matches(worker_ctx, result, exc_info):
        payload = worker_ctx.args[0].payload
        return all(str(payload.get(name)) == str(value) for name, value in fields.items())

    return matches


def notify_and_dispatch(sessions, consumer: str, handler, event, channels: dict, clock) -> bool:
    """What notify's entrypoint does: the handler inside the inbox's unit of work, then the
    dispatcher sends what it queued (``channels``: channel name -> adapter with ``send``)."""
    from services.notify.dispatch import Dispatcher, RetryPolicy
    from shared.db import DatabaseAccess

    db = DatabaseAccess(sessions, f"notify.{consumer}")
    queued = []
    applied = db.apply_once(event, lambda session, event: queued.extend(handler(session, event, clock=clock)))
    Dispatcher(sessions, channels, clock, RetryPolicy(), sleep=lambda _: None).dispatch(queued)
    return applied


def submitted_event(**overrides):
    """A parsed ``request_submitted`` of a patronato request, as notify receives it; any
    payload field can be overridden (``contacts``, ``requester``, ``patronato``...)."""
    import secrets
    import uuid
    from datetime import UTC, datetime

    from shared.events import REQUEST_SUBMITTED, parse_event

    payload = {
        "request_id": uuid.uuid4(),
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "sollecito_domanda",
        "catalog_version": "combipat-2021",
        "area": "pensioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "patronato": {"ente": "001", "ufficio": "U1"},
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "contacts": {"email": "mario.rossi@example.it", "sms": None},
        "requester": "op-1",
        "submitted_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        **overrides,
    }
    return parse_event(make_event(REQUEST_SUBMITTED, payload, producer="intake").to_message())
