"""Broker topology: one durable topic exchange for events, and per (consumer, event type)
a main queue, a retry queue and a dead-letter queue.

The table ``SUBSCRIPTIONS`` is the single truth of who consumes what. ``declare_topology``
declares every queue and binding from it before any service starts (``make run``, the test
harness, the container entrypoint), so an event published while a consumer is stopped
waits in that consumer's queue instead of vanishing. A handler whose (service, event type)
is missing from the table refuses to start.

    combid.events (topic) --rk=<event type>--> combid.<service>.<event type>
    failed handler  --> combid.<service>.<event type>.retry (TTL) --> back to main queue
    poison/exhausted --> combid.<service>.<event type>.dead (headers say why)
"""
from __future__ import annotations

from kombu import Connection, Exchange, Queue

from shared.events import EVENT_TYPES

EVENTS_EXCHANGE_NAME = "combid.events"
RETRY_DELAY_MS = 2000
MAX_DELIVERY_ATTEMPTS = 6

SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": ("request_routed", "contact_center_message"),
    "routing": ("request_submitted", "request_subject_changed"),
    "notify": ("request_submitted", "request_routed", "request_closed", "outbound_message_sent"),
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
    ),
    "agenda": ("request_submitted", "request_answered", "request_followup_added", "request_closed"),
}

events_exchange = Exchange(EVENTS_EXCHANGE_NAME, type="topic", durable=True)


def queue_name(service: str, event_type: str) -> str:
    return f"combid.{service}.{event_type}"


def retry_queue_name(service: str, event_type: str) -> str:
    return queue_name(service, event_type) + ".retry"


def dead_letter_queue_name(service: str, event_type: str) -> str:
    return queue_name(service, event_type) + ".dead"


def consumer_queue(service: str, event_type: str) -> Queue:
    if event_type not in SUBSCRIPTIONS.get(service, ()):
        raise LookupError(
            f"{service} consumes {event_type} but shared/messaging.py SUBSCRIPTIONS does not say so"
        )
    return Queue(
        queue_name(service, event_type),
        exchange=events_exchange,
        routing_key=event_type,
        durable=True,
    )


def retry_queue(service: str, event_type: str) -> Queue:
    # Messages wait here RETRY_DELAY_MS, then the broker dead-letters them back to the
    # main queue through the default exchange: a delayed retry without blocking a worker.
    return Queue(
        retry_queue_name(service, event_type),
        durable=True,
        queue_arguments={
            "x-message-ttl": RETRY_DELAY_MS,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name(service, event_type),
        },
    )


def dead_letter_queue(service: str, event_type: str) -> Queue:
    return Queue(dead_letter_queue_name(service, event_type), durable=True)


def all_queues() -> list[Queue]:
    queues = []
    for service, event_types in SUBSCRIPTIONS.items():
        for event_type in event_types:
            queues += [
                consumer_queue(service, event_type),
                retry_queue(service, event_type),
                dead_letter_queue(service, event_type),
            ]
    return queues


def unsubscribed_event_types() -> list[str]:
    consumed = {t for types in SUBSCRIPTIONS.values() for t in types}
    return [t for t in EVENT_TYPES if t not in consumed]


def declare_topology(amqp_uri: str) -> list[str]:
    """Declare the exchange and every queue/binding; idempotent. Returns the queue names."""
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        events_exchange(channel).declare()
        for queue in all_queues():
            queue(channel).declare()
    return [queue.name for queue in all_queues()]


def main() -> None:  # pragma: no cover - thin command
    import argparse
    import os

    from shared.config import LOCAL_DEFAULTS

    parser = argparse.ArgumentParser(description="Dichiara exchange e code degli eventi")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"]))
    args = parser.parse_args()
    names = declare_topology(args.amqp_uri)
    print(f"topologia dichiarata: exchange {EVENTS_EXCHANGE_NAME}, {len(names)} code")


if __name__ == "__main__":  # pragma: no cover
    main()
