"""SMS notices through the real HTTP adapter to the test session's SMS sink: numbers
normalised, one SMS per delivery even when sent again, a gateway answering 503 retried, an
invalid number failed once with the reason, SMS switched off by the requester."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from deploy.local.sms_sink import CONTROL_PATH, read_sms
from services.notify import use_cases
from services.notify.dispatch import Dispatcher, RetryPolicy
from services.notify.models import Delivery
from services.notify.sms import HttpSmsGateway, SmsSettings
from shared.clock import FixedClock
from tests.integration.helpers import notify_and_dispatch, submitted_event

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("notify")


@pytest.fixture(scope="module")
def sms_gateway(infra):
    settings = infra.sms_settings()
    return HttpSmsGateway(
        SmsSettings(settings["SMS_GATEWAY_URL"], settings["SMS_GATEWAY_USER"], settings["SMS_GATEWAY_TOKEN"])
    )


class NoMail:
    def send(self, envelope):
        pass


def submitted(sms: str, requester: str | None = None):
    return submitted_event(
        contacts={"email": None, "sms": sms},
        requester=requester or f"op-{secrets.token_hex(3)}",
        submitted_at=NOW,
    )


def submit(sessions, event, sms_gateway, clock=None):
    channels = {"email": NoMail(), "sms": sms_gateway}
    handler = use_cases.notify_protocol_registered
    return notify_and_dispatch(
        sessions, "on_request_submitted", handler, event, channels, clock or FixedClock(NOW)
    )


def sms_delivery(sessions, event) -> Delivery:
    with sessions() as session:
        return session.scalars(
            select(Delivery).where(Delivery.event_id == uuid.UUID(event.event_id), Delivery.channel == "sms")
        ).one()


def received(infra, delivery) -> list[dict]:
    return [sms for sms in read_sms(infra.sms_dir) if sms["order_id"] == str(delivery.id)]


def test_an_italian_mobile_number_gets_the_notice_by_sms(sessions, sms_gateway, infra):
    event = submitted("347 123 4567")

    submit(sessions, event, sms_gateway)

    delivery = sms_delivery(sessions, event)
    assert (delivery.status, delivery.recipient, delivery.sms_parts) == ("sent", "+393471234567", 1)
    (sms,) = received(infra, delivery)
    assert sms["recipient"] == ["+393471234567"] and sms["sender"] == "INPS"
    assert sms["message"].startswith(
        f"INPS: la richiesta n. {event.payload['protocol']} è stata protocollata"
    )


def test_an_invalid_number_fails_once_with_the_reason_and_sends_nothing(sessions, sms_gateway, infra):
    event = submitted("12345")

    submit(sessions, event, sms_gateway)

    delivery = sms_delivery(sessions, event)
    assert (delivery.status, delivery.attempts) == ("failed", 0)
    assert "non valido" in delivery.error or "non è un numero" in delivery.error
    assert received(infra, delivery) == []
    later = FixedClock(NOW + timedelta(minutes=5))
    assert Dispatcher(sessions, {"sms": sms_gateway}, later, RetryPolicy()).dispatch([delivery.id]) == 0


def test_a_gateway_answering_503_is_retried_then_the_sms_is_sent_once(sessions, sms_gateway, infra):
    control = infra.sms_gateway_url.replace("/API/v1.0/REST/sms", CONTROL_PATH)
    requests.post(control, json={"fail_status": 503, "times": 1}, timeout=5).raise_for_status()
    event = submitted("+39 333 765 4321")

    submit(sessions, event, sms_gateway)

    delivery = sms_delivery(sessions, event)
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert "HTTP 503" in delivery.error
    assert received(infra, delivery) == []

    later = FixedClock(NOW + timedelta(seconds=6))
    assert Dispatcher(sessions, {"sms": sms_gateway}, later, RetryPolicy()).dispatch([delivery.id]) == 1
    delivery = sms_delivery(sessions, event)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(received(infra, delivery)) == 1


def test_a_requester_who_switched_sms_off_gets_none(sessions, sms_gateway, infra):
    requester = f"op-{secrets.token_hex(3)}"
    with sessions.begin() as session:
        use_cases.set_preferences(
            session, requester, [{"kind": "protocol_registered", "email": True, "sms": False}], NOW
        )
    event = submitted("3471234567", requester=requester)

    submit(sessions, event, sms_gateway)

    delivery = sms_delivery(sessions, event)
    assert (delivery.status, delivery.error) == ("skipped", use_cases.SWITCHED_OFF)
    assert received(infra, delivery) == []
