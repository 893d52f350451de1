"""Intake's entrypoints on the real broker, database and object store."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.services import entrypoint_waiter

from services.intake.service import IntakeService
from shared.consumer import ATTEMPTS_HEADER, REASON_HEADER
from shared.errors import InvalidInput, NotFound
from shared.messaging import (
    dead_letter_queue_name,
    delay_queue_name,
    max_delivery_attempts,
    queue_name,
    retry_schedule,
)
from shared.storage import ObjectStoreAccess, make_client
from tests.integration.helpers import about, get_message, publish_event, publish_raw, scalar

VALID_CF = "RSSMRA85T10A562S"


def operatore(unique):
    return {
        "sub": f"op-{unique}",
        "role": "patronato_operatore",
        "patronato": "001",
        "ufficio": f"U{unique[:6]}",
    }


def submission(**overrides):
    body = {
        "subject": "sollecito_domanda",
        "text": "Si sollecita la definizione della domanda.",
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
        "contacts": {"email": "operatore@patronato.example"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def intake(container_factory, service_config):
    container = container_factory(IntakeService, service_config("intake"))
    container.start()
    return container


@pytest.fixture
def rpc(infra, intake):
    with ClusterRpcClient({"AMQP_URI": infra.amqp_uri}) as client:
        yield client.intake


def test_submit_stores_request_and_publishes_request_submitted(infra, rpc, unique):
    result = rpc.submit_request(operatore(unique), submission(), "corr-" + unique)

    assert result["state"] == "open"
    assert result["protocol"].startswith("COMBID.")
    url = infra.database_url("intake")
    assert (
        scalar(url, "SELECT subject_code FROM requests WHERE id = :id", id=result["id"])
        == "sollecito_domanda"
    )

    body, _ = get_message(
        infra.amqp_uri,
        queue_name("routing", "request_submitted"),
        matching=lambda b: b["payload"]["request_id"] == result["id"],
    )
    assert body["type"] == "request_submitted"
    assert body["correlation_id"] == "corr-" + unique
    assert body["payload"]["request_id"] == result["id"]
    assert body["payload"]["citizen"] == {"codice_fiscale": VALID_CF, "cap": "00184"}
    assert scalar(
        url, "SELECT published_at IS NOT NULL FROM outbox WHERE event_id = :id", id=body["event_id"]
    )


def test_invalid_codice_fiscale_is_refused_naming_the_field_and_stores_nothing(infra, rpc, unique):
    caller = operatore(unique)
    with pytest.raises(InvalidInput) as refused:
        rpc.submit_request(caller, submission(citizen={"codice_fiscale": "RSSMRA85T10A562X", "cap": "00184"}))
    assert refused.value.errors[0]["field"] == "citizen.codice_fiscale"
    assert refused.value.errors[0]["code"] == "invalid_codice_fiscale"
    assert (
        scalar(
            infra.database_url("intake"),
            "SELECT count(*) FROM requests WHERE requester_sub = :sub",
            sub=caller["sub"],
        )
        == 0
    )


def test_attachment_goes_to_object_storage_and_links_to_the_request(infra, rpc, unique):
    caller = operatore(unique)
    pdf = b"%PDF-1.4\n" + b"x" * 1000
    uploaded = rpc.upload_attachment(caller, "../../domanda firmata.pdf", base64.b64encode(pdf).decode())
    assert uploaded["content_type"] == "application/pdf"
    assert uploaded["filename"] == "domanda firmata.pdf"

    result = rpc.submit_request(caller, submission(attachments=[uploaded["id"]]))
    detail = rpc.get_request(caller, result["id"])
    assert [a["id"] for a in detail["attachments"]] == [uploaded["id"]]

    store = ObjectStoreAccess(
        make_client(infra.s3_endpoint, infra.s3_access_key, infra.s3_secret_key), infra.bucket
    )
    key = scalar(
        infra.database_url("intake"), "SELECT object_key FROM attachments WHERE id = :id", id=uploaded["id"]
    )
    assert store.get(key) == pdf


def test_request_routed_records_the_assignment_once(infra, intake, rpc, unique):
    caller = operatore(unique)
    result = rpc.submit_request(caller, submission())
    payload = {
        "request_id": result["id"],
        "assignment": {
            "kind": "sede",
            "code": "0701",
            "name": "Direzione provinciale di Roma",
            "reason": "CAP 00184",
            "queue": "pensioni",
        },
        "rule": "operatore_generico_cap",
        "reference_version": "test",
        "decided_at": datetime.now(UTC),
    }
    with entrypoint_waiter(intake, "on_request_routed", callback=about(request_id=result["id"])):
        envelope = publish_event(infra.amqp_uri, "request_routed", payload)
    url = infra.database_url("intake")
    updated_at = scalar(url, "SELECT updated_at FROM requests WHERE id = :id", id=result["id"])
    assert scalar(url, "SELECT assigned_sede FROM requests WHERE id = :id", id=result["id"]) == "0701"

    # the same envelope again (a redelivery): nothing changes
    with entrypoint_waiter(intake, "on_request_routed", callback=about(request_id=result["id"])):
        publish_raw(infra.amqp_uri, "request_routed", envelope)
    assert scalar(url, "SELECT updated_at FROM requests WHERE id = :id", id=result["id"]) == updated_at
    assert (
        scalar(url, "SELECT count(*) FROM processed_events WHERE event_id = :id", id=envelope["event_id"])
        == 1
    )


def test_get_request_of_another_patronato_office_is_not_found(rpc, unique):
    result = rpc.submit_request(operatore(unique), submission())
    stranger = dict(operatore(unique), ufficio="ALTRO")
    with pytest.raises(NotFound):
        rpc.get_request(stranger, result["id"])


def test_invalid_event_is_dead_lettered_with_its_reason(infra, intake, unique):
    dead = dead_letter_queue_name("intake", "request_routed")
    publish_raw(
        infra.amqp_uri,
        "request_routed",
        {"type": "request_routed", "version": 1, "producer": unique, "payload": {}},
    )
    body, headers = get_message(infra.amqp_uri, dead, matching=lambda b: b.get("producer") == unique)
    assert headers[REASON_HEADER] == "invalid_envelope"
    assert body["payload"] == {}


def test_unknown_version_is_dead_lettered(infra, intake):
    dead = dead_letter_queue_name("intake", "request_routed")
    envelope = {
        "event_id": str(uuid.uuid4()),
        "type": "request_routed",
        "version": 99,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "tests",
        "correlation_id": "x",
        "payload": {},
    }
    publish_raw(infra.amqp_uri, "request_routed", envelope)
    _, headers = get_message(
        infra.amqp_uri, dead, matching=lambda b: b.get("event_id") == envelope["event_id"]
    )
    assert headers[REASON_HEADER] == "unknown_event_version"


def test_handler_failing_repeatedly_is_retried_then_dead_lettered(infra, intake, service_config):
    dead = dead_letter_queue_name("intake", "request_routed")
    payload = {
        "request_id": str(uuid.uuid4()),  # unknown to intake: the handler raises every time
        "assignment": {
            "kind": "triage",
            "code": "TRIAGE",
            "name": "Coda di smistamento",
            "reason": "x",
            "queue": "q",
        },
        "rule": "triage_no_rule",
        "reference_version": "test",
        "decided_at": datetime.now(UTC),
    }
    envelope = publish_event(infra.amqp_uri, "request_routed", payload)
    body, headers = get_message(
        infra.amqp_uri, dead, timeout=60, matching=lambda b: b.get("event_id") == envelope["event_id"]
    )
    assert body["event_id"] == envelope["event_id"]
    assert headers[REASON_HEADER] == "handler_failed"
    # every delay of the schedule was waited, in its delay queue, then one last attempt failed
    schedule = retry_schedule(service_config("intake"))
    assert headers[ATTEMPTS_HEADER] == max_delivery_attempts(schedule)
    assert {death["queue"] for death in headers["x-death"]} == {delay_queue_name(ms) for ms in schedule}
