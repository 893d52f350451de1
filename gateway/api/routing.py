"""Routing: explain a decision (dry run or after the fact), reference data in force,
reference versions, manual reassignment of a request.

Who may do what is decided by the routing service (it holds the current assignment);
reference data are loaded by a command (``python -m services.routing.reference load``),
never uploaded over HTTP.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.api.base import GatewayBase
from gateway.entrypoints import http, json_response
from gateway.openapi import ID_PARAM, operation


class RoutingApi(GatewayBase):
    @http("GET", "/api/v1/routing/explain")
    def explain_routing(self, request):
        caller = self._caller(request)
        return json_response(self._call("routing", "explain", caller, request.args.to_dict()))

    @http("GET", "/api/v1/routing/decisions/<string:request_id>")
    def explain_recorded_routing(self, request, request_id):
        caller = self._caller(request)
        return json_response(self._call("routing", "explain_decision", caller, request_id))

    @http("GET", "/api/v1/routing/sedi")
    def list_routing_sedi(self, request):
        caller = self._caller(request)
        return json_response(self._call("routing", "list_sedi", caller, request.args.to_dict()))

    @http("GET", "/api/v1/routing/versions")
    def list_reference_versions(self, request):
        caller = self._caller(request)
        return json_response(self._call("routing", "list_versions", caller))

    @http("POST", "/api/v1/requests/<string:request_id>/assignment")
    def reassign_request(self, request, request_id):
        caller = self._caller(request)
        body = self._json_body(request)
        return json_response(self._call("routing", "reassign", caller, request_id, body))


# ---- OpenAPI ----------------------------------------------------------------------------------


class RuleCheckOutput(Schema):
    rule = fields.String(
        metadata={
            "description": "referente_regionale_cric | polo | operatore_generico_cap | cassetto_matricola | triage"
        }
    )
    outcome = fields.String(metadata={"description": "matched | not_applicable | not_resolved"})
    code = fields.String()
    detail = fields.String()


class RoutingDecisionOutput(Schema):
    assignment = fields.Dict(metadata={"description": "kind, code, name, reason, queue"})
    rule = fields.String()
    inputs = fields.Dict()
    reference_version = fields.String()
    rule_chain = fields.List(fields.Nested(RuleCheckOutput))
    request = fields.Dict(metadata={"description": "i dati della richiesta considerati dalle regole"})
    effective_day = fields.String(metadata={"description": "giorno dei dati di riferimento in vigore usati"})


class RecordedDecisionOutput(RoutingDecisionOutput):
    id = fields.UUID()
    request_id = fields.UUID()
    sequence = fields.Integer()
    trigger = fields.String(metadata={"description": "request_submitted | request_subject_changed | manual"})
    decided_at = fields.String()
    previous = fields.Dict(allow_none=True)
    emitted = fields.Boolean(metadata={"description": "se è stato emesso request_routed"})
    replay = fields.Dict(
        allow_none=True, metadata={"description": "la stessa decisione ricalcolata sulla versione registrata"}
    )


class DecisionHistoryOutput(Schema):
    request_id = fields.UUID()
    current = fields.Nested(RecordedDecisionOutput)
    history = fields.List(fields.Nested(RecordedDecisionOutput))


class ReassignmentBody(Schema):
    sede = fields.String(
        required=True, metadata={"description": "codice (4 cifre) della sede o del CRIC di destinazione"}
    )
    reason = fields.String(required=True, metadata={"description": "motivazione (3–1000 caratteri)"})


def _query(name, description, required=False):
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


EXPLAIN_PARAMS = [
    _query("channel", "combipat | cassetto", True),
    _query("profile", "operatore_generico | referente_regionale | azienda | intermediario", True),
    _query("subject", "codice dell'oggetto", True),
    _query("area", "area di lavoro (predefinita: quella dell'oggetto)"),
    _query("cap", "CAP di residenza del cittadino"),
    _query("matricola", "matricola aziendale (10 cifre)"),
    _query("ente", "codice ente del patronato"),
    _query("ufficio", "codice ufficio del patronato"),
    _query("on", "giorno della decisione AAAA-MM-GG (predefinito oggi)"),
]
SEDI_PARAMS = [
    _query("on", "giorno AAAA-MM-GG (predefinito oggi)"),
    _query("region", "regione"),
    _query("type", "tipo di sede"),
]


def document(spec) -> None:
    spec.components.schema("RoutingDecision", schema=RoutingDecisionOutput)
    spec.components.schema("RoutingDecisionHistory", schema=DecisionHistoryOutput)
    spec.components.schema("Reassignment", schema=ReassignmentBody)
    spec.path(
        "/api/v1/routing/explain",
        operations={
            "get": operation(
                "Simula l'instradamento: decisione e catena delle regole (operatori, direttori, amministratori)",
                "RoutingDecision",
                params=EXPLAIN_PARAMS,
            )
        },
    )
    spec.path(
        "/api/v1/routing/decisions/{request_id}",
        operations={
            "get": operation(
                "Decisioni registrate per una richiesta, ricalcolate sulla versione usata",
                "RoutingDecisionHistory",
                params=ID_PARAM,
            )
        },
    )
    spec.path(
        "/api/v1/routing/sedi",
        operations={"get": operation("Sedi e CRIC in vigore, con i comuni coperti", params=SEDI_PARAMS)},
    )
    spec.path(
        "/api/v1/routing/versions", operations={"get": operation("Versioni dei dati di riferimento caricate")}
    )
    spec.path(
        "/api/v1/requests/{request_id}/assignment",
        operations={
            "post": operation(
                "Riassegna la richiesta a un'altra sede (operatore della sede attuale o amministratore)",
                "RoutingDecision",
                body="Reassignment",
                params=ID_PARAM,
            )
        },
    )
