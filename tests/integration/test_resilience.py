"""Services under faults, as containers on the real broker and database (issue 7): an event
intake cannot publish does not stop the others (finding 1), an unreachable database
answers Unavailable, a reply lost with the broker does not kill the service (finding 2),
unrouted requests are re-sent by the sweep, and the operators' status counts all this."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RpcTimeout
from nameko.rpc import Responder
from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy.engine import make_url

from gateway.auth import issue_token
from gateway.service import GatewayService
from services.agenda.service import AgendaService
from services.intake.service import IntakeService
from shared.config import LOCAL_DEFAULTS
from shared.errors import Unavailable
from shared.events import make_event
from shared.messaging import SUBSCRIPTIONS, dead_letter_queue_name, queue_name
from shared.migrations import drop_database, upgrade
from shared.outbox import OutboxRelay, add_event
from tests.harness import free_port
from tests.integration.helpers import about, get_message, publish_event, scalar, wait_until

VALID_CF = "RSSMRA85T10A562S"
ROUTING_QUEUE = queue_name("routing", "request_submitted")


def operatore(unique):
    return {
        "sub": f"op-{unique}",
        "role": "patronato_operatore",
        "patronato": "001",
        "ufficio": f"U{unique[:6]}",
    }


def submission():
    return {
        "subject": "sollecito_domanda",
        "text": "Si sollecita la definizione della domanda.",
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
        "contacts": {"email": "operatore@patronato.example"},
    }


def about_request(request_id):
    return lambda body: body["payload"]["request_id"] == request_id


def dead_letter_queues(service):
    return {dead_letter_queue_name(service, event_type) for event_type in SUBSCRIPTIONS[service]}


def poisoned_event():
    """An event whose correlation id AMQP cannot carry (over 255 bytes), as intake stored
    them before ids were bounded: building the message fails, every time."""
    payload = {
        "request_id": uuid.uuid4(),
        "protocol": "COMBID.2026.99999999",
        "actor": "op",
        "actor_role": "operatore_sede",
        "at": datetime.now(UTC),
        "days_waited": 15,
    }
    event = make_event("request_reminded", payload, producer="intake")
    return dataclasses.replace(event, correlation_id="x" * 300)


def test_intake_goes_on_publishing_after_an_event_it_cannot_publish(
    infra, container_factory, service_config, database_sessions, unique
):
    container = container_factory(IntakeService, service_config("intake", OUTBOX_MAX_ATTEMPTS=3))
    container.start()
    with ClusterRpcClient(timeout=30) as client:
        parked_before = client.intake.ops_status()["outbox"]["parked"]
        poisoned = poisoned_event()
        with database_sessions("intake").begin() as session:
            add_event(session, poisoned)

        submitted = client.intake.submit_request(operatore(unique), submission(), "corr-" + unique)

        # finding 1: the relay retried the poisoned row for ever and published nothing after it
        body, _ = get_message(infra.amqp_uri, ROUTING_QUEUE, matching=about_request(submitted["id"]))
        assert body["correlation_id"] == "corr-" + unique
        url = infra.database_url("intake")
        parked = "SELECT parked_at IS NOT NULL FROM outbox WHERE event_id = :id"
        wait_until(lambda: scalar(url, parked, id=poisoned.event_id))
        assert scalar(url, "SELECT attempts FROM outbox WHERE event_id = :id", id=poisoned.event_id) == 3

        status = client.intake.ops_status()
    assert status["outbox"]["parked"] == parked_before + 1
    assert status["database"] == "ok"
    assert set(status["dead_letters"]["queues"]) == dead_letter_queues("intake")
    assert "unrouted_requests" in status


def test_an_unreachable_database_answers_unavailable_and_the_service_lives_on(
    container_factory, service_config
):
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/combid_nowhere"
    container = container_factory(IntakeService, service_config("intake", DATABASE_URL=nowhere))
    container.start()
    relay = next(d for d in container.dependencies if isinstance(d, OutboxRelay))
    with ClusterRpcClient(timeout=30) as client:
        with pytest.raises(Unavailable) as refused:
            client.intake.health()
        assert refused.value.code == "database_unavailable"
        assert refused.value.status == 503

        # the relay's timer meets the outage every second: it waits, the container stays up
        wait_until(lambda: relay.outage == "database_unavailable")
        status = client.intake.ops_status()
    assert status["database"] == "database_unavailable"
    assert status["dead_letters"]["total"] >= 0
    assert not container._died.ready()


def test_a_reply_lost_with_the_broker_is_dropped_and_the_service_lives_on(
    container_factory, service_config, monkeypatch
):
    container = container_factory(AgendaService, service_config("agenda"))
    container.start()
    send_response, lost = Responder.send_response, []

    def broker_gone_once(self, result, exc_info):
        if not lost:
            lost.append(self.message.properties.get("correlation_id"))
            raise KombuOperationalError("[Errno 104] Connection reset by peer")
        return send_response(self, result, exc_info)

    monkeypatch.setattr(Responder, "send_response", broker_gone_once)
    with ClusterRpcClient(timeout=2) as client:
        with pytest.raises(RpcTimeout):
            client.agenda.health()
    assert lost
    # finding 2: nameko's container died here and nothing answered any more
    with ClusterRpcClient(timeout=10) as client:
        assert client.agenda.health()["database"] == "ok"


@pytest.fixture
def sweep_database(infra):
    """A database of its own: the sweep looks at every unrouted request it holds."""
    url = make_url(infra.database_url("intake")).set(database=f"combid_test_sweep_{uuid.uuid4().hex[:8]}")
    url = url.render_as_string(hide_password=False)
    upgrade("intake", url)
    yield url
    drop_database(url)


def test_the_sweep_resends_an_unrouted_request_once_per_interval(
    infra, container_factory, service_config, sweep_database, unique
):
    config = service_config("intake", DATABASE_URL=sweep_database, UNROUTED_RESUBMIT_AFTER_SECONDS=0)
    container = container_factory(IntakeService, config)
    container.start()
    with ClusterRpcClient(timeout=30) as client:
        submitted = client.intake.submit_request(operatore(unique), submission())
        request_id = submitted["id"]
        first, _ = get_message(infra.amqp_uri, ROUTING_QUEUE, matching=about_request(request_id))

        with entrypoint_hook(container, "sweep_unrouted") as sweep:
            assert sweep() == [request_id]
            resent, _ = get_message(
                infra.amqp_uri,
                ROUTING_QUEUE,
                matching=lambda b: about_request(request_id)(b) and b["event_id"] != first["event_id"],
            )
            assert resent["type"] == "request_submitted"
            assert resent["payload"] == first["payload"]
            # once per interval: the next sweep, a moment later, leaves it alone
            assert sweep() == []
        rows = "SELECT count(*) FROM outbox WHERE aggregate_key = :id"
        assert scalar(sweep_database, rows, id=request_id) == 2
        assert client.intake.ops_status()["unrouted_requests"] == 1

        # routed meanwhile: never re-sent again, and no longer counted
        payload = {
            "request_id": request_id,
            "assignment": {
                "kind": "sede",
                "code": "0701",
                "name": "Roma",
                "reason": "CAP 00184",
                "queue": "pensioni",
            },
            "rule": "operatore_generico_cap",
            "reference_version": "test",
            "decided_at": datetime.now(UTC),
        }
        with entrypoint_waiter(container, "on_request_routed", callback=about(request_id=request_id)):
            publish_event(infra.amqp_uri, "request_routed", payload)
        execute(sweep_database, "UPDATE requests SET resubmitted_at = NULL")
        with entrypoint_hook(container, "sweep_unrouted") as sweep:
            assert sweep() == []
        assert client.intake.ops_status()["unrouted_requests"] == 0


def execute(url, sql):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(sql))
    finally:
        engine.dispose()


def admin_token(role="admin", **claims):
    return issue_token(LOCAL_DEFAULTS["JWT_SECRET"], sub=f"adm-{uuid.uuid4().hex[:6]}", role=role, **claims)


def test_admin_status_reports_each_service_and_the_silent_ones(container_factory, service_config):
    container_factory(AgendaService, service_config("agenda")).start()
    address = f"127.0.0.1:{free_port()}"
    gateway = container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=address, ADMIN_STATUS_TIMEOUT_SECONDS=1)
    )
    gateway.start()
    url = f"http://{address}/api/v1/admin/status"

    answer = requests.get(url, headers={"Authorization": f"Bearer {admin_token()}"}, timeout=30)

    assert answer.status_code == 200, answer.text
    status = answer.json()
    agenda = status["services"]["agenda"]
    assert agenda["status"] == "ok" and agenda["database"] == "ok"
    assert set(agenda["outbox"]) >= {"pending", "parked", "oldest_pending_age_seconds"}
    assert set(agenda["dead_letters"]["queues"]) == dead_letter_queues("agenda")
    # no container of these runs now: reported, not a failure of the whole endpoint
    for silent in ("intake", "routing", "notify", "reporting"):
        assert status["services"][silent]["status"] in ("no_answer", "not_running")
    assert status["status"] == "degraded"

    operator = admin_token("patronato_operatore", patronato="001", ufficio="0001")
    refused = requests.get(url, headers={"Authorization": f"Bearer {operator}"}, timeout=30)
    assert refused.status_code == 403
    assert requests.get(url, timeout=30).status_code == 401
