"""The event contract: envelopes and payloads validated on both sides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.events import EVENT_TYPES, InvalidEvent, make_event, parse_event
from shared.messaging import SUBSCRIPTIONS, consumer_queue, unsubscribed_event_types

ROUTED = {
    "request_id": str(uuid.uuid4()),
    "assignment": {"kind": "sede", "code": "0701", "name": "Roma", "reason": "CAP", "queue": "pensioni"},
    "rule": "operatore_generico_cap",
    "reference_version": "v1",
    "decided_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
}


def test_round_trip_keeps_payload_and_envelope():
    event = make_event("request_routed", ROUTED, producer="routing", correlation_id="c-1")
    parsed = parse_event(event.to_message())
    assert parsed.event_id == event.event_id
    assert parsed.correlation_id == "c-1"
    assert str(parsed.payload["request_id"]) == ROUTED["request_id"]
    assert parsed.payload["decided_at"] == ROUTED["decided_at"]


def test_invalid_payload_is_refused_on_publish():
    with pytest.raises(InvalidEvent) as refused:
        make_event("request_routed", dict(ROUTED, assignment={"kind": "nowhere"}), producer="routing")
    assert refused.value.reason == "invalid_payload"


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda m: m.pop("event_id"), "invalid_envelope"),
        (lambda m: m.update(version=2), "unknown_event_version"),
        (lambda m: m.update(type="request_teleported"), "unknown_event_version"),
        (lambda m: m["payload"].pop("rule"), "invalid_payload"),
        (lambda m: m["payload"].update(extra=1), "invalid_payload"),
        (lambda m: m.update(occurred_at="2026-11-23T10:00:00"), "invalid_envelope"),
    ],
)
def test_parse_refuses_what_breaks_the_contract(mutate, reason):
    message = make_event("request_routed", ROUTED, producer="routing").to_message()
    mutate(message)
    with pytest.raises(InvalidEvent) as refused:
        parse_event(message)
    assert refused.value.reason == reason


def test_every_event_type_has_a_consumer_so_mandatory_publish_never_blocks():
    assert unsubscribed_event_types() == []
    assert set(EVENT_TYPES) >= {t for types in SUBSCRIPTIONS.values() for t in types}


def test_a_handler_not_in_the_subscription_table_refuses_to_start():
    with pytest.raises(LookupError):
        consumer_queue("agenda", "outbound_message_sent")


@pytest.mark.parametrize(
    "change",
    [{"matricola": "70123"}, {"matricola": None, "codice_fiscale": None}, {"kind": "telegram"}],
)
def test_contact_center_messages_that_name_no_one_valid_are_refused(change):
    payload = {
        "message_id": "fax-1",
        "kind": "fax_inbound",
        "matricola": "7012345678",
        "codice_fiscale": None,
        "sender": "Studio",
        "subject": "DM10",
        "text": "testo",
        "occurred_at": datetime(2026, 11, 23, tzinfo=UTC),
    }
    payload.update(change)
    with pytest.raises(InvalidEvent):
        make_event("contact_center_message", payload, producer="contact-center")
