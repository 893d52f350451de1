"""Operators' status: what waits or failed in each service, for administrators only.

``GET /api/v1/admin/status`` asks every service for its ``ops_status`` in parallel, under
one deadline: parked outbox rows and the unpublished backlog, dead letters per queue,
intake's unrouted requests, notify's failed deliveries. A service that does not answer
in time, or answers with an error, is reported as such; the others are still shown.
"""

from __future__ import annotations

import time

import eventlet
from nameko import config
from nameko.exceptions import UnknownService

from gateway.api.base import GatewayBase, route
from shared import access, contracts
from shared.errors import ProblemError

OPS_SERVICES = ("intake", "routing", "notify", "reporting", "agenda")
ADMIN_STATUS_TIMEOUT_SECONDS = 5.0

# what an operator must look at, as stable codes: (code, where the figure is in a report)
ATTENTION = (
    ("outbox_parked", ("outbox", "parked")),
    ("dead_letters", ("dead_letters", "total")),
    ("unrouted_requests", ("unrouted_requests",)),
    ("failed_deliveries", ("failed_deliveries",)),
)


require_admin = access.require_admin


class AdminApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/admin/status",
        "Stato operativo dei servizi (solo amministratori)",
        access=require_admin,
        output=contracts.AdminStatusOutput,
    )
    def admin_status(self, call):
        return summarise(self._ops_reports())

    def _ops_reports(self) -> dict:
        reports, calls = {}, {}
        for service in OPS_SERVICES:
            try:
                calls[service] = getattr(self.rpc, service).ops_status.call_async()
            except UnknownService:  # no queue for it: it never ran on this broker
                reports[service] = {"status": "not_running", "error": "unknown_service"}
            except Exception as exc:  # broker unreachable: nobody can be asked
                reports[service] = {"status": "unreachable", "error": exc.__class__.__name__}
        timeout = float(config.get("ADMIN_STATUS_TIMEOUT_SECONDS", ADMIN_STATUS_TIMEOUT_SECONDS))
        deadline = time.monotonic() + timeout
        for service, call in calls.items():
            try:
                with eventlet.Timeout(max(0.05, deadline - time.monotonic())):
                    reports[service] = call.result()
            except eventlet.Timeout:
                reports[service] = {"status": "no_answer", "error": "timeout"}
            except ProblemError as exc:
                reports[service] = {"status": "failing", "error": exc.code}
            except Exception as exc:
                reports[service] = {"status": "failing", "error": exc.__class__.__name__}
        return {service: reports[service] for service in OPS_SERVICES}


def _figure(report: dict, path: tuple[str, ...]) -> int:
    value = report
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, int) else 0


def summarise(reports: dict[str, dict]) -> dict:
    """Each service's report with its ``status`` (ok / degraded / no_answer / not_running /
    failing / unreachable), totals over all services, and the codes that need an operator."""
    services = {}
    for service, report in reports.items():
        report = dict(report)
        report.pop("service", None)
        if "status" not in report:
            parts_ok = report.get("database") == "ok" and "error" not in (report.get("dead_letters") or {})
            report["status"] = "ok" if parts_ok else "degraded"
        services[service] = report
    totals = {code: sum(_figure(report, path) for report in services.values()) for code, path in ATTENTION}
    totals["outbox_pending"] = sum(_figure(report, ("outbox", "pending")) for report in services.values())
    attention = [code for code, _ in ATTENTION if totals[code]]
    attention += [f"service_{report['status']}" for report in services.values() if report["status"] != "ok"]
    return {
        "status": "ok" if all(report["status"] == "ok" for report in services.values()) else "degraded",
        "attention": sorted(set(attention)),
        "totals": totals,
        "services": services,
    }
