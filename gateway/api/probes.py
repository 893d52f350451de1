"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import logging
import time

import eventlet

from gateway.api.base import GatewayBase
from gateway.entrypoints import http, json_response, problem_response
from gateway.openapi import openapi_document, operation

log = logging.getLogger(__name__)

READY_SERVICES = ("intake", "routing", "notify", "reporting", "agenda")
# Each service bounds its own checks (database and storage pings, 1.5 s each): this
# deadline for all the calls together keeps /ready under about 4 s whatever hangs.
READY_TIMEOUT_SECONDS = 4.0
OK, FAILING = "ok", "failing"


def _reason(exc: BaseException) -> str:
    # RemoteError carries the service's exception class and message; a few hundred
    # characters say what failed (the engines hide SQL parameters)
    return f"{exc.__class__.__name__}: {exc}"[:300]


class ProbesApi(GatewayBase):
    @http("GET", "/health")
    def health(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/ready")
    def ready(self, request):
        """Each component "ok" or "failing", nothing more: the reason goes to this log only
        (anonymous callers must not read internal errors)."""
        calls = {}
        checks = {}
        for service in READY_SERVICES:
            try:
                calls[service] = getattr(self.rpc, service).health.call_async()
            except Exception as exc:  # broker unreachable
                log.warning("ready: %s failing: broker: %s", service, _reason(exc))
                checks[service] = FAILING
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for service, call in calls.items():
            try:
                with eventlet.Timeout(max(0.05, deadline - time.monotonic())):
                    call.result()
                checks[service] = OK
            except eventlet.Timeout:
                log.warning("ready: %s failing: no answer within %.1f s", service, READY_TIMEOUT_SECONDS)
                checks[service] = FAILING
            except Exception as exc:
                log.warning("ready: %s failing: %s", service, _reason(exc))
                checks[service] = FAILING
        checks = {service: checks[service] for service in READY_SERVICES}
        if all(state == OK for state in checks.values()):
            return json_response({"status": "ready", "checks": checks})
        return problem_response(
            {
                "type": "about:blank",
                "title": "Servizio non pronto",
                "status": 503,
                "code": "not_ready",
                "detail": "Alcuni componenti non sono pronti.",
                "checks": checks,
            }
        )

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return json_response(openapi_document())


def document(spec) -> None:
    spec.path("/health", operations={"get": operation("Liveness", secured=False)})
    spec.path(
        "/ready",
        operations={
            "get": operation(
                "Readiness: each service with its database and storage, ok or failing", secured=False
            )
        },
    )
