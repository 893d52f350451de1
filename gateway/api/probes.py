"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import logging
import time

import eventlet

from gateway.api.base import GatewayBase, route
from gateway.entrypoints import json_response, problem_response
from gateway.openapi import OPENAPI_PATH, openapi_document
from shared import contracts

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
    @route("GET", "/health", "Liveness", secured=False, output=contracts.HealthOutput)
    def health(self, call):
        return {"status": "ok"}

    @route(
        "GET",
        "/ready",
        "Readiness: each service with its database and storage, ok or failing",
        secured=False,
        output=contracts.ReadyOutput,
        extra_problems=(503,),
    )
    def ready(self, call):
        """Each component "ok" or "failing", nothing more: the reason goes to this log only
        (anonymous callers must not read internal errors)."""
        # in parallel, each in its own green thread: even the request's publish can block
        # (for seconds while the broker is away), and the deadline must hold for all of it
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        calls = {service: eventlet.spawn(self._health, service, deadline) for service in READY_SERVICES}
        checks = {}
        for service, call in calls.items():
            try:
                with eventlet.Timeout(max(0.05, deadline - time.monotonic()) + 0.1):
                    failure = call.wait()
            except eventlet.Timeout:
                # still publishing: it ends with the publish's own timeout, nobody waits for it
                failure = "broker: publish not done within the deadline"
            if failure:
                log.warning("ready: %s failing: %s", service, failure)
            checks[service] = FAILING if failure else OK
        if all(state == OK for state in checks.values()):
            return {"status": "ready", "checks": checks}
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

    def _health(self, service: str, deadline: float) -> str | None:
        """None if ``service`` answered its health check before ``deadline``, else why not."""
        try:
            call = getattr(self.rpc, service).health.call_async()
        except Exception as exc:  # broker unreachable
            return f"broker: {_reason(exc)}"
        try:
            with eventlet.Timeout(max(0.05, deadline - time.monotonic())):
                call.result()
        except eventlet.Timeout:
            return f"no answer within {READY_TIMEOUT_SECONDS:.1f} s"
        except Exception as exc:
            return _reason(exc)
        return None

    @route(
        "GET",
        OPENAPI_PATH,
        "Questo documento (OpenAPI 3), generato dalle rotte del gateway",
        secured=False,
        response={
            "description": "Il documento OpenAPI",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    )
    def openapi(self, call):
        return json_response(openapi_document(type(self)))
