"""The OpenAPI 3 document, generated from the routes the gateway serves (apispec).

Each operation is declared once, by ``gateway.api.base.route`` on its handler: method and
path, input schemas, output schema and status, the problem statuses it may answer, the
business rules that may refuse it, and the links to what a client does next. This module
turns those declarations into the document; the same declarations register the nameko
entrypoint, read the input and dump the output (through the schemas of
``shared.contracts``), so the document cannot promise what the gateway does not do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema, fields

from shared import contracts

OPENAPI_PATH = "/api/v1/openapi.json"
PROBLEM_JSON = "application/problem+json"
SECURED = [{"bearerAuth": []}]

# What each problem status means in this API (the ``code`` of the document says more).
PROBLEM_STATUSES = {
    400: "Corpo non leggibile: invalid_json, unsupported_media_type",
    401: "Token assente, scaduto o non valido",
    403: "Il profilo o l'ambito del token non consentono l'operazione",
    404: "Risorsa inesistente o non visibile al chiamante",
    409: "Operazione non consentita nello stato attuale",
    413: "Corpo oltre la dimensione massima",
    422: "Dati non validi: ogni campo in errore è in errors (invalid_field per la forma)",
    503: "Un servizio non è raggiungibile: riprovare (Retry-After)",
}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the operation a client may call next, with values from this answer."""

    operation_id: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_body: object = None
    description: str = ""

    def as_dict(self) -> dict:
        link = {"operationId": self.operation_id}
        if self.parameters:
            link["parameters"] = dict(self.parameters)
        if self.request_body is not None:
            link["requestBody"] = self.request_body
        if self.description:
            link["description"] = self.description
        return link


@dataclass(frozen=True)
class Route:
    """One operation of the API, as ``route`` declares it."""

    method: str
    path: str  # OpenAPI form: /api/v1/requests/{request_id}
    summary: str
    output: type[Schema] | None = None  # None: the handler answers a werkzeug Response itself
    status: int = 200
    many: bool = False  # the answer is a list of ``output``
    body: type[Schema] | None = None
    body_required: bool = True  # what the document says: may the client leave the body out?
    empty_body: bool = False  # read an empty body as {} (then its schema says what is missing)
    multipart: bool = False  # the body is a multipart form, read by the handler
    query: type[Schema] | None = None
    path_schema: type[Schema] | None = None
    path_checks: Mapping[str, Callable[[str], object]] = field(default_factory=dict)
    access: Callable | None = None  # the rule on the caller, checked before the input is read
    secured: bool = True
    # business rules that may refuse a well-formed request: status -> problem codes
    rules: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    extra_problems: tuple[int, ...] = ()
    links: Mapping[str, Link] = field(default_factory=dict)
    location: str | None = None  # Location of a 201, from the answer: "/api/v1/requests/{id}"
    response: Mapping | None = None  # the success response, for an answer that is not a schema's JSON
    example: Mapping | None = None  # a request body that works
    description: str = ""
    operation_id: str = ""

    @property
    def nameko_path(self) -> str:
        return re.sub(r"\{(\w+)\}", r"<string:\1>", self.path)

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))

    def problem_statuses(self) -> list[int]:
        statuses = set(self.extra_problems) | set(self.rules)
        if self.secured:
            statuses |= {401, 403, 503}
        if self.path_parameters:
            statuses.add(404)
        if self.body is not None:
            statuses |= {400, 413, 422} if not self.multipart else {413, 422}
        if self.query is not None or self.path_checks:
            statuses.add(422)
        return sorted(statuses)


# ---- marshmallow -> OpenAPI ----------------------------------------------------------------

_DAY_PATTERN = r"^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"


def ecma_pattern(python_pattern: str) -> str:
    """A Python ``re.match`` pattern as the ECMA 262 pattern JSON Schema expects (a search):
    anchored at the start, and ``\\Z`` (end of the string) written ``$`` (which in ECMA,
    without the multiline flag, is the end of the string too)."""
    pattern = python_pattern.replace(r"\Z", "$")
    if "|" in pattern:  # re.match anchors every alternative at the start
        return f"^(?:{pattern})"
    return pattern if pattern.startswith("^") else f"^{pattern}"


class ContractConverter(OpenAPIConverter):
    def field2pattern(self, field_obj, **kwargs) -> dict:
        """The most specific pattern of a field (a shape such as 4 digits also excludes control
        characters, so the generic no-control pattern goes only where there is no other)."""
        patterns = [
            v.regex.pattern for v in field_obj.validators if isinstance(getattr(v, "regex", None), re.Pattern)
        ]
        specific = [p for p in patterns if p not in contracts.NO_CONTROL_PATTERNS]
        chosen = specific or patterns
        if isinstance(field_obj, fields.Date) and self._within_day_bounds(field_obj):
            return {"pattern": _DAY_PATTERN}
        return {"pattern": ecma_pattern(chosen[0])} if chosen else {}

    @staticmethod
    def _within_day_bounds(field_obj) -> bool:
        return any(
            getattr(v, "min", None) == contracts.FIRST_DAY and getattr(v, "max", None) == contracts.LAST_DAY
            for v in field_obj.validators
        )

    def field2nullable(self, field_obj, ret) -> dict:
        # OpenAPI 3.0 ignores siblings of $ref; apispec's anyOf with a bare nullable object
        # would accept any object in its place: say "this schema, or null" instead.
        if field_obj.allow_none and ("$ref" in ret or "allOf" in ret):
            schemas = [{"$ref": ret.pop("$ref")}] if "$ref" in ret else ret.pop("allOf")
            return {"allOf": schemas, "nullable": True}
        return super().field2nullable(field_obj, ret)


# The component names the document had before it was generated from the routes: clients
# refer to them. Any other schema is named after its class.
COMPONENT_NAMES = {
    contracts.RequestSubmissionInput: "RequestSubmission",
    contracts.SubjectOutput: "Subject",
    contracts.ProblemOutput: "Problem",
    contracts.ExplainedDecision: "RoutingDecision",
    contracts.DecisionHistoryOutput: "RoutingDecisionHistory",
    contracts.ReassignmentInput: "Reassignment",
    contracts.AdminStatusOutput: "AdminStatus",
}


def component_name(schema) -> str:
    schema_cls = schema if isinstance(schema, type) else type(schema)
    return COMPONENT_NAMES.get(schema_cls) or schema_cls.__name__


class ContractPlugin(MarshmallowPlugin):
    Converter = ContractConverter

    def __init__(self):
        super().__init__(schema_name_resolver=component_name)


# ---- the document -------------------------------------------------------------------------


def routes_of(service_cls) -> list[Route]:
    """The routes of a service class, in the order they are declared."""
    found: dict[str, Route] = {}
    for klass in reversed(service_cls.__mro__):
        for name, attribute in vars(klass).items():
            declared = getattr(attribute, "route", None)
            if isinstance(declared, Route):
                found[name] = declared
    return list(found.values())


def _problem_response(route: Route, status: int) -> dict:
    description = PROBLEM_STATUSES.get(status, "Problema (RFC 9457)")
    response = {"description": description, "content": {PROBLEM_JSON: {"schema": contracts.ProblemOutput}}}
    codes = route.rules.get(status)
    if codes:
        response["description"] = (
            f"{description}. Regole che possono rifiutare una richiesta ben formata: " + (", ".join(codes))
        )
        response["x-business-rules"] = list(codes)
    if status == 503:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "secondi"}}
    return response


def _success_response(route: Route) -> dict:
    if route.response is not None:
        response = dict(route.response)
    else:
        schema = {"type": "array", "items": route.output} if route.many else route.output
        response = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    if route.location:
        response["headers"] = {
            "Location": {"schema": {"type": "string"}, "description": f"La risorsa creata: {route.location}"}
        }
    if route.links:
        response["links"] = {name: link.as_dict() for name, link in route.links.items()}
    return response


def operation(route: Route) -> dict:
    op = {"operationId": route.operation_id, "summary": route.summary, "responses": {}}
    if route.description:
        op["description"] = route.description
    op["responses"][str(route.status)] = _success_response(route)
    for status in route.problem_statuses():
        op["responses"][str(status)] = _problem_response(route, status)
    parameters = []
    if route.path_schema is not None:
        parameters.append({"in": "path", "schema": route.path_schema})
    if route.query is not None:
        parameters.append({"in": "query", "schema": route.query})
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        media = "multipart/form-data" if route.multipart else "application/json"
        content = {"schema": route.body}
        if route.example is not None:
            content["example"] = dict(route.example)
        op["requestBody"] = {"required": route.body_required, "content": {media: content}}
    if route.secured:
        op["security"] = SECURED
    return op


def build_document(routes: list[Route]) -> dict:
    spec = APISpec(
        title="Comunicazione Bidirezionale",
        version="1.0.0",
        openapi_version="3.0.3",
        info={"description": "API per aziende, intermediari, patronati e operatori di sede INPS"},
        plugins=[ContractPlugin()],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    paths: dict[str, dict] = {}
    for declared in routes:
        paths.setdefault(declared.path, {})[declared.method.lower()] = operation(declared)
    for path, operations in paths.items():
        spec.path(path, operations=operations)
    document = spec.to_dict()
    for operations in document["paths"].values():
        for op in operations.values():
            for parameter in op.get("parameters", ()):
                _not_nullable(parameter["schema"])
    return document


def _not_nullable(schema: dict) -> None:
    """A query or path parameter is absent or a string: never null (the fields are nullable
    for the services, which read an absent one as None)."""
    schema.pop("nullable", None)
    if schema.get("default", 0) is None:
        del schema["default"]
    if None in schema.get("enum", ()):
        schema["enum"] = [value for value in schema["enum"] if value is not None]


@lru_cache(maxsize=4)
def openapi_document(service_cls) -> dict:
    """The document of everything ``service_cls`` serves through ``route``."""
    return build_document(routes_of(service_cls))
