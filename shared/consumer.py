"""``event_handler``: the entrypoint every service uses to consume events.

It extends nameko's ``Consumer`` with the delivery rules of the project:

- the queue comes from ``shared.messaging`` (declared ahead, survives consumer downtime);
- the envelope and payload are validated with the schemas in ``shared.events``; the
  handler receives a parsed ``Event``;
- an invalid envelope, an unknown type/version or an invalid payload is dead-lettered at
  once with the reason in the headers (retrying cannot fix it);
- a handler that raises is retried after a delay (via the retry queue) up to
  ``MAX_DELIVERY_ATTEMPTS`` times, then dead-lettered with the last error;
- the original message is acknowledged only after the retry/dead-letter copy has been
  confirmed by the broker, so nothing is lost and nothing loops forever.

Idempotency (the inbox) is the handler's job through ``DatabaseAccess.apply_once``.
"""
from __future__ import annotations

import json
import logging
import traceback

from nameko import config
from nameko.amqp.publish import Publisher
from nameko.messaging import Consumer

from shared.events import InvalidEvent, parse_event
from shared.messaging import (
    MAX_DELIVERY_ATTEMPTS,
    consumer_queue,
    dead_letter_queue,
    retry_queue,
)

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-combid-attempts"
REASON_HEADER = "x-combid-dead-letter-reason"
DETAIL_HEADER = "x-combid-dead-letter-detail"


def _decode(body):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        return json.loads(body)
    return body


class EventHandler(Consumer):
    def __init__(self, event_type: str, **kwargs):
        self.event_type = event_type
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        service = self.container.service_name
        self.queue = consumer_queue(service, self.event_type)
        self._retry_queue = retry_queue(service, self.event_type)
        self._dead_queue = dead_letter_queue(service, self.event_type)
        self._publisher = Publisher(config["AMQP_URI"], use_confirms=True, serializer="json")
        super().setup()

    # -- receiving ----------------------------------------------------------------------

    def handle_message(self, body, message):
        try:
            event = parse_event(_decode(body))
        except (InvalidEvent, ValueError) as exc:
            reason = exc.reason if isinstance(exc, InvalidEvent) else "not_json"
            detail = exc.detail if isinstance(exc, InvalidEvent) else str(exc)
            log.error("%s: dead-lettering invalid event: %s %s", self.queue.name, reason, detail)
            self._dead_letter(body, message, reason, detail)
            return
        if event.type != self.event_type:
            self._dead_letter(body, message, "unexpected_type", f"atteso {self.event_type}, ricevuto {event.type}")
            return
        super().handle_message(event, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.consumer.ack_message(message)
            return
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 1))
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if attempts < MAX_DELIVERY_ATTEMPTS:
            log.warning("%s: attempt %s failed (%s), retrying", self.queue.name, attempts, error)
            self._republish(message, self._retry_queue, {ATTEMPTS_HEADER: attempts + 1})
        else:
            log.error("%s: giving up after %s attempts: %s", self.queue.name, attempts, error)
            self._republish(
                message,
                self._dead_queue,
                {ATTEMPTS_HEADER: attempts, REASON_HEADER: "handler_failed", DETAIL_HEADER: error[:2000]},
            )

    # -- forwarding ---------------------------------------------------------------------

    def _dead_letter(self, body, message, reason, detail):
        detail_text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, default=str)
        self._republish(message, self._dead_queue, {REASON_HEADER: reason, DETAIL_HEADER: detail_text[:2000]})

    def _republish(self, message, queue, extra_headers):
        headers = dict(message.headers or {})
        headers.update(extra_headers)
        # Re-send the raw bytes as received, so the dead-letter queue keeps the exact input.
        self._publisher.publish(
            message.body,
            exchange="",
            routing_key=queue.name,
            headers=headers,
            declare=[queue],
            serializer=None,
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8",
            message_id=(message.properties or {}).get("message_id"),
        )
        self.consumer.ack_message(message)


event_handler = EventHandler.decorator
