"""Routing's entrypoints on the real broker and database: events in, ``request_routed`` out,
re-routing on a change of subject, reassignment and explanation over RPC."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcClient

from services.routing.reference.command import load_reference
from services.routing.reference.dataset import SAMPLE_DIR
from services.routing.service import RoutingService
from shared.errors import Conflict, Forbidden
from shared.messaging import SUBSCRIPTIONS, events_exchange, queue_name
from tests.integration.helpers import drain, publish_event, scalar, wait_until

ADMIN = {"sub": "admin-1", "role": "admin"}
PUBLISHED_TYPES = (
    "request_submitted",
    "request_subject_changed",
    "request_routed",
    "request_closed",
    "request_followup_added",
)


@pytest.fixture(scope="module")
def routed_queue(infra):
    """A throwaway queue bound to ``request_routed``: what routing emits, seen from outside."""
    queue = Queue(
        f"test.routing.routed.{uuid.uuid4().hex[:8]}", exchange=events_exchange, routing_key="request_routed"
    )
    with Connection(infra.amqp_uri) as connection:
        queue(connection.default_channel).declare()
    yield queue
    with Connection(infra.amqp_uri) as connection:
        queue(connection.default_channel).delete()
    # the other services' queues got copies of what these tests published: not theirs to handle
    for service, event_types in SUBSCRIPTIONS.items():
        for event_type in set(event_types) & set(PUBLISHED_TYPES):
            if service != "routing":
                drain(infra.amqp_uri, queue_name(service, event_type))


@pytest.fixture(scope="module")
def loaded(infra):
    _, outcome = load_reference(SAMPLE_DIR, infra.database_url("routing"))
    assert outcome.applied
    return outcome.version_id


@pytest.fixture
def routing(container_factory, service_config, loaded):
    container = container_factory(RoutingService, service_config("routing"))
    container.start()
    return container


@pytest.fixture
def rpc(infra, routing):
    with ClusterRpcClient({"AMQP_URI": infra.amqp_uri}) as client:
        yield client.routing


def next_routed(amqp_uri, queue: Queue, request_id: str, timeout: float = 15.0) -> dict:
    """The next ``request_routed`` payload about ``request_id`` (others are skipped)."""
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        bound = queue(connection.default_channel)
        while time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            body = json.loads(message.body)
            if body["payload"]["request_id"] == request_id:
                return body["payload"]
    raise AssertionError(f"no request_routed for {request_id} within {timeout} s")


def submitted_payload(request_id, cap="24121"):
    return {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000042",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "sollecito_domanda",
        "catalog_version": "combipat-2021",
        "area": "pensioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA80A01H501U", "cap": cap},
        "patronato": {"ente": "001", "ufficio": "0016"},
        "contacts": {"email": None, "sms": None},
        "requester": "op-1",
        "submitted_at": datetime.now(UTC),
    }


def subject_changed_payload(request_id):
    return {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000042",
        "actor": "op-bg",
        "actor_role": "sede_operatore",
        "at": datetime.now(UTC),
        "comment": "riguarda una prestazione respinta",
        "old_subject": "sollecito_domanda",
        "new_subject": "prestazione_in_corso_o_respinta",
        "catalog_version": "combipat-2021",
        "area": "sostegno_reddito",
        "sla_days": 15,
    }


def test_a_request_is_routed_rerouted_reassigned_and_explained(infra, rpc, routed_queue, loaded):
    request_id = str(uuid.uuid4())

    publish_event(infra.amqp_uri, "request_submitted", submitted_payload(request_id))
    first = next_routed(infra.amqp_uri, routed_queue, request_id)
    assert (first["rule"], first["assignment"]["name"]) == (
        "operatore_generico_cap",
        "Direzione provinciale di Bergamo",
    )
    assert first["reference_version"] == loaded

    publish_event(infra.amqp_uri, "request_subject_changed", subject_changed_payload(request_id))
    second = next_routed(infra.amqp_uri, routed_queue, request_id)
    assert (second["rule"], second["assignment"]["kind"]) == ("polo", "polo")
    assert second["previous"]["name"] == "Direzione provinciale di Bergamo"

    bergamo = {"sub": "op-bg", "role": "sede_operatore", "sede": "0901", "groups": ["APP_FEA_COMBID"]}
    with pytest.raises(Forbidden):  # it sits at the Milano polo now, not in Bergamo
        rpc.reassign(bergamo, request_id, {"sede": "0901", "reason": "torna a Bergamo"})
    result = rpc.reassign(
        ADMIN, request_id, {"sede": "0901", "reason": "Polo non competente per questa pratica"}
    )
    third = next_routed(infra.amqp_uri, routed_queue, request_id)
    assert third["manual"] is True and third["assignment"]["code"] == "0901" == result["assignment"]["code"]

    explained = rpc.explain_decision(ADMIN, request_id)
    assert [(d["trigger"], d["rule"]) for d in explained["history"]] == [
        ("request_submitted", "operatore_generico_cap"),
        ("request_subject_changed", "polo"),
        ("manual", "manual_reassignment"),
    ]
    assert [d["replay"] and d["replay"]["same_decision"] for d in explained["history"]] == [True, True, None]
    assert explained["current"]["inputs"]["reason"] == "Polo non competente per questa pratica"

    versions = rpc.list_versions(ADMIN)
    assert versions["active"] == loaded and loaded in [v["id"] for v in versions["versions"]]


def step_payload(request_id, at, **more):
    return {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000042",
        "actor": "op-bg",
        "actor_role": "sede_operatore",
        "at": at,
        "comment": None,
        **more,
    }


def closed_payload(request_id, at):
    return step_payload(request_id, at, outcome="Definita", booking_enabled=False)


def reopened_payload(request_id, at):
    return step_payload(
        request_id, at, message_id=str(uuid.uuid4()), interactions_used=1, interactions_left=1, reopened=True
    )


def closed_state(infra, request_id):
    return scalar(
        infra.database_url("routing"),
        "SELECT closed FROM request_states WHERE request_id = :id",
        id=request_id,
    )


def test_a_closed_request_is_not_reassigned_until_a_follow_up_reopens_it(infra, rpc, routed_queue):
    request_id = str(uuid.uuid4())
    publish_event(infra.amqp_uri, "request_submitted", submitted_payload(request_id))
    next_routed(infra.amqp_uri, routed_queue, request_id)
    closed_at = datetime.now(UTC)

    publish_event(infra.amqp_uri, "request_closed", closed_payload(request_id, closed_at))
    wait_until(lambda: closed_state(infra, request_id) is True)
    with pytest.raises(Conflict) as refused:
        rpc.reassign(ADMIN, request_id, {"sede": "0704", "reason": "competenza di Roma"})
    assert refused.value.code == "request_closed"

    reopened_at = closed_at + timedelta(minutes=5)
    publish_event(infra.amqp_uri, "request_followup_added", reopened_payload(request_id, reopened_at))
    wait_until(lambda: closed_state(infra, request_id) is False)
    # the close delivered again, late (older than the reopening), does not close it again
    publish_event(infra.amqp_uri, "request_closed", closed_payload(request_id, closed_at))
    publish_event(infra.amqp_uri, "request_subject_changed", subject_changed_payload(request_id))
    next_routed(infra.amqp_uri, routed_queue, request_id)  # handled after the late close
    assert closed_state(infra, request_id) is False

    moved = rpc.reassign(ADMIN, request_id, {"sede": "0704", "reason": "competenza di Roma"})
    assert moved["assignment"]["code"] == "0704"


def test_a_request_whose_recorded_input_is_blank_is_rerouted_on_the_facts_of_the_event(
    infra, rpc, routed_queue
):
    """Decisions taken before routing's migration 0002 have ``request = {}``: the change of
    subject carries the request's facts, so it is decided on them, not sent to triage."""
    request_id = str(uuid.uuid4())
    submitted = submitted_payload(request_id)
    publish_event(infra.amqp_uri, "request_submitted", submitted)
    next_routed(infra.amqp_uri, routed_queue, request_id)
    engine = sa.create_engine(infra.database_url("routing"), poolclass=sa.pool.NullPool)
    with engine.begin() as connection:  # as migration 0002 left the older decisions
        connection.execute(
            sa.text("UPDATE routing_decisions SET request = '{}' WHERE request_id = :id"), {"id": request_id}
        )
    engine.dispose()

    facts = {
        name: submitted.get(name) for name in ("channel", "profile", "citizen", "matricola", "patronato")
    }
    publish_event(infra.amqp_uri, "request_subject_changed", {**subject_changed_payload(request_id), **facts})
    rerouted = next_routed(infra.amqp_uri, routed_queue, request_id)

    # Bergamo's CAP, the new subject has the Lombardia polo: not triage
    assert (rerouted["rule"], rerouted["assignment"]["kind"]) == ("polo", "polo")
