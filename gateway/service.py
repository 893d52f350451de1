"""HTTP gateway: authenticates, shapes input/output, calls services by RPC with a timeout.

No database, no storage credentials, no domain rules here.
"""
from __future__ import annotations

import base64
import json
import uuid

import eventlet
from nameko import config
from nameko.rpc import ClusterRpc

from gateway.auth import caller_from_header, require_role
from gateway.entrypoints import http, json_response, problem_response
from gateway.openapi import openapi_document
from shared import contracts
from shared.errors import InvalidInput, PayloadTooLarge, ProblemError, Unavailable, field_error

REQUESTER_ROLES = ("azienda", "intermediario", "patronato_operatore", "patronato_referente")
READY_SERVICES = ("intake", "routing", "notify", "reporting", "agenda")
UPLOAD_MAX_BYTES = 6 * 1024 * 1024
# A stale RPC must not run after the caller gave up: requests expire on the broker.
RPC_EXPIRATION_SECONDS = 10


class GatewayService:
    name = "gateway"

    rpc = ClusterRpc(expiration=RPC_EXPIRATION_SECONDS)

    # -- plumbing -----------------------------------------------------------------------

    def _caller(self, request) -> dict:
        return caller_from_header(request.headers.get("Authorization"), config["JWT_SECRET"])

    def _call(self, service: str, method: str, *args, timeout: float | None = None):
        timeout = timeout or float(config.get("RPC_TIMEOUT_SECONDS", 10))
        try:
            with eventlet.Timeout(timeout):
                return getattr(getattr(self.rpc, service), method)(*args)
        except eventlet.Timeout:
            raise Unavailable("service_timeout", f"Il servizio {service} non ha risposto in tempo. Riprovare più tardi.") from None

    @staticmethod
    def _json_body(request) -> dict:
        if not (request.mimetype or "").endswith("json"):
            raise ProblemError("unsupported_media_type", "Il corpo della richiesta deve essere JSON (Content-Type: application/json).")
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise ProblemError("invalid_json", "Il corpo della richiesta non è JSON valido.") from None
        if not isinstance(body, dict):
            raise ProblemError("invalid_json", "Il corpo della richiesta deve essere un oggetto JSON.")
        return body

    # -- probes and documentation -------------------------------------------------------

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
        for service, call in calls.items():
            try:
                with eventlet.Timeout(3):
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

    # -- requests -----------------------------------------------------------------------

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
