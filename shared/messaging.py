"""Broker topology: one durable topic exchange for events; per (consumer, event type) a main
queue and a dead-letter queue; one shared delay queue per retry delay.

The table ``SUBSCRIPTIONS`` is the single truth of who consumes what. ``declare_topology``
declares the exchanges and every main queue with its binding before any service starts
(``make run``, the test harness, the container entrypoint: ``declare_topology`` in
``shared.queue_tools``, which also holds the command), so an event published while a
consumer is stopped waits in that consumer's queue instead of vanishing; delay and
dead-letter queues are declared by a consumer when it first needs one. A handler whose
(service, event type) is missing from the table refuses to start.

    combid.events (topic) --rk=<event type>--> combid.<service>.<event type>
    failed handler --> combid.retry (headers, combid-retry-delay=30s) --> combid.retry.30s
        (TTL 30 s, then dead-lettered through the default exchange with the routing key it
        was published with: the consumer's main queue name) --> back to that main queue
    poison/exhausted --> combid.<service>.<event type>.dead (headers say why)

A failing handler is retried after each delay of the retry schedule (about an hour in
all by default; ``RETRY_SCHEDULE_SECONDS`` in the service config or the environment, a
comma list of seconds, overrides it), then dead-lettered. Every queue is a quorum queue
(replicated on a cluster); delay queues dead-letter at-least-once, which RabbitMQ (3.10+)
allows only with ``x-overflow: reject-publish``. A quorum queue costs the broker a few
file handles even when empty: the broker needs a high open-files limit (RabbitMQ advises
65536). Queues left by earlier versions (classic queues, per-consumer ``.retry`` queues)
are converted without losing messages by ``python -m shared.queue_tools migrate``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kombu import Exchange, Queue

from shared.events import EVENT_TYPES

EVENTS_EXCHANGE_NAME = "combid.events"
RETRY_EXCHANGE_NAME = "combid.retry"

RETRY_SCHEDULE_KEY = "RETRY_SCHEDULE_SECONDS"
# 1+2+5+10+30+60+120+300+5*600 s = 3528 s: an SMTP or database outage of up to an hour
# costs a delay, not a message.
DEFAULT_RETRY_SCHEDULE_SECONDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 600, 600, 600, 600)
MAX_RETRY_DELAY_SECONDS = 24 * 3600

# Headers of the wire format (consumer, dead-letter tools). None carries personal data.
ATTEMPTS_HEADER = "x-combid-attempts"
REASON_HEADER = "x-combid-dead-letter-reason"
ERROR_HEADER = "x-combid-error-class"
FIELDS_HEADER = "x-combid-invalid-fields"
FIRST_FAILURE_HEADER = "x-combid-first-failure"
EVENT_ID_HEADER = "x-combid-event-id"
EVENT_TYPE_HEADER = "x-combid-event-type"
# No "x-" prefix: a headers exchange ignores binding arguments starting with "x-" under
# x-match=all, so such a binding would match every delay queue at once.
RETRY_DELAY_HEADER = "combid-retry-delay"
# Written by earlier versions with the exception text (which may quote personal data).
LEGACY_DETAIL_HEADER = "x-combid-dead-letter-detail"

QUORUM = {"x-queue-type": "quorum"}

SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": ("request_routed", "contact_center_message"),
    "routing": (
        "request_submitted",
        "request_subject_changed",
        # whether a request is closed: a closed request is not reassigned
        "request_closed",
        "request_followup_added",
    ),
    "notify": (
        "request_submitted",
        "request_routed",
        "request_taken_in_charge",
        "request_answered",
        "request_closed",
        "outbound_message_sent",
        "appointment_booked",
        "appointment_cancelled",
        "appointment_reminder_due",
        "report_published",
    ),
    "reporting": (
        "request_submitted",
        "request_routed",
        "request_taken_in_charge",
        "request_answered",
        "request_followup_added",
        "request_reminded",
        "request_subject_changed",
        "request_closed",
        "outbound_message_sent",
        "contact_center_message_recorded",
        "appointment_booked",
        "appointment_cancelled",
        "appointment_held",
        "appointment_no_show",
    ),
    "agenda": (
        "request_submitted",
        "request_routed",
        "request_answered",
        "request_followup_added",
        "request_closed",
    ),
}

events_exchange = Exchange(EVENTS_EXCHANGE_NAME, type="topic", durable=True)
retry_exchange = Exchange(RETRY_EXCHANGE_NAME, type="headers", durable=True)


# ---- retry schedule ------------------------------------------------------------------


def parse_retry_schedule(value) -> tuple[int, ...]:
    """Delays in milliseconds from "1,2,5" or a list of seconds; ValueError if not usable."""
    if isinstance(value, (int, float)):  # a YAML config may give one number
        value = [value]
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        seconds = [float(str(item).strip()) for item in items]
    except ValueError:
        raise ValueError(
            f"{RETRY_SCHEDULE_KEY}: attesi secondi separati da virgole, ricevuto {value!r}"
        ) from None
    if not seconds or any(not 0 < s <= MAX_RETRY_DELAY_SECONDS for s in seconds):
        raise ValueError(f"{RETRY_SCHEDULE_KEY}: ogni attesa tra 0 e {MAX_RETRY_DELAY_SECONDS} secondi")
    return tuple(max(1, round(s * 1000)) for s in seconds)


def retry_schedule(config: Mapping | None = None) -> tuple[int, ...]:
    """The schedule in force: the service config's key, else the environment, else the default."""
    for source in (config or {}, os.environ):
        value = source.get(RETRY_SCHEDULE_KEY)
        if value not in (None, ""):
            return parse_retry_schedule(value)
    return parse_retry_schedule(DEFAULT_RETRY_SCHEDULE_SECONDS)


def retry_delay(failed_attempt: int, schedule: tuple[int, ...]) -> int | None:
    """Milliseconds to wait after attempt ``failed_attempt`` (1 = first delivery) failed,
    or None when the schedule is spent and the message goes to its dead-letter queue."""
    if 1 <= failed_attempt <= len(schedule):
        return schedule[failed_attempt - 1]
    return None


def max_delivery_attempts(schedule: tuple[int, ...]) -> int:
    return len(schedule) + 1


def delay_label(delay_ms: int) -> str:
    return f"{delay_ms // 1000}s" if delay_ms % 1000 == 0 else f"{delay_ms}ms"


# ---- queues --------------------------------------------------------------------------


def queue_name(service: str, event_type: str) -> str:
    return f"combid.{service}.{event_type}"


def dead_letter_queue_name(service: str, event_type: str) -> str:
    return queue_name(service, event_type) + ".dead"


def legacy_retry_queue_name(service: str, event_type: str) -> str:
    """The per-consumer retry queue of earlier versions (removed by the migration)."""
    return queue_name(service, event_type) + ".retry"


def delay_queue_name(delay_ms: int) -> str:
    return f"{RETRY_EXCHANGE_NAME}.{delay_label(delay_ms)}"


def consumer_queue(service: str, event_type: str) -> Queue:
    """The queue a consumer reads; nameko declares this very object, so its arguments are
    the ones ``declare_topology`` uses (a difference would make the broker refuse it)."""
    if event_type not in SUBSCRIPTIONS.get(service, ()):
        raise LookupError(
            f"{service} consumes {event_type} but shared/messaging.py SUBSCRIPTIONS does not say so"
        )
    return Queue(
        queue_name(service, event_type),
        exchange=events_exchange,
        routing_key=event_type,
        durable=True,
        queue_arguments=dict(QUORUM),
    )


def delay_queue(delay_ms: int) -> Queue:
    # No x-dead-letter-routing-key: an expired message keeps the routing key it was
    # published with (the consumer's main queue name), so one delay queue serves everyone.
    return Queue(
        delay_queue_name(delay_ms),
        exchange=retry_exchange,
        routing_key="",
        binding_arguments={"x-match": "all", RETRY_DELAY_HEADER: delay_label(delay_ms)},
        durable=True,
        queue_arguments={
            **QUORUM,
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def dead_letter_queue(service: str, event_type: str) -> Queue:
    return Queue(dead_letter_queue_name(service, event_type), durable=True, queue_arguments=dict(QUORUM))


def subscriptions() -> list[tuple[str, str]]:
    return [(service, event_type) for service, types in SUBSCRIPTIONS.items() for event_type in types]


def all_queues(schedule: tuple[int, ...] | None = None) -> list[Queue]:
    queues = []
    for service, event_type in subscriptions():
        queues += [consumer_queue(service, event_type), dead_letter_queue(service, event_type)]
    for delay_ms in sorted(set(schedule or retry_schedule())):
        queues.append(delay_queue(delay_ms))
    return queues


def unsubscribed_event_types() -> list[str]:
    consumed = {t for types in SUBSCRIPTIONS.values() for t in types}
    return [t for t in EVENT_TYPES if t not in consumed]


def declared_ahead() -> list[Queue]:
    """The queues declared before any service starts: every consumer's main queue, so that
    no event is lost while a consumer is down. Delay and dead-letter queues are declared
    by the consumer when it first needs one (same arguments): each quorum queue costs the
    broker file handles, so a vhost holds only those in use."""
    return [consumer_queue(service, event_type) for service, event_type in subscriptions()]
