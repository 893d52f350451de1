"""Notify, reporting and agenda as nameko containers on the real broker: one published
event reaches each of them through its own queue, and their RPCs read the result."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.services import entrypoint_waiter

from services.agenda.service import AgendaService
from services.notify.service import NotifyService
from services.reporting.service import ReportingService
from tests.integration.helpers import about, publish_event, publish_raw


def submitted_payload(request_id, email):
    return {
        "request_id": request_id,
        "protocol": "COMBID.2026.12345678",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "requisiti_accesso",
        "catalog_version": "combipat-2021",
        "area": "informazioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "patronato": {"ente": "001", "ufficio": "U1"},
        "contacts": {"email": email, "sms": None},
        "requester": "op-1",
        "submitted_at": datetime.now(UTC),
    }


def test_one_event_reaches_every_subscriber_once(infra, container_factory, service_config):
    containers = {}
    for service_class in (NotifyService, ReportingService, AgendaService):
        containers[service_class.name] = container_factory(service_class, service_config(service_class.name))
        containers[service_class.name].start()
    request_id, email = str(uuid.uuid4()), f"op-{uuid.uuid4().hex[:8]}@patronato.example"

    with (
        entrypoint_waiter(
            containers["notify"], "on_request_submitted", callback=about(request_id=request_id)
        ),
        entrypoint_waiter(
            containers["reporting"], "on_request_submitted", callback=about(request_id=request_id)
        ),
        entrypoint_waiter(
            containers["agenda"], "on_request_submitted", callback=about(request_id=request_id)
        ),
    ):
        envelope = publish_event(infra.amqp_uri, "request_submitted", submitted_payload(request_id, email))

    with ClusterRpcClient({"AMQP_URI": infra.amqp_uri}) as rpc:
        assert rpc.reporting.request_fact(request_id)["state"] == "open"
        assert rpc.agenda.eligibility(request_id)["allowed"] is False
        assert [d["status"] for d in rpc.notify.deliveries_for(request_id)] == ["sent"]

        # the same envelope again: every consumer recognises it and changes nothing
        with (
            entrypoint_waiter(
                containers["notify"], "on_request_submitted", callback=about(request_id=request_id)
            ),
            entrypoint_waiter(
                containers["reporting"], "on_request_submitted", callback=about(request_id=request_id)
            ),
        ):
            publish_raw(infra.amqp_uri, "request_submitted", envelope)
        assert len(rpc.notify.deliveries_for(request_id)) == 1
    assert [m["To"] for m in infra.mails()].count(email) == 1
