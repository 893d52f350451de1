"""``event_handler``: the entrypoint every service uses to consume events.

It extends nameko's ``Consumer`` with the delivery rules of the project:

- the queue comes from ``shared.messaging`` (declared ahead, survives consumer downtime);
- the envelope and payload are validated with the schemas in ``shared.events``; the
  handler receives a parsed ``Event``;
- an invalid envelope, an unknown type/version or an invalid payload is dead-lettered at
  once with the reason in the headers (retrying cannot fix it);
- a handler that raises is retried after each delay of the retry schedule (through the
  shared delay queues of ``shared.messaging``, about an hour in all by default), then
  dead-lettered;
- the original message is acknowledged only after the retry/dead-letter copy has been
  confirmed by the broker, so nothing is lost and nothing loops forever;
- if that copy cannot be published (the broker went away), the failure is logged and the
  message left to the broker, which delivers it again: the container never dies of it
  (nameko kills a container whose worker or consumer thread raises).

Headers and logs carry reason codes, the exception class and ids, never the exception
text, which may quote personal data (a codice fiscale, a request's text).

Idempotency (the inbox) is the handler's job through ``DatabaseAccess.apply_once``.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
import uuid
from datetime import UTC, datetime

import eventlet
from nameko import config
from nameko.amqp.publish import Publisher
from nameko.messaging import Consumer

from shared import metrics
from shared.events import EVENT_TYPES, InvalidEvent, parse_event
from shared.messaging import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    FIELDS_HEADER,
    FIRST_FAILURE_HEADER,
    LEGACY_DETAIL_HEADER,
    REASON_HEADER,
    RETRY_DELAY_HEADER,
    RETRY_EXCHANGE_NAME,
    consumer_queue,
    dead_letter_queue,
    delay_label,
    delay_queue,
    retry_delay,
    retry_schedule,
)

__all__ = ["ATTEMPTS_HEADER", "REASON_HEADER", "EventHandler", "event_handler"]

log = logging.getLogger(__name__)

# After a copy could not be published on a live connection, wait before handing the
# message back, so a persistent fault costs a log line every few seconds, not a busy loop.
FORWARD_FAILURE_PAUSE_SECONDS = 5.0
_FIELD_PATH = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


def _decode(body):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        return json.loads(body)
    return body


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def invalid_fields(detail, prefix: str = "") -> list[str]:
    """Paths of the fields a validation error names (never their values or messages)."""
    if not isinstance(detail, dict):
        return []
    paths = []
    for key, value in detail.items():
        path = f"{prefix}{key}"
        nested = invalid_fields(value, path + ".") if isinstance(value, dict) else []
        paths += nested or ([path] if _FIELD_PATH.match(path) else [])
    return paths[:20]


def identity_headers(body) -> dict:
    """Event id and type of a raw message, when well-formed (they are ids, not personal data)."""
    headers = {}
    if isinstance(body, dict):
        try:
            headers[EVENT_ID_HEADER] = str(uuid.UUID(str(body.get("event_id"))))
        except ValueError:
            pass
        if body.get("type") in EVENT_TYPES:
            headers[EVENT_TYPE_HEADER] = body["type"]
    return headers


class RetryLater(Exception):
    """An event arrived before one it depends on (a step before the submission, a
    re-routing before the first decision): raised on purpose, the delivery is retried after
    the schedule's delay, by which time the earlier event has usually been applied."""


class EventHandler(Consumer):
    def __init__(self, event_type: str, **kwargs):
        self.event_type = event_type
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        service = self.container.service_name
        self.queue = consumer_queue(service, self.event_type)
        self._dead_queue = dead_letter_queue(service, self.event_type)
        self._schedule = retry_schedule(config)
        self._publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True, serializer="json")
        super().setup()

    # -- receiving ----------------------------------------------------------------------

    def handle_message(self, body, message):
        try:
            event = parse_event(_decode(body))
        except (InvalidEvent, ValueError) as exc:
            self._refuse(body, message, exc)
            return
        except Exception as exc:  # on the consumer thread, raising would kill the container
            log.error("%s: unreadable message (%s), dead-lettered", self.queue.name, type(exc).__name__)
            self._dead_letter_later(message, {REASON_HEADER: "unreadable", ERROR_HEADER: type(exc).__name__})
            return
        if event.type != self.event_type:
            self._dead_letter_later(
                message,
                {
                    REASON_HEADER: "unexpected_type",
                    EVENT_ID_HEADER: event.event_id,
                    EVENT_TYPE_HEADER: event.type,
                },
            )
            return
        super().handle_message(event, message)

    def _refuse(self, body, message, exc):
        reason = exc.reason if isinstance(exc, InvalidEvent) else "not_json"
        try:
            headers = identity_headers(_decode(body))
        except ValueError:
            headers = {}
        prefix = "payload." if reason == "invalid_payload" else ""  # payload errors name payload fields
        fields = invalid_fields(exc.detail, prefix) if isinstance(exc, InvalidEvent) else []
        headers.update({REASON_HEADER: reason, FIELDS_HEADER: ",".join(fields)})
        log.error(
            "%s: dead-lettering invalid event %s: %s (fields: %s)",
            self.queue.name,
            headers.get(EVENT_ID_HEADER, "-"),
            reason,
            ",".join(fields) or "-",
        )
        self._dead_letter_later(message, headers)

    def _dead_letter_later(self, message, headers):
        # Off the consumer thread: publishing may wait for the broker, and the consumer
        # thread must keep serving the connection (heartbeats, other deliveries).
        self.container.spawn_managed_thread(
            lambda: self._forward(message, "", self._dead_queue.name, self._dead_queue, headers),
            identifier=f"dead_letter[{self.queue.name}]",
        )

    # -- after the handler --------------------------------------------------------------

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        # Runs in the worker thread: anything raised here would kill the whole container.
        try:
            if exc_info is None:
                self.consumer.ack_message(message)
            else:
                self._retry_or_dead_letter(message, worker_ctx.args[0], exc_info[0].__name__)
        except Exception as exc:
            log.warning("%s: settling a delivery failed (%s)", self.queue.name, type(exc).__name__)
            self._give_back_later(message)
        return result, exc_info

    def _retry_or_dead_letter(self, message, event, error_class: str):
        headers = dict(message.headers or {})
        attempts = _int(headers.get(ATTEMPTS_HEADER), 1)
        first_failure = headers.get(FIRST_FAILURE_HEADER) or datetime.now(UTC).isoformat()
        state = {
            ERROR_HEADER: error_class,
            FIRST_FAILURE_HEADER: first_failure,
            EVENT_ID_HEADER: event.event_id,
            EVENT_TYPE_HEADER: event.type,
        }
        delay_ms = retry_delay(attempts, self._schedule)
        if delay_ms is not None:
            log.warning(
                "%s: event %s attempt %s failed (%s), retrying in %s",
                self.queue.name,
                event.event_id,
                attempts,
                error_class,
                delay_label(delay_ms),
            )
            state.update({ATTEMPTS_HEADER: attempts + 1, RETRY_DELAY_HEADER: delay_label(delay_ms)})
            # Routing key = our main queue: the delay queue dead-letters it back there.
            self._forward(message, RETRY_EXCHANGE_NAME, self.queue.name, delay_queue(delay_ms), state)
        else:
            log.error(
                "%s: event %s failed %s times (%s), dead-lettered",
                self.queue.name,
                event.event_id,
                attempts,
                error_class,
            )
            state.update({ATTEMPTS_HEADER: attempts, REASON_HEADER: "handler_failed"})
            self._forward(message, "", self._dead_queue.name, self._dead_queue, state)

    # -- forwarding ---------------------------------------------------------------------

    def _forward(self, message, exchange: str, routing_key: str, destination, extra_headers: dict):
        """Publish a confirmed copy, then ack the original. Never raises (see the module doc)."""
        headers = dict(message.headers or {})
        headers.pop(LEGACY_DETAIL_HEADER, None)
        headers.update(extra_headers)
        properties = message.properties or {}
        try:
            # Re-send the raw bytes as received, so the dead-letter queue keeps the exact input.
            self._publisher.publish(
                message.body,
                exchange=exchange,
                routing_key=routing_key,
                headers=headers,
                declare=[destination],
                serializer=None,
                content_type=message.content_type or "application/json",
                content_encoding=message.content_encoding or "utf-8",
                message_id=properties.get("message_id"),
                correlation_id=properties.get("correlation_id"),
            )
        except Exception as exc:
            log.warning(
                "%s: could not forward event %s to %s (%s); the broker will deliver it again",
                self.queue.name,
                extra_headers.get(EVENT_ID_HEADER, "-"),
                destination.name,
                type(exc).__name__,
            )
            self._give_back_later(message)
            return
        if destination is self._dead_queue:
            metrics.dead_lettered(extra_headers.get(EVENT_TYPE_HEADER), extra_headers.get(REASON_HEADER))
        else:
            metrics.retried(extra_headers.get(EVENT_TYPE_HEADER))
        try:
            self.consumer.ack_message(message)
        except Exception as exc:  # the connection went away after the copy: a duplicate, deduped
            log.warning("%s: ack failed (%s)", self.queue.name, type(exc).__name__)

    def _give_back_later(self, message):
        try:
            eventlet.sleep(FORWARD_FAILURE_PAUSE_SECONDS)
            # A no-op when the connection is gone: the broker already took the message back.
            self.consumer.requeue_message(message)
        except Exception as exc:
            log.warning("%s: requeue failed (%s)", self.queue.name, type(exc).__name__)


event_handler = EventHandler.decorator


class _HandlerErrorsWithoutText(logging.Filter):
    """nameko logs a failing worker with the exception text, which may quote personal data
    (an SQL parameter, a request's text): for event handlers keep the class and the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.exc_info and args and isinstance(getattr(args[0], "entrypoint", None), EventHandler):
            exc_type, _, tb = record.exc_info
            record.args = (args[0], exc_type.__name__)
            record.exc_text = (
                "Traceback (most recent call last):\n"
                + "".join(traceback.format_tb(tb))
                + f"{exc_type.__module__}.{exc_type.__name__} (testo omesso: può contenere dati personali)"
            )
        return True


_containers_log = logging.getLogger("nameko.containers")
if not any(isinstance(f, _HandlerErrorsWithoutText) for f in _containers_log.filters):
    _containers_log.addFilter(_HandlerErrorsWithoutText())
