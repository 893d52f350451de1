"""OpenAPI 3 document generated from the marshmallow schemas (apispec)."""

from __future__ import annotations

import importlib
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared import contracts


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String(metadata={"description": "Codice stabile per i programmi"})
    detail = fields.String(metadata={"description": "Spiegazione in italiano per le persone"})
    errors = fields.List(fields.Dict(), metadata={"description": "Campi non validi: field, code, detail"})


class AttachmentUpload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


PROBLEM = {
    "description": "Problema (RFC 9457)",
    "content": {"application/problem+json": {"schema": "Problem"}},
}
SECURED = [{"bearerAuth": []}]


def operation(
    summary,
    response_schema=None,
    status="200",
    body=None,
    body_type="application/json",
    params=None,
    secured=True,
):
    operation = {"summary": summary, "responses": {status: {"description": "OK"}}}
    if response_schema:
        operation["responses"][status]["content"] = {"application/json": {"schema": response_schema}}
    if body:
        operation["requestBody"] = {"required": True, "content": {body_type: {"schema": body}}}
    if params:
        operation["parameters"] = params
    if secured:
        operation["security"] = SECURED
        for code in ("400", "401", "403", "404", "422", "503"):
            operation["responses"][code] = PROBLEM
    return operation


# Each module of endpoints documents its own paths with ``document(spec)``.
API_MODULES = ("gateway.api.probes", "gateway.api.requests", "gateway.api.routing", "gateway.api.admin")

ID_PARAM = [
    {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
]


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    spec = APISpec(
        title="Comunicazione Bidirezionale",
        version="1.0.0",
        openapi_version="3.0.3",
        info={"description": "API per aziende, intermediari, patronati e operatori di sede INPS"},
        plugins=[MarshmallowPlugin()],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", schema=ProblemSchema)
    spec.components.schema("RequestSubmission", schema=contracts.RequestSubmissionInput)
    spec.components.schema("SubmissionResult", schema=contracts.SubmissionResult)
    spec.components.schema("RequestDetail", schema=contracts.RequestDetail)
    spec.components.schema("Subject", schema=contracts.SubjectOutput)
    spec.components.schema("AttachmentResult", schema=contracts.AttachmentResult)
    spec.components.schema("AttachmentUpload", schema=AttachmentUpload)

    for module_name in API_MODULES:
        importlib.import_module(module_name).document(spec)
    return spec.to_dict()
