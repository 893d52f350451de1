"""Requests: subjects catalog, attachments, submission, detail."""
from __future__ import annotations

import base64
import uuid

from gateway.api.base import REQUESTER_ROLES, GatewayBase
from gateway.auth import require_role
from gateway.entrypoints import http, json_response
from gateway.openapi import ID_PARAM, operation
from shared import contracts
from shared.errors import InvalidInput, PayloadTooLarge, field_error

UPLOAD_MAX_BYTES = 6 * 1024 * 1024


class RequestsApi(GatewayBase):
    @http("GET", "/api/v1/subjects")
    def list_subjects(self, request):
        caller = self._caller(request)
        return json_response(self._call("intake", "list_subjects", caller))

    @http("POST", "/api/v1/attachments")
    def upload_attachment(self, request):
        caller = self._caller(request)
        require_role(caller, REQUESTER_ROLES)
        if request.content_length and request.content_length > UPLOAD_MAX_BYTES + 64 * 1024:
            raise PayloadTooLarge("file_too_large", "Il file supera la dimensione massima di 6 MB.")
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput.from_errors([field_error("file", "file_required", "Allegare un file nel campo 'file' (multipart/form-data).")])
        data = upload.stream.read(UPLOAD_MAX_BYTES + 1)
        if len(data) > UPLOAD_MAX_BYTES:
            raise PayloadTooLarge("file_too_large", "Il file supera la dimensione massima di 6 MB.")
        result = self._call("intake", "upload_attachment", caller, upload.filename or "allegato", base64.b64encode(data).decode("ascii"))
        return json_response(result, status=201)

    @http("POST", "/api/v1/requests")
    def submit_request(self, request):
        caller = self._caller(request)
        require_role(caller, REQUESTER_ROLES)
        body = self._json_body(request)
        contracts.load(contracts.RequestSubmissionInput, body)  # shape errors answered here, early
        correlation_id = request.headers.get("X-Request-ID") or str(uuid.uuid4())
        result = self._call("intake", "submit_request", caller, body, correlation_id)
        return json_response(result, status=201, headers={"Location": f"/api/v1/requests/{result['id']}"})

    @http("GET", "/api/v1/requests/<string:request_id>")
    def get_request(self, request, request_id):
        caller = self._caller(request)
        return json_response(self._call("intake", "get_request", caller, request_id))


def document(spec) -> None:
    spec.path("/api/v1/subjects", operations={"get": operation("Catalogo degli oggetti per il profilo del chiamante", {"type": "array", "items": "Subject"})})
    spec.path(
        "/api/v1/attachments",
        operations={"post": operation("Carica un allegato", "AttachmentResult", "201", body="AttachmentUpload", body_type="multipart/form-data")},
    )
    spec.path(
        "/api/v1/requests",
        operations={"post": operation("Invia una richiesta", "SubmissionResult", "201", body="RequestSubmission")},
    )
    spec.path("/api/v1/requests/{request_id}", operations={"get": operation("Dettaglio di una richiesta", "RequestDetail", params=ID_PARAM)})
