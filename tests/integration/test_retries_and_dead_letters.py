"""Retries through the shared delay queues, dead letters and their tools, and the migration
of an earlier layout, on the real broker (the session's own vhost).

A test-only consumer ``retrytest`` (added to the subscription table for each test) reads
events put straight into its queue, so no other service sees them.
"""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import threading
import uuid
from datetime import UTC, datetime

import kombu.pools
import pytest
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Queue
from nameko.testing.services import entrypoint_waiter

from shared import deadletters, queue_tools
from shared.consumer import event_handler
from shared.events import make_event
from shared.messaging import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    EVENT_ID_HEADER,
    FIRST_FAILURE_HEADER,
    LEGACY_DETAIL_HEADER,
    REASON_HEADER,
    RETRY_DELAY_HEADER,
    RETRY_EXCHANGE_NAME,
    SUBSCRIPTIONS,
    consumer_queue,
    dead_letter_queue,
    dead_letter_queue_name,
    delay_label,
    delay_queue,
    events_exchange,
    legacy_retry_queue_name,
    queue_name,
)
from shared.outbox import event_publisher
from tests.integration.helpers import get_message, publish_raw, wait_until

SERVICE, EVENT = "retrytest", "request_reminded"
MAIN, DEAD = queue_name(SERVICE, EVENT), dead_letter_queue_name(SERVICE, EVENT)
CF = "RSSMRA85T10A562S"

FAILURES_LEFT: dict[str, int] = {}
APPLIED: collections.Counter = collections.Counter()
HOLD: dict[str, tuple[threading.Event, threading.Event]] = {}  # event id -> (started, go on)


class RetryTestService:
    name = SERVICE

    @event_handler(EVENT)
    def on_request_reminded(self, event):
        hold = HOLD.pop(event.event_id, None)
        if hold:
            hold[0].set()
            hold[1].wait(30)
        left = FAILURES_LEFT.get(event.event_id, 0)
        if left:
            FAILURES_LEFT[event.event_id] = left - 1
            # the text quotes personal data, as a database error with its parameters would
            raise LookupError(f"richiesta non trovata: {event.payload['comment']}")
        APPLIED[event.event_id] += 1


def reminded_envelope() -> dict:
    payload = {
        "request_id": str(uuid.uuid4()),
        "protocol": "COMBID.2026.00000042",
        "actor": "op-1",
        "actor_role": "patronato_operatore",
        "at": datetime.now(UTC),
        "comment": f"sollecito per {CF}",
        "days_waited": 12,
    }
    return make_event(EVENT, payload, producer="tests").to_message()


def about_event(envelope: dict):
    return lambda body: body.get("event_id") == envelope["event_id"]


def put(amqp_uri: str, queue: str, envelope: dict, headers: dict | None = None) -> None:
    """Straight into one queue (default exchange), confirmed."""
    event_publisher(amqp_uri).publish(
        envelope, exchange="", routing_key=queue, headers=headers or {}, message_id=envelope["event_id"]
    )


def waiting(amqp_uri: str, name: str) -> int | None:
    with queue_tools.connect(amqp_uri) as connection:
        state = queue_tools.queue_state(connection, name)
    return state and state[0]


def delete_queues(amqp_uri: str, *names: str) -> None:
    with Connection(amqp_uri) as connection:
        for name in names:
            channel = connection.channel()
            try:
                channel.queue_delete(name)
            finally:
                channel.close()


@pytest.fixture
def retry_service(infra, container_factory, service_config, monkeypatch):
    """``retry_service("1,2")`` starts the test consumer with that retry schedule."""
    monkeypatch.setitem(SUBSCRIPTIONS, SERVICE, (EVENT,))
    with Connection(infra.amqp_uri) as connection:  # as `make run` would have
        consumer_queue(SERVICE, EVENT)(connection.default_channel).declare()
    started = []

    def start(schedule: str):
        config = service_config(SERVICE, RETRY_SCHEDULE_SECONDS=schedule)
        container = container_factory(RetryTestService, config)
        container.start()
        started.append(container)
        return container

    yield start
    for container in started:
        container.stop()
    delete_queues(infra.amqp_uri, MAIN, DEAD)


def test_a_retry_waits_in_its_own_delay_queue_then_returns_by_its_routing_key(infra):
    back = Queue(f"test.retry.back.{uuid.uuid4().hex[:8]}", durable=True)
    short, long = delay_queue(300), delay_queue(600_000)
    with Connection(infra.amqp_uri) as connection:
        channel = connection.channel()
        for queue in (back, short, long):
            queue(channel).declare()
    event_publisher(infra.amqp_uri).publish(
        {"n": 1},
        exchange=RETRY_EXCHANGE_NAME,
        routing_key=back.name,
        headers={RETRY_DELAY_HEADER: delay_label(300)},
    )
    assert waiting(infra.amqp_uri, long.name) == 0  # only the delay asked for holds it

    body, headers = get_message(infra.amqp_uri, back.name)
    assert body == {"n": 1}
    assert [death["queue"] for death in headers["x-death"]] == [short.name]
    delete_queues(infra.amqp_uri, back.name, short.name, long.name)


def test_a_handler_failing_twice_is_retried_through_the_delay_queues_and_applied_once(infra, retry_service):
    container = retry_service("1,2,5")
    envelope = reminded_envelope()
    event_id = envelope["event_id"]
    FAILURES_LEFT[event_id] = 2
    deliveries = []

    def applied(worker_ctx, result, exc_info):
        if worker_ctx.args[0].event_id != event_id:
            return False
        deliveries.append(dict(worker_ctx.data))
        return exc_info is None

    with entrypoint_waiter(container, "on_request_reminded", callback=applied, timeout=30):
        put(infra.amqp_uri, MAIN, envelope)

    assert APPLIED[event_id] == 1
    assert [headers.get(ATTEMPTS_HEADER) for headers in deliveries] == [None, 2, 3]
    waited_in = {death["queue"]: death["count"] for death in deliveries[-1]["x-death"]}
    assert waited_in == {"combid.retry.1s": 1, "combid.retry.2s": 1}
    assert not waiting(infra.amqp_uri, DEAD)  # never dead-lettered (the queue may not even exist)


def test_a_handler_that_always_fails_ends_in_its_dead_letter_queue_without_personal_data(
    infra, retry_service
):
    retry_service("1,1")
    envelope = reminded_envelope()
    FAILURES_LEFT[envelope["event_id"]] = 10**6
    put(infra.amqp_uri, MAIN, envelope)

    body, headers = get_message(infra.amqp_uri, DEAD, timeout=30, matching=about_event(envelope))
    assert body == envelope  # the exact input is kept for a replay
    assert headers[REASON_HEADER] == "handler_failed"
    assert headers[ERROR_HEADER] == "LookupError"
    assert headers[ATTEMPTS_HEADER] == 3
    assert headers[EVENT_ID_HEADER] == envelope["event_id"]
    assert headers[FIRST_FAILURE_HEADER]
    assert CF not in repr(headers)
    assert APPLIED[envelope["event_id"]] == 0


def test_an_invalid_event_is_dead_lettered_at_once_naming_fields_not_values(infra, retry_service):
    retry_service("1,1")
    envelope = reminded_envelope()
    envelope["payload"]["days_waited"] = f"dodici ({CF})"
    put(infra.amqp_uri, MAIN, envelope)

    _, headers = get_message(infra.amqp_uri, DEAD, timeout=15, matching=about_event(envelope))
    assert headers[REASON_HEADER] == "invalid_payload"
    assert headers["x-combid-invalid-fields"] == "payload.days_waited"
    assert ATTEMPTS_HEADER not in headers
    assert CF not in repr(headers)


def run(command, amqp_uri, *args):
    return command(["--amqp-uri", amqp_uri, *args])


def test_deadletters_commands_list_show_replay_and_drop(infra, retry_service, capsys):
    container = retry_service("1,1")
    uri = infra.amqp_uri
    replayed, dropped = reminded_envelope(), reminded_envelope()
    assert deadletters.dead_letter_counts(uri, SERVICE) == {DEAD: None}  # no dead letter yet: no queue
    with Connection(uri) as connection:  # as the consumer does at its first dead letter
        dead_letter_queue(SERVICE, EVENT)(connection.default_channel).declare()
    for envelope in (replayed, dropped):
        put(
            uri,
            DEAD,
            envelope,
            {
                ATTEMPTS_HEADER: 3,
                REASON_HEADER: "handler_failed",
                ERROR_HEADER: "LookupError",
                EVENT_ID_HEADER: envelope["event_id"],
                FIRST_FAILURE_HEADER: "2026-11-23T10:00:00+00:00",
            },
        )
    assert deadletters.dead_letter_counts(uri, SERVICE) == {DEAD: 2}
    capsys.readouterr()

    assert run(deadletters.main, uri, "list") == 1  # dead letters present
    assert f"{DEAD}\t2" in capsys.readouterr().out
    assert run(deadletters.main, uri, "show", DEAD) == 0
    shown = capsys.readouterr().out
    assert replayed["event_id"] in shown and "handler_failed" in shown and "tentativi 3" in shown
    assert CF not in shown  # the payload only on request
    assert run(deadletters.main, uri, "show", DEAD, "--payload") == 0
    assert CF in capsys.readouterr().out
    assert waiting(uri, DEAD) == 2  # looking removes nothing

    def processed(worker_ctx, result, exc_info):
        return worker_ctx.args[0].event_id == replayed["event_id"] and exc_info is None

    with entrypoint_waiter(container, "on_request_reminded", callback=processed, timeout=15):
        replay = ("replay", f"{SERVICE}.{EVENT}", "--event-id", replayed["event_id"])
        assert run(deadletters.main, uri, *replay) == 0
    assert APPLIED[replayed["event_id"]] == 1
    assert run(deadletters.main, uri, "replay", DEAD, "--event-id", replayed["event_id"]) == 4  # gone
    assert waiting(uri, DEAD) == 1

    assert run(deadletters.main, uri, "drop", MAIN, "--event-id", dropped["event_id"]) == 0
    assert waiting(uri, DEAD) == 0
    assert APPLIED[dropped["event_id"]] == 0
    assert run(deadletters.main, uri, "show", "combid.nessuno.dead") == 2


def test_a_replayed_dead_letter_starts_again_with_the_whole_schedule(infra, retry_service):
    container = retry_service("1,1")
    envelope = reminded_envelope()
    with Connection(infra.amqp_uri) as connection:
        dead_letter_queue(SERVICE, EVENT)(connection.default_channel).declare()
    put(infra.amqp_uri, DEAD, envelope, {ATTEMPTS_HEADER: 3, REASON_HEADER: "handler_failed", "x-death": []})
    seen = []

    def processed(worker_ctx, result, exc_info):
        if worker_ctx.args[0].event_id != envelope["event_id"]:
            return False
        seen.append(dict(worker_ctx.data))
        return True

    with entrypoint_waiter(container, "on_request_reminded", callback=processed, timeout=15):
        with queue_tools.connect(infra.amqp_uri) as connection:
            assert deadletters.replay(connection, SERVICE, EVENT) >= 1
    assert ATTEMPTS_HEADER not in seen[0] and REASON_HEADER not in seen[0]
    assert APPLIED[envelope["event_id"]] == 1


def close_broker_connections(vhost: str) -> int:
    """What a broker restart does to a consumer: every connection of this vhost is cut."""
    rabbitmqctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    listed = subprocess.run(
        [rabbitmqctl, "-q", "list_connections", "--no-table-headers", "pid", "vhost"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    pids = [line.split("\t")[0] for line in listed.splitlines() if line.endswith("\t" + vhost)]
    for pid in pids:
        subprocess.run(
            [rabbitmqctl, "close_connection", pid, "test: broker outage"], capture_output=True, timeout=60
        )
    return len(pids)


def test_a_consumer_whose_connections_are_cut_mid_failure_stays_up_and_delivers(infra, retry_service):
    assert infra.vhost, "this test cuts the connections of the session's own vhost"
    container = retry_service("1,1")
    envelope = reminded_envelope()
    started, go_on = threading.Event(), threading.Event()
    HOLD[envelope["event_id"]] = (started, go_on)
    FAILURES_LEFT[envelope["event_id"]] = 1
    put(infra.amqp_uri, MAIN, envelope)
    assert started.wait(15)

    try:
        assert close_broker_connections(infra.vhost) >= 1
        go_on.set()  # the handler fails now: its retry copy meets a dead connection

        wait_until(lambda: APPLIED[envelope["event_id"]] >= 1, timeout=60)  # redelivered, not lost
        assert not container._died.ready()  # nameko kills a container whose worker raises
        later = reminded_envelope()
        put(infra.amqp_uri, MAIN, later)
        wait_until(lambda: APPLIED[later["event_id"]] == 1, timeout=30)
    finally:
        kombu.pools.reset()  # this process's pooled connections were cut too: not for later tests


# ---- migration of an earlier layout --------------------------------------------------


def event_ids_in(amqp_uri: str, name: str) -> set[str]:
    """Take every message waiting in a queue; their event ids."""
    ids = set()
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while (message := channel.basic_get(name, no_ack=True)) is not None:
            ids.add(json.loads(message.body)["event_id"])
        channel.close()
    return ids


def declares_as_today(amqp_uri: str, queue: Queue) -> bool:
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        try:
            queue(channel).declare()
            return True
        except PreconditionFailed:
            return False
        finally:
            channel.close() if channel.is_open else None


def test_migrate_converts_classic_queues_keeping_their_messages(infra, monkeypatch, capsys):
    monkeypatch.setitem(SUBSCRIPTIONS, SERVICE, (EVENT,))
    uri = infra.amqp_uri
    legacy_retry = legacy_retry_queue_name(SERVICE, EVENT)
    delete_queues(uri, MAIN, DEAD, legacy_retry)
    with Connection(uri) as connection:  # the layout of earlier versions: classic queues
        channel = connection.channel()
        channel.exchange_delete(queue_tools.LAYOUT_MARKER.name)  # earlier versions had no marker
        Queue(MAIN, exchange=events_exchange, routing_key=EVENT, durable=True)(channel).declare()
        Queue(DEAD, durable=True)(channel).declare()
        Queue(
            legacy_retry,
            durable=True,
            queue_arguments={
                "x-message-ttl": 600_000,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": MAIN,
            },
        )(channel).declare()
    main_envelopes = [reminded_envelope() for _ in range(3)]
    for envelope in main_envelopes:
        put(uri, MAIN, envelope)
    retrying = reminded_envelope()
    put(uri, legacy_retry, retrying, {ATTEMPTS_HEADER: 2})
    dead = reminded_envelope()
    put(uri, DEAD, dead, {REASON_HEADER: "handler_failed", LEGACY_DETAIL_HEADER: f"IntegrityError {CF}"})
    assert not declares_as_today(uri, consumer_queue(SERVICE, EVENT))
    capsys.readouterr()

    assert run(queue_tools.main, uri, "migrate", "--dry-run") == 0
    planned = capsys.readouterr().out
    assert MAIN in planned and DEAD in planned and legacy_retry in planned
    assert not declares_as_today(uri, consumer_queue(SERVICE, EVENT))  # a dry run changes nothing

    with Connection(uri) as busy:  # a consumer attached: refused, nothing touched
        channel = busy.channel()
        channel.basic_qos(0, 1, False)
        channel.basic_consume(DEAD, callback=lambda message: None)
        assert run(queue_tools.main, uri, "migrate") == 1
        assert "make stop" in capsys.readouterr().err
    wait_until(lambda: waiting(uri, DEAD) == 1)  # given back when that consumer went away

    assert run(queue_tools.main, uri) == 0  # the plain declare of `make run` converts by itself
    assert declares_as_today(uri, consumer_queue(SERVICE, EVENT))
    assert declares_as_today(uri, dead_letter_queue(SERVICE, EVENT))
    assert waiting(uri, legacy_retry) is None and waiting(uri, MAIN + ".migrating") is None
    # (a retry left by an earlier test may come back too: at-least-once dead-lettering keeps
    # it in its delay queue until its consumer's queue exists again)
    assert {e["event_id"] for e in main_envelopes} | {retrying["event_id"]} <= event_ids_in(uri, MAIN)
    body, headers = get_message(uri, DEAD)
    assert body["event_id"] == dead["event_id"] and headers[REASON_HEADER] == "handler_failed"
    assert LEGACY_DETAIL_HEADER not in headers  # the exception text of earlier versions is gone

    probe = reminded_envelope()
    publish_raw(uri, EVENT, probe)  # still bound to the events exchange
    get_message(uri, MAIN, matching=lambda b: b["event_id"] == probe["event_id"])
    get_message(uri, queue_name("reporting", EVENT), matching=lambda b: b["event_id"] == probe["event_id"])
    capsys.readouterr()
    assert run(queue_tools.main, uri) == 0
    assert "da convertire" not in capsys.readouterr().out
    delete_queues(uri, MAIN, DEAD)
