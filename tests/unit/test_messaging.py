"""Retry schedule, queue arguments and the consumer's settling rules, without a broker."""

from __future__ import annotations

import logging
import sys
import uuid
from types import SimpleNamespace

import pytest

from shared import consumer as consumer_module
from shared.consumer import EventHandler, identity_headers, invalid_fields
from shared.events import InvalidEvent, make_event, parse_event
from shared.messaging import (
    ATTEMPTS_HEADER,
    DEFAULT_RETRY_SCHEDULE_SECONDS,
    ERROR_HEADER,
    EVENT_ID_HEADER,
    FIRST_FAILURE_HEADER,
    REASON_HEADER,
    RETRY_DELAY_HEADER,
    RETRY_EXCHANGE_NAME,
    all_queues,
    consumer_queue,
    dead_letter_queue,
    declared_ahead,
    delay_label,
    delay_queue,
    delay_queue_name,
    max_delivery_attempts,
    parse_retry_schedule,
    queue_name,
    retry_delay,
    retry_schedule,
    subscriptions,
)

CF = "RSSMRA85T10A562S"


# ---- schedule ------------------------------------------------------------------------


def test_default_schedule_outlasts_an_outage_of_about_an_hour(monkeypatch):
    monkeypatch.delenv("RETRY_SCHEDULE_SECONDS", raising=False)
    schedule = retry_schedule({})
    assert 55 * 60 <= sum(schedule) / 1000 <= 65 * 60
    assert list(schedule) == sorted(schedule)  # backoff: never shorter than the previous wait
    assert max_delivery_attempts(schedule) == len(DEFAULT_RETRY_SCHEDULE_SECONDS) + 1


def test_schedule_comes_from_config_then_environment(monkeypatch):
    monkeypatch.setenv("RETRY_SCHEDULE_SECONDS", "3,4")
    assert retry_schedule({}) == (3000, 4000)
    assert retry_schedule({"RETRY_SCHEDULE_SECONDS": "1, 0.5"}) == (1000, 500)
    assert retry_schedule({"RETRY_SCHEDULE_SECONDS": [2, 2]}) == (2000, 2000)
    assert retry_schedule({"RETRY_SCHEDULE_SECONDS": 7}) == (7000,)


@pytest.mark.parametrize("value", ["", "1,,2", "abc", "0", "-1", "90000"])
def test_an_unusable_schedule_is_refused(value):
    with pytest.raises(ValueError):
        parse_retry_schedule(value)


def test_each_failed_attempt_waits_its_delay_then_the_last_one_dead_letters():
    schedule = (1000, 2000, 5000)
    assert [retry_delay(attempt, schedule) for attempt in (1, 2, 3, 4, 9)] == [1000, 2000, 5000, None, None]
    assert max_delivery_attempts(schedule) == 4


def test_delay_queues_are_named_by_their_delay():
    assert delay_queue_name(30000) == "combid.retry.30s"
    assert delay_queue_name(1500) == "combid.retry.1500ms"
    # one shared queue per distinct delay, whatever the number of consumers
    names = [queue.name for queue in all_queues((1000, 1000, 2000))]
    delays = [name for name in names if name.startswith("combid.retry.")]
    assert delays == ["combid.retry.1s", "combid.retry.2s"]


# ---- topology arguments --------------------------------------------------------------


def test_every_queue_of_the_topology_is_a_durable_quorum_queue():
    queues = all_queues()
    assert queues
    for queue in queues:
        assert queue.durable and not queue.auto_delete and not queue.exclusive
        assert queue.queue_arguments["x-queue-type"] == "quorum"


def test_delay_queue_sends_expired_messages_back_by_their_own_routing_key():
    queue = delay_queue(30000)
    assert queue.queue_arguments == {
        "x-queue-type": "quorum",
        "x-message-ttl": 30000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",  # at-least-once dead-lettering requires it
    }
    assert "x-dead-letter-routing-key" not in queue.queue_arguments
    assert queue.exchange.name == RETRY_EXCHANGE_NAME and queue.exchange.type == "headers"
    # a binding argument starting with "x-" is ignored under x-match=all: it would match every delay
    assert queue.binding_arguments == {"x-match": "all", RETRY_DELAY_HEADER: "30s"}
    assert not RETRY_DELAY_HEADER.startswith("x-")


def test_only_main_queues_are_declared_ahead_the_others_when_first_needed():
    # each quorum queue costs the broker file handles even when empty
    assert {queue.name for queue in declared_ahead()} == {queue_name(s, t) for s, t in subscriptions()}


def test_the_queue_nameko_declares_is_the_one_the_topology_declares():
    declared = {queue.name: queue for queue in all_queues()}
    consumed = consumer_queue("intake", "request_routed")
    assert consumed.queue_arguments == declared[consumed.name].queue_arguments
    assert consumed.exchange.name == "combid.events" and consumed.routing_key == "request_routed"
    dead = dead_letter_queue("intake", "request_routed")
    assert dead.queue_arguments == declared[dead.name].queue_arguments == {"x-queue-type": "quorum"}


# ---- what dead letters and logs may say ----------------------------------------------


def test_invalid_fields_name_paths_never_values():
    detail = {"payload": {"citizen": {"codice_fiscale": [f"{CF} non valido"]}, "text": ["troppo lungo"]}}
    assert invalid_fields(detail) == ["payload.citizen.codice_fiscale", "payload.text"]
    assert invalid_fields("tipo di evento o versione sconosciuti: x v9") == []
    assert invalid_fields({f"{CF} e altro testo": ["Unknown field."]}) == []


def test_identity_headers_keep_only_well_formed_ids():
    event_id = str(uuid.uuid4())
    assert identity_headers({"event_id": event_id, "type": "request_routed"}) == {
        "x-combid-event-id": event_id,
        "x-combid-event-type": "request_routed",
    }
    assert identity_headers({"event_id": CF, "type": CF}) == {}
    assert identity_headers([1, 2]) == {}


# ---- settling a delivery: retry, dead letter, broker gone ----------------------------


class FakePublisher:
    def __init__(self, fail=None):
        self.fail = fail
        self.sent = []

    def publish(self, body, **kwargs):
        if self.fail:
            raise self.fail
        self.sent.append((body, kwargs))


class FakeConsumer:
    def __init__(self):
        self.acked, self.requeued = [], []

    def ack_message(self, message):
        self.acked.append(message)

    def requeue_message(self, message):
        self.requeued.append(message)


def handler_for(publisher, schedule=(1000, 2000)):
    handler = EventHandler("request_routed")
    handler.queue = consumer_queue("intake", "request_routed")
    handler._dead_queue = dead_letter_queue("intake", "request_routed")
    handler._schedule = schedule
    handler._publisher = publisher
    handler.consumer = FakeConsumer()
    return handler


def delivery(headers=None):
    payload = {
        "request_id": str(uuid.uuid4()),
        "assignment": {"kind": "sede", "code": "0701", "name": "Roma", "reason": "CAP", "queue": "pensioni"},
        "rule": "r",
        "reference_version": "v",
        "decided_at": "2026-11-23T10:00:00+00:00",
    }
    event = parse_event(make_event("request_routed", payload, producer="tests").to_message())
    message = SimpleNamespace(
        body=b"{}",
        headers=dict(headers or {}),
        properties={"message_id": event.event_id},
        content_type="application/json",
        content_encoding="utf-8",
    )
    return message, SimpleNamespace(args=(event,)), event


def failure(text=f"violates unique constraint: codice_fiscale={CF}"):
    try:
        raise ValueError(text)
    except ValueError:
        return sys.exc_info()


def test_a_failed_attempt_goes_to_its_delay_queue_routed_back_to_the_main_queue():
    publisher = FakePublisher()
    handler = handler_for(publisher)
    message, worker_ctx, event = delivery()
    handler.handle_result(message, worker_ctx, exc_info=failure())

    ((_, sent),) = publisher.sent
    assert sent["exchange"] == RETRY_EXCHANGE_NAME
    assert sent["routing_key"] == "combid.intake.request_routed"
    assert [queue.name for queue in sent["declare"]] == ["combid.retry.1s"]
    assert sent["headers"][RETRY_DELAY_HEADER] == "1s"
    assert sent["headers"][ATTEMPTS_HEADER] == 2
    assert sent["headers"][EVENT_ID_HEADER] == event.event_id
    assert handler.consumer.acked == [message]


def test_the_last_attempt_dead_letters_with_class_and_ids_but_no_personal_data():
    publisher = FakePublisher()
    handler = handler_for(publisher)
    message, worker_ctx, event = delivery(
        {
            ATTEMPTS_HEADER: 3,
            FIRST_FAILURE_HEADER: "2026-11-23T10:00:00+00:00",
            "x-combid-dead-letter-detail": f"old text {CF}",
        }
    )
    handler.handle_result(message, worker_ctx, exc_info=failure())

    ((_, sent),) = publisher.sent
    assert (sent["exchange"], sent["routing_key"]) == ("", "combid.intake.request_routed.dead")
    headers = sent["headers"]
    assert headers[REASON_HEADER] == "handler_failed"
    assert headers[ERROR_HEADER] == "ValueError"
    assert headers[ATTEMPTS_HEADER] == 3
    assert headers[FIRST_FAILURE_HEADER] == "2026-11-23T10:00:00+00:00"
    assert CF not in repr(headers)
    assert handler.consumer.acked == [message]


def test_when_the_broker_is_gone_the_message_is_left_to_it_and_nothing_raises(monkeypatch):
    monkeypatch.setattr(consumer_module, "FORWARD_FAILURE_PAUSE_SECONDS", 0)
    handler = handler_for(FakePublisher(fail=ConnectionResetError("broker gone")))
    message, worker_ctx, _ = delivery()
    # must not raise: it would kill the container
    handler.handle_result(message, worker_ctx, exc_info=failure())
    assert handler.consumer.acked == []
    assert handler.consumer.requeued == [message]


def test_an_invalid_event_is_refused_with_field_paths_only():
    handler = handler_for(FakePublisher())
    forwarded = []
    handler._dead_letter_later = lambda message, headers: forwarded.append(headers)
    body = {"event_id": str(uuid.uuid4()), "type": "request_routed", "payload": {"codice_fiscale": CF}}
    handler._refuse(body, None, InvalidEvent("invalid_payload", {"codice_fiscale": [f"{CF} errato"]}))
    (headers,) = forwarded
    assert headers[REASON_HEADER] == "invalid_payload"
    assert headers["x-combid-invalid-fields"] == "payload.codice_fiscale"
    assert CF not in repr(headers)


def test_nameko_log_of_a_failing_handler_keeps_the_class_not_the_text(caplog):
    handler = handler_for(FakePublisher())
    worker_ctx = SimpleNamespace(entrypoint=handler)
    logger = logging.getLogger("nameko.containers")
    with caplog.at_level(logging.ERROR, logger="nameko.containers"):
        try:
            raise ValueError(f"codice_fiscale={CF}")
        except ValueError as exc:
            logger.exception("error handling worker %s: %s", worker_ctx, exc)
    text = caplog.text + "".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "ValueError" in text
    assert CF not in text


def test_delay_label_is_readable():
    assert [delay_label(ms) for ms in (1000, 600000, 250)] == ["1s", "600s", "250ms"]
