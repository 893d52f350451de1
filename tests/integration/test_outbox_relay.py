"""The outbox relay on the real database and broker: a row that cannot be published is
parked and the relay goes on; a request's later rows wait for it; the command lists and
retries parked rows (issue 7, finding 1).

The relay runs here as the plain function the service's timer calls, on a database of
its own (the kernel tables of a service, through its migrations), so that the rows of
other tests never mix in.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from shared.config import REPO_ROOT, database_env_var
from shared.db import OutboxMessage, make_engine
from shared.events import make_event
from shared.messaging import queue_name
from shared.migrations import drop_database, upgrade
from shared.outbox import RELAY_LOCK_KEY, add_event, event_publisher, outbox_summary, relay_pending
from tests.integration.helpers import get_message

# request_reminded is consumed by reporting only, which upserts: harmless for later tests
EVENT_TYPE = "request_reminded"
QUEUE = queue_name("reporting", EVENT_TYPE)
# AMQP short strings (correlation_id among them) carry at most 255 bytes
TOO_LONG = "x" * 300


@pytest.fixture(scope="module")
def database_url(infra):
    url = make_url(infra.database_url("agenda")).set(database=f"combid_test_outbox_{infra.session_id}")
    url = url.render_as_string(hide_password=False)
    upgrade("agenda", url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def sessions(database_url):
    engine = make_engine(database_url, pool_size=2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture(autouse=True)
def empty_outbox(sessions):
    with sessions.begin() as session:
        session.execute(text("DELETE FROM outbox"))


@pytest.fixture(scope="module")
def publisher(infra):
    return event_publisher(infra.amqp_uri)


def reminded(request_id, correlation_id=None, order=0):
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "actor": "op-1",
        "actor_role": "patronato_operatore",
        "at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        "days_waited": 15,
    }
    created = datetime.now(UTC) + timedelta(milliseconds=order)
    event = make_event(EVENT_TYPE, payload, producer="tests", occurred_at=created)
    # make_event now refuses such an id: the poisoned row is one an earlier version stored
    return dataclasses.replace(event, correlation_id=correlation_id) if correlation_id else event


def store(sessions, *events):
    with sessions.begin() as session:
        for event in events:
            add_event(session, event)
    return [event.event_id for event in events]


def row(sessions, event_id) -> OutboxMessage:
    with sessions() as session:
        return session.get(OutboxMessage, uuid.UUID(event_id))


def arrived(infra, event_id):
    body, _ = get_message(infra.amqp_uri, QUEUE, matching=lambda b: b["event_id"] == event_id)
    return body


def outbox_command(database_url, *args):
    env = dict(os.environ, **{database_env_var("agenda"): database_url})
    return subprocess.run(
        [sys.executable, "-m", "shared.outbox", *args, "--service", "agenda"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_row_that_cannot_be_published_is_parked_and_the_rows_after_it_go_out(infra, sessions, publisher):
    poisoned, first, second = store(
        sessions,
        reminded(uuid.uuid4(), correlation_id=TOO_LONG, order=0),
        reminded(uuid.uuid4(), order=1),
        reminded(uuid.uuid4(), order=2),
    )

    round_one = relay_pending(sessions, publisher, max_attempts=3)

    # on the first round already, the rows of other requests are not held behind it
    assert (round_one.published, round_one.failed, round_one.parked) == (2, 1, 0)
    assert arrived(infra, first)["event_id"] == first
    assert arrived(infra, second)["event_id"] == second
    assert row(sessions, poisoned).attempts == 1 and row(sessions, poisoned).parked_at is None

    relay_pending(sessions, publisher, max_attempts=3)
    round_three = relay_pending(sessions, publisher, max_attempts=3)
    assert round_three.parked == 1
    parked = row(sessions, poisoned)
    assert parked.attempts == 3 and parked.parked_at is not None and parked.published_at is None
    assert parked.last_error.startswith("struct.error: ubyte format")

    # parked: not tried again, counted
    assert relay_pending(sessions, publisher, max_attempts=3).failed == 0
    assert row(sessions, poisoned).attempts == 3
    with sessions() as session:
        summary = outbox_summary(session)
    assert summary["parked"] == 1 and summary["pending"] == 0
    assert summary["oldest_parked_age_seconds"] >= 0


def test_later_rows_of_the_same_request_wait_for_the_parked_one_until_it_is_retried(
    infra, sessions, publisher, database_url
):
    request_id, other_request = uuid.uuid4(), uuid.uuid4()
    poisoned, later, other = store(
        sessions,
        reminded(request_id, correlation_id=TOO_LONG, order=0),
        reminded(request_id, order=1),
        reminded(other_request, order=2),
    )
    for _ in range(3):
        relay_pending(sessions, publisher, max_attempts=3)

    assert row(sessions, poisoned).parked_at is not None
    held = row(sessions, later)
    assert held.published_at is None and held.attempts == 0 and held.parked_at is None
    assert row(sessions, other).published_at is not None
    arrived(infra, other)

    listed = outbox_command(database_url, "list")
    assert listed.returncode == 0, listed.stderr
    assert "agenda: 1 evento parcheggiato, 1 in attesa di pubblicazione" in listed.stdout
    assert poisoned in listed.stdout and str(request_id) in listed.stdout and "ubyte format" in listed.stdout

    # still parked after more rounds: the cause is not fixed yet
    relay_pending(sessions, publisher, max_attempts=3)
    assert row(sessions, later).published_at is None

    # the operator fixes the cause, then puts the row back in the queue
    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.event_id == uuid.UUID(poisoned))
            .values(body=OutboxMessage.body.op("||")(text("""'{"correlation_id": "fixed"}'::jsonb""")))
        )
    retried = outbox_command(database_url, "retry", "--event-id", poisoned)
    assert retried.returncode == 0, retried.stderr
    assert "agenda: 1 evento rimesso in coda" in retried.stdout

    result = relay_pending(sessions, publisher, max_attempts=3)
    assert result.published == 2
    assert row(sessions, poisoned).published_at is not None and row(sessions, later).published_at is not None
    # in order: looking for the earlier one would have consumed the later one had it come first
    assert arrived(infra, poisoned)["correlation_id"] == "fixed"
    assert arrived(infra, later)["payload"]["request_id"] == str(request_id)


def test_retry_of_an_event_that_is_not_parked_says_so(sessions, database_url):
    (pending,) = store(sessions, reminded(uuid.uuid4()))
    retried = outbox_command(database_url, "retry", "--event-id", pending)
    assert retried.returncode == 1
    assert "nessun evento parcheggiato" in retried.stdout and pending in retried.stdout


class BrokerDown:
    def publish(self, *args, **kwargs):
        raise KombuOperationalError("[Errno 111] Connection refused")


def test_a_broker_outage_stops_the_round_and_counts_against_no_row(sessions):
    first, second = store(sessions, reminded(uuid.uuid4(), order=0), reminded(uuid.uuid4(), order=1))
    for _ in range(10):
        result = relay_pending(sessions, BrokerDown(), max_attempts=3)
        assert (result.outage, result.published, result.failed) == ("broker_unavailable", 0, 0)
    for event_id in (first, second):
        waiting = row(sessions, event_id)
        assert (waiting.attempts, waiting.parked_at, waiting.published_at) == (0, None, None)


def test_only_one_relay_works_a_database_at_a_time(sessions, publisher):
    (event_id,) = store(sessions, reminded(uuid.uuid4()))
    with sessions.begin() as other_instance:
        other_instance.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY})
        assert relay_pending(sessions, publisher).skipped
        assert row(sessions, event_id).published_at is None
    assert relay_pending(sessions, publisher).published == 1
