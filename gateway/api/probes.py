"""Liveness, readiness and the OpenAPI document."""
from __future__ import annotations

import time

import eventlet

from gateway.api.base import GatewayBase
from gateway.entrypoints import http, json_response, problem_response
from gateway.openapi import openapi_document, operation

READY_SERVICES = ("intake", "routing", "notify", "reporting", "agenda")
READY_TIMEOUT_SECONDS = 3.0


class ProbesApi(GatewayBase):
    @http("GET", "/health")
    def health(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/ready")
    def ready(self, request):
        calls = {}
        checks = {}
        for service in READY_SERVICES:
            try:
                calls[service] = getattr(self.rpc, service).health.call_async()
            except Exception as exc:  # broker unreachable
                checks[service] = f"non raggiungibile: {exc.__class__.__name__}"
        # the calls run in parallel; one deadline for all keeps /ready under READY_TIMEOUT_SECONDS
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for service, call in calls.items():
            try:
                with eventlet.Timeout(max(0.05, deadline - time.monotonic())):
                    call.result()
                checks[service] = "ok"
            except eventlet.Timeout:
                checks[service] = "nessuna risposta"
            except Exception as exc:
                checks[service] = f"errore: {exc}"
        if all(state == "ok" for state in checks.values()):
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
    spec.path("/ready", operations={"get": operation("Readiness: broker, database, storage", secured=False)})
