"""The routes that ask services in their own way: liveness, readiness, the OpenAPI document
and the administrators' status (each service asked in parallel, under one deadline)."""

from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService

from gateway.api.admin import OPS_SERVICES
from gateway.api.probes import READY_SERVICES
from shared.errors import Unavailable
from tests.interface.helpers import assert_problem, bearer, declared_routes

ADMIN = dict(sub="admin-1", role="admin")


def test_health_asks_no_service(gateway, web_session):
    response = web_session.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert gateway.rpc.mock_calls == []


def answer_health(rpc, service, failure=None):
    health = getattr(rpc, service).health
    if failure is None:
        health.call_async.return_value.result.return_value = {"service": service, "database": "ok"}
    else:
        health.call_async.return_value.result.side_effect = failure


def test_ready_when_every_service_answers(gateway, web_session):
    for service in READY_SERVICES:
        answer_health(gateway.rpc, service)

    response = web_session.get("/ready")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": dict.fromkeys(READY_SERVICES, "ok")}


@pytest.mark.parametrize(
    "failure",
    [
        Unavailable("database_unavailable", "Il database del servizio routing non è raggiungibile."),
        RemoteError("OperationalError", "password authentication failed for user combid"),
        OperationalError("[Errno 111] Connection refused"),
    ],
    ids=["database down", "unexpected error", "broker unreachable"],
)
def test_not_ready_names_the_failing_service_and_not_why(gateway, web_session, failure):
    for service in READY_SERVICES:
        answer_health(gateway.rpc, service, failure if service == "routing" else None)

    response = web_session.get("/ready")

    problem = assert_problem(response, 503, "not_ready")
    assert problem["checks"] == {
        service: "failing" if service == "routing" else "ok" for service in READY_SERVICES
    }
    assert "password" not in response.text and "Errno" not in response.text


def test_not_ready_when_the_broker_refuses_the_question(gateway, web_session):
    for service in READY_SERVICES:
        answer_health(gateway.rpc, service)
    gateway.rpc.notify.health.call_async.side_effect = OperationalError("Connection refused")

    problem = assert_problem(web_session.get("/ready"), 503, "not_ready")
    assert problem["checks"]["notify"] == "failing"


def test_the_openapi_document_describes_every_api_route(gateway, web_session):
    response = web_session.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    declared = {
        (route.method, route.url.replace("<string:", "{").replace(">", "}")) for route in declared_routes()
    }
    not_api = {("GET", "/api/docs"), ("GET", "/api/docs/{filename}")}  # the page that shows this document
    assert declared - not_api <= documented, "routes the document does not describe"
    assert documented <= declared, "operations the gateway does not serve"
    assert gateway.rpc.mock_calls == []


def ops_report(service: str) -> dict:
    return {
        "service": service,
        "database": "ok",
        "outbox": {
            "pending": 0,
            "oldest_pending_age_seconds": None,
            "parked": 0,
            "oldest_parked_age_seconds": None,
        },
        "dead_letters": {"total": 0, "queues": {}},
    }


def test_admin_status_reports_each_service_even_when_some_cannot_answer(gateway, web_session):
    for service in OPS_SERVICES:
        call = getattr(gateway.rpc, service).ops_status.call_async
        call.return_value.result.return_value = ops_report(service)
    gateway.rpc.notify.ops_status.call_async.return_value.result.side_effect = Unavailable(
        "database_unavailable", "Il database del servizio notify non è raggiungibile."
    )
    gateway.rpc.agenda.ops_status.call_async.side_effect = UnknownService("agenda")

    response = web_session.get("/api/v1/admin/status", headers=bearer(ADMIN))

    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "degraded"
    assert status["services"]["intake"]["status"] == "ok"
    assert status["services"]["notify"] == {"status": "failing", "error": "database_unavailable"}
    assert status["services"]["agenda"] == {"status": "not_running", "error": "unknown_service"}
    assert set(status["services"]) == set(OPS_SERVICES)


@pytest.mark.parametrize(
    "caller",
    [
        dict(sub="off-1", role="sede_operatore", sede="0704", groups=["APP_FEA_COMBID"]),
        dict(sub="d-1", role="direttore", scope="national"),
    ],
    ids=["official", "national director"],
)
def test_admin_status_is_for_administrators_only(gateway, web_session, caller):
    response = web_session.get("/api/v1/admin/status", headers=bearer(caller))

    assert_problem(response, 403, "role_not_allowed")
    assert gateway.rpc.mock_calls == []
