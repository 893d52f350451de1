"""Routing: explain a decision (dry run or after the fact), reference data in force,
reference versions, manual reassignment of a request.

Who may do what is decided by the routing service (it holds the current assignment); the
gateway checks the same consultation rule first and reads the input with the same shapes
(``shared.contracts``), so the answer does not depend on which of the two refuses first.
Reference data are loaded by a command (``python -m services.routing.reference load``),
never uploaded over HTTP.
"""

from __future__ import annotations

from gateway.api.base import GatewayBase, route
from gateway.api.requests import request_links
from shared import access, contracts


class RoutingApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/routing/explain",
        "Simula l'instradamento: decisione e catena delle regole (operatori, direttori, amministratori)",
        query=contracts.ExplainQuery,
        access=access.require_routing_consultation,
        output=contracts.ExplainedDecision,
    )
    def explain_routing(self, call):
        return self._call("routing", "explain", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/routing/decisions/{request_id}",
        "Decisioni registrate per una richiesta, ricalcolate sulla versione usata",
        path_schema=contracts.RequestPath,
        output=contracts.DecisionHistoryOutput,
        links=request_links("$response.body#/request_id", "GetRequest", "Reassign"),
    )
    def explain_recorded_routing(self, call, request_id):
        return self._call("routing", "explain_decision", call.caller, request_id)

    @route(
        "GET",
        "/api/v1/routing/sedi",
        "Sedi e CRIC in vigore, con i comuni coperti",
        query=contracts.SediQuery,
        access=access.require_routing_consultation,
        output=contracts.SediOutput,
    )
    def list_routing_sedi(self, call):
        return self._call("routing", "list_sedi", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/routing/versions",
        "Versioni dei dati di riferimento caricate",
        access=access.require_routing_consultation,
        output=contracts.ReferenceVersionsOutput,
    )
    def list_reference_versions(self, call):
        return self._call("routing", "list_versions", call.caller)

    @route(
        "POST",
        "/api/v1/requests/{request_id}/assignment",
        "Riassegna la richiesta a un'altra sede (operatore della sede attuale o amministratore)",
        path_schema=contracts.RequestPath,
        body=contracts.ReassignmentInput,
        example={"sede": "0703", "reason": "Il cittadino risiede a Rieti"},
        output=contracts.RecordedDecision,
        rules={403: ("not_competent",), 409: ("already_assigned", "request_closed"), 422: ("unknown_sede",)},
        links=request_links("$response.body#/request_id", "GetRequest", "RoutingDecisions"),
    )
    def reassign_request(self, call, request_id):
        return self._call("routing", "reassign", call.caller, request_id, call.body)
