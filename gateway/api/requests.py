"""Requests: subjects catalog, attachments, submission, history and queues, detail, and
every step of the conversation (take in charge, answer, close, change subject, follow up,
remind, proactive outbound, referente grants)."""

from __future__ import annotations

import base64

from werkzeug.exceptions import RequestEntityTooLarge

from gateway import downloads
from gateway.api.base import GatewayBase, correlation_id
from gateway.entrypoints import http, json_response
from gateway.openapi import ID_PARAM, operation
from shared import access, contracts
from shared.errors import InvalidInput, NotFound, PayloadTooLarge, ProblemError, field_error

UPLOAD_MAX_BYTES = 6 * 1024 * 1024
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class RequestsApi(GatewayBase):
    @http("GET", "/api/v1/subjects")
    def list_subjects(self, request):
        caller = self._caller(request)
        return json_response(self._call("intake", "list_subjects", caller))

    @http("POST", "/api/v1/attachments")
    def upload_attachment(self, request):
        caller = self._caller(request)
        access.require_requester(caller)
        too_large = PayloadTooLarge("file_too_large", "Il file supera la dimensione massima di 6 MB.")
        if request.content_length and request.content_length > UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES:
            raise too_large
        # bounds a body sent without Content-Length too: the form parser stops at the limit
        request.max_content_length = UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES
        try:
            upload = request.files.get("file")
        except RequestEntityTooLarge:
            raise too_large from None
        if upload is None:
            raise InvalidInput.from_errors(
                [
                    field_error(
                        "file", "file_required", "Allegare un file nel campo 'file' (multipart/form-data)."
                    )
                ]
            )
        data = upload.stream.read(UPLOAD_MAX_BYTES + 1)
        if len(data) > UPLOAD_MAX_BYTES:
            raise too_large
        result = self._call(
            "intake",
            "upload_attachment",
            caller,
            upload.filename or "allegato",
            base64.b64encode(data).decode("ascii"),
        )
        return json_response(result, status=201)

    @http("POST", "/api/v1/requests")
    def submit_request(self, request):
        caller = self._caller(request)
        access.require_requester(caller)
        body = self._json_body(request)
        contracts.load(contracts.RequestSubmissionInput, body)  # shape errors answered here, early
        result = self._call("intake", "submit_request", caller, body, correlation_id(request))
        return json_response(result, status=201, headers={"Location": f"/api/v1/requests/{result['id']}"})

    @http("GET", "/api/v1/requests")
    def search_requests(self, request):
        caller = self._caller(request)
        filters = request.args.to_dict()
        contracts.load(contracts.SearchFilters, filters)
        return json_response(self._call("intake", "search_requests", caller, filters))

    @http("GET", "/api/v1/requests/<string:request_id>")
    def get_request(self, request, request_id):
        caller = self._caller(request)
        detail = self._call("intake", "get_request", caller, request_id)
        detail["booking"] = self._booking_eligibility(request_id)
        return json_response(detail)

    @http("GET", "/api/v1/requests/<string:request_id>/attachments/<string:attachment_id>")
    def download_attachment(self, request, request_id, attachment_id):
        """Streamed by the gateway, authorised like the detail (see ``gateway.downloads``)."""
        caller = self._caller(request)
        found = self._call("intake", "attachment_download", caller, request_id, attachment_id)
        return downloads.stream_attachment(found)

    def _booking_eligibility(self, request_id: str) -> dict:
        """Agenda owns the booking rule; intake has just confirmed the caller may see the request."""
        try:
            eligibility = self._call("agenda", "eligibility", request_id, timeout=3)
        except NotFound:
            return {
                "allowed": False,
                "reason_code": "not_yet_known",
                "reason": "Informazione sulla prenotazione non ancora disponibile.",
            }
        except ProblemError:
            return {
                "allowed": None,
                "reason_code": "agenda_unavailable",
                "reason": "Servizio appuntamenti momentaneamente non disponibile.",
            }
        return {key: eligibility.get(key) for key in ("allowed", "reason_code", "reason")}

    # -- the conversation ---------------------------------------------------------------

    def _step(self, request, request_id, method, schema, require):
        """One step of the conversation: ``require`` is the access rule on the caller
        (the service checks the request itself)."""
        caller = self._caller(request)
        require(caller)
        body = self._json_body(request, allow_empty=True)
        contracts.load(schema, body)
        return json_response(self._call("intake", method, caller, request_id, body, correlation_id(request)))

    @http("POST", "/api/v1/requests/<string:request_id>/take")
    def take_in_charge(self, request, request_id):
        return self._step(
            request, request_id, "take_in_charge", contracts.CommentInput, access.require_official
        )

    @http("POST", "/api/v1/requests/<string:request_id>/replies")
    def reply(self, request, request_id):
        return self._step(request, request_id, "reply", contracts.ReplyInput, access.require_official)

    @http("POST", "/api/v1/requests/<string:request_id>/close")
    def close(self, request, request_id):
        return self._step(request, request_id, "close", contracts.CloseInput, access.require_official)

    @http("POST", "/api/v1/requests/<string:request_id>/subject")
    def change_subject(self, request, request_id):
        return self._step(
            request, request_id, "change_subject", contracts.SubjectChangeInput, access.require_official
        )

    @http("POST", "/api/v1/requests/<string:request_id>/followups")
    def add_followup(self, request, request_id):
        return self._step(
            request, request_id, "add_followup", contracts.FollowupInput, access.require_requester
        )

    @http("POST", "/api/v1/requests/<string:request_id>/reminders")
    def add_reminder(self, request, request_id):
        return self._step(
            request, request_id, "add_reminder", contracts.ReminderInput, access.require_requester
        )

    @http("POST", "/api/v1/outbound")
    def send_outbound(self, request):
        caller = self._caller(request)
        access.require_official(caller)
        body = self._json_body(request)
        contracts.load(contracts.OutboundInput, body)
        return json_response(
            self._call("intake", "send_outbound", caller, body, correlation_id(request)), status=201
        )

    @http("PUT", "/api/v1/patronato/operators/<string:operator_id>/profile")
    def set_referente_profile(self, request, operator_id):
        caller = self._caller(request)
        access.require_role(caller, ("patronato_admin",))
        contracts.check_operator_id(operator_id)
        body = self._json_body(request)
        contracts.load(contracts.ReferenteProfileInput, body)
        return json_response(self._call("intake", "set_referente_profile", caller, operator_id, body))


def document(spec) -> None:
    for name, schema in (
        ("SearchFilters", contracts.SearchFilters),
        ("CommentInput", contracts.CommentInput),
        ("ReplyInput", contracts.ReplyInput),
        ("CloseInput", contracts.CloseInput),
        ("SubjectChangeInput", contracts.SubjectChangeInput),
        ("FollowupInput", contracts.FollowupInput),
        ("ReminderInput", contracts.ReminderInput),
        ("OutboundInput", contracts.OutboundInput),
        ("ReferenteProfileInput", contracts.ReferenteProfileInput),
    ):
        spec.components.schema(name, schema=schema)
    spec.path(
        "/api/v1/subjects",
        operations={
            "get": operation(
                "Catalogo degli oggetti per il profilo del chiamante", {"type": "array", "items": "Subject"}
            )
        },
    )
    spec.path(
        "/api/v1/attachments",
        operations={
            "post": operation(
                "Carica un allegato",
                "AttachmentResult",
                "201",
                body="AttachmentUpload",
                body_type="multipart/form-data",
            )
        },
    )
    search = operation("Storico (richiedenti) e coda di lavoro (operatori), con filtri e paginazione")
    search["parameters"] = [{"in": "query", "schema": "SearchFilters"}]
    spec.path(
        "/api/v1/requests",
        operations={
            "post": operation("Invia una richiesta", "SubmissionResult", "201", body="RequestSubmission"),
            "get": search,
        },
    )
    spec.path(
        "/api/v1/requests/{request_id}",
        operations={
            "get": operation(
                "Dettaglio di una richiesta, con il filo della conversazione",
                "RequestDetail",
                params=ID_PARAM,
            )
        },
    )
    spec.path("/api/v1/requests/{request_id}/attachments/{attachment_id}", operations={"get": _download()})
    steps = {
        "take": ("Presa in carico (operatore di sede)", "CommentInput"),
        "replies": ("Risposta della sede, eventualmente con chiusura ed esito", "ReplyInput"),
        "close": ("Chiusura con esito", "CloseInput"),
        "subject": ("Cambio oggetto per lavorazione", "SubjectChangeInput"),
        "followups": (
            "Ulteriore interazione del richiedente (al massimo 2 dopo la prima risposta)",
            "FollowupInput",
        ),
        "reminders": ("Sollecito (dopo 15 giorni senza risposta)", "ReminderInput"),
    }
    for path, (summary, body) in steps.items():
        spec.path(
            f"/api/v1/requests/{{request_id}}/{path}",
            operations={"post": operation(summary, body=body, params=ID_PARAM)},
        )
    spec.path(
        "/api/v1/outbound",
        operations={
            "post": operation("Comunicazione proattiva della sede", status="201", body="OutboundInput")
        },
    )
    spec.path(
        "/api/v1/patronato/operators/{operator_id}/profile",
        operations={
            "put": operation(
                "Concede o revoca il profilo di referente regionale (amministratore del patronato)",
                body="ReferenteProfileInput",
                params=[
                    {"name": "operator_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
            )
        },
    )


def _download() -> dict:
    attachment_id = {"name": "attachment_id", "in": "path", "required": True}
    attachment_id["schema"] = {"type": "string", "format": "uuid"}
    download = operation(
        "Scarica un allegato della richiesta (chi può leggere la richiesta; 404 per gli altri)",
        params=[*ID_PARAM, attachment_id],
    )
    header = {"schema": {"type": "string"}}
    download["responses"]["200"] = {
        "description": "Il file, con il tipo rilevato dal contenuto e il nome ripulito",
        "headers": {
            "Content-Disposition": dict(header, description="attachment; filename=...; filename*=UTF-8''..."),
            "Content-Length": {"schema": {"type": "integer"}},
            "X-Content-Type-Options": dict(header, description="nosniff"),
            "Cache-Control": dict(header, description="private, no-store"),
        },
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
    return download
