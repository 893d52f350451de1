"""Requests: subjects catalog, attachments, submission, history and queues, detail, and
every step of the conversation (take in charge, answer, close, change subject, follow up,
remind, proactive outbound, referente grants)."""

from __future__ import annotations

import base64

from werkzeug.exceptions import RequestEntityTooLarge

from gateway import downloads
from gateway.api.base import GatewayBase, correlation_id, route
from gateway.openapi import Link
from shared import access, contracts
from shared.errors import InvalidInput, NotFound, PayloadTooLarge, ProblemError, field_error

UPLOAD_MAX_BYTES = 6 * 1024 * 1024
MULTIPART_OVERHEAD_BYTES = 64 * 1024

# ---- links: what a client does next with the request it has ----------------------------------

_CONVERSATION = {
    "GetRequest": "get_request",
    "TakeInCharge": "take_in_charge",
    "Reply": "reply",
    "Close": "close",
    "ChangeSubject": "change_subject",
    "FollowUp": "add_followup",
    "Remind": "add_reminder",
    "Reassign": "reassign_request",
    "RoutingDecisions": "explain_recorded_routing",
}


def request_links(expression: str = "$response.body#/id", *names: str) -> dict[str, Link]:
    """Links to the operations on one request, whose id is at ``expression`` in the answer."""
    chosen = names or tuple(_CONVERSATION)
    return {name: Link(_CONVERSATION[name], {"request_id": expression}) for name in chosen}


DOWNLOAD_FIRST_ATTACHMENT = Link(
    "download_attachment",
    {"request_id": "$response.body#/id", "attachment_id": "$response.body#/attachments/0/id"},
    description="il primo allegato della richiesta",
)
SUBMIT_WITH_UPLOAD = Link(
    "submit_request",
    request_body={"attachments": ["$response.body#/id"]},
    description="una richiesta con l'allegato appena caricato",
)
# what an example submission needs: a patronato operator's request for a citizen of Roma
SUBMISSION_EXAMPLE = {
    "subject": "requisiti_accesso",
    "text": "Quali sono i requisiti per la pensione anticipata?",
    "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
    "contacts": {"email": "operatore@patronato.example"},
}

SUBMISSION_RULES = (
    "unknown_subject",
    "citizen_required",
    "invalid_codice_fiscale",
    "invalid_cap",
    "unknown_cap",
    "invalid_matricola",
    "matricola_not_delegated",
    "identifier_required",
    "identifier_not_expected",
    "invalid_protocollo",
    "invalid_domus",
    "invalid_pensione",
    "too_many_attachments",
    "attachments_too_large",
    "unknown_attachment",
    "unknown_parent",
    "cric_section_required",
    "cric_section_not_expected",
)
OFFICIAL_STEP_CONFLICTS = ("request_closed", "outbound_message")


def store_upload(service: GatewayBase, caller, upload) -> dict:
    """One uploaded file (a werkzeug ``FileStorage``) sent to intake, at most 6 MB: the API's
    upload and the console's request form both store files through here."""
    data = upload.stream.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        raise PayloadTooLarge("file_too_large", "Il file supera la dimensione massima di 6 MB.")
    return service._call(
        "intake",
        "upload_attachment",
        caller,
        upload.filename or "allegato",
        base64.b64encode(data).decode("ascii"),
    )


class RequestsApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/subjects",
        "Catalogo degli oggetti per il profilo del chiamante",
        output=contracts.SubjectOutput,
        many=True,
    )
    def list_subjects(self, call):
        return self._call("intake", "list_subjects", call.caller)

    @route(
        "POST",
        "/api/v1/attachments",
        "Carica un allegato (multipart/form-data, un solo campo: file)",
        body=contracts.AttachmentUpload,
        multipart=True,
        access=access.require_uploader,
        output=contracts.AttachmentResult,
        status=201,
        rules={422: ("empty_file", "file_type_not_allowed")},
        links={"SubmitWithAttachment": SUBMIT_WITH_UPLOAD},
    )
    def upload_attachment(self, call):
        request = call.request
        too_large = PayloadTooLarge("file_too_large", "Il file supera la dimensione massima di 6 MB.")
        if request.content_length and request.content_length > UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES:
            raise too_large
        # bounds a body sent without Content-Length too: the form parser stops at the limit
        request.max_content_length = UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES
        try:
            upload = request.files.get("file")
            others = sorted({*request.form.keys(), *request.files.keys()} - {"file"})
        except RequestEntityTooLarge:
            raise too_large from None
        if others:  # the form has one part: like a JSON body, anything else is refused
            raise InvalidInput.from_errors(
                [field_error(name, "invalid_field", "Campo non previsto.") for name in others]
            )
        if upload is None:
            raise InvalidInput.from_errors(
                [
                    field_error(
                        "file", "file_required", "Allegare un file nel campo 'file' (multipart/form-data)."
                    )
                ]
            )
        return store_upload(self, call.caller, upload)

    @route(
        "POST",
        "/api/v1/requests",
        "Invia una richiesta",
        body=contracts.RequestSubmissionInput,
        example=SUBMISSION_EXAMPLE,
        access=access.require_requester,
        output=contracts.SubmissionResult,
        status=201,
        location="/api/v1/requests/{id}",
        rules={422: SUBMISSION_RULES},
        links=request_links(),
    )
    def submit_request(self, call):
        return self._call("intake", "submit_request", call.caller, call.body, correlation_id(call.request))

    @route(
        "GET",
        "/api/v1/requests",
        "Storico (richiedenti) e coda di lavoro (operatori), con filtri e paginazione",
        query=contracts.SearchFilters,
        output=contracts.SearchResult,
        rules={422: contracts.SEARCH_RULES},
        links=request_links(
            "$response.body#/items/0/id", "GetRequest", "TakeInCharge", "Reply", "Close", "FollowUp"
        ),
    )
    def search_requests(self, call):
        return self._call("intake", "search_requests", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/requests/{request_id}",
        "Dettaglio di una richiesta, con il filo della conversazione",
        path_schema=contracts.RequestPath,
        output=contracts.RequestDetail,
        links={
            **request_links(
                "$response.body#/id",
                "TakeInCharge",
                "Reply",
                "Close",
                "ChangeSubject",
                "FollowUp",
                "Remind",
                "Reassign",
                "RoutingDecisions",
            ),
            "DownloadAttachment": DOWNLOAD_FIRST_ATTACHMENT,
        },
    )
    def get_request(self, call, request_id):
        detail = self._call("intake", "get_request", call.caller, request_id)
        detail["booking"] = self._booking_eligibility(request_id)
        return detail

    @route(
        "GET",
        "/api/v1/requests/{request_id}/attachments/{attachment_id}",
        "Scarica un allegato della richiesta (chi può leggere la richiesta; 404 per gli altri)",
        path_schema=contracts.AttachmentPath,
        response={
            "description": "Il file, con il tipo rilevato dal contenuto e il nome ripulito",
            "headers": {
                "Content-Disposition": {
                    "schema": {"type": "string"},
                    "description": "attachment; filename=...; filename*=UTF-8''...",
                },
                "Content-Length": {"schema": {"type": "integer"}},
                "X-Content-Type-Options": {"schema": {"type": "string"}, "description": "nosniff"},
                "Cache-Control": {"schema": {"type": "string"}, "description": "private, no-store"},
            },
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
    )
    def download_attachment(self, call, request_id, attachment_id):
        """Streamed by the gateway, authorised like the detail (see ``gateway.downloads``)."""
        found = self._call("intake", "attachment_download", call.caller, request_id, attachment_id)
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

    # -- the conversation: the access rule is on the caller, the service checks the request ---

    def _step(self, call, request_id, method):
        return self._call("intake", method, call.caller, request_id, call.body, correlation_id(call.request))

    @route(
        "POST",
        "/api/v1/requests/{request_id}/take",
        "Presa in carico (operatore di sede)",
        path_schema=contracts.RequestPath,
        body=contracts.CommentInput,
        body_required=False,
        empty_body=True,
        access=access.require_official,
        output=contracts.StateResult,
        rules={409: ("already_in_progress", *OFFICIAL_STEP_CONFLICTS)},
        links=request_links("$response.body#/id", "GetRequest", "Reply", "Close", "ChangeSubject"),
    )
    def take_in_charge(self, call, request_id):
        return self._step(call, request_id, "take_in_charge")

    @route(
        "POST",
        "/api/v1/requests/{request_id}/replies",
        "Risposta della sede, eventualmente con chiusura ed esito",
        path_schema=contracts.RequestPath,
        body=contracts.ReplyInput,
        empty_body=True,
        example={"text": "La domanda è in istruttoria."},
        access=access.require_official,
        output=contracts.ReplyResult,
        rules={409: OFFICIAL_STEP_CONFLICTS, 422: ("outcome_required",)},
        links=request_links("$response.body#/id", "GetRequest", "FollowUp", "Close"),
    )
    def reply(self, call, request_id):
        return self._step(call, request_id, "reply")

    @route(
        "POST",
        "/api/v1/requests/{request_id}/close",
        "Chiusura con esito",
        path_schema=contracts.RequestPath,
        body=contracts.CloseInput,
        empty_body=True,
        example={"outcome": "Pratica definita", "enable_booking": True},
        access=access.require_official,
        output=contracts.StateResult,
        rules={409: OFFICIAL_STEP_CONFLICTS, 422: ("outcome_required",)},
        links=request_links("$response.body#/id", "GetRequest"),
    )
    def close(self, call, request_id):
        return self._step(call, request_id, "close")

    @route(
        "POST",
        "/api/v1/requests/{request_id}/subject",
        "Cambio oggetto per lavorazione",
        path_schema=contracts.RequestPath,
        body=contracts.SubjectChangeInput,
        empty_body=True,
        access=access.require_official,
        output=contracts.SubjectChangeResult,
        rules={409: OFFICIAL_STEP_CONFLICTS, 422: ("same_subject", "unknown_subject")},
        links=request_links("$response.body#/id", "GetRequest", "RoutingDecisions"),
    )
    def change_subject(self, call, request_id):
        return self._step(call, request_id, "change_subject")

    @route(
        "POST",
        "/api/v1/requests/{request_id}/followups",
        "Ulteriore interazione del richiedente (al massimo 2 dopo la prima risposta)",
        path_schema=contracts.RequestPath,
        body=contracts.FollowupInput,
        empty_body=True,
        example={"text": "Servono altri documenti?"},
        access=access.require_requester,
        output=contracts.FollowupResult,
        rules={409: ("followups_not_offered", "request_closed", "no_answer_yet", "followups_exhausted")},
        links=request_links("$response.body#/id", "GetRequest", "Reply"),
    )
    def add_followup(self, call, request_id):
        return self._step(call, request_id, "add_followup")

    @route(
        "POST",
        "/api/v1/requests/{request_id}/reminders",
        "Sollecito (dal 15° giorno senza risposta)",
        path_schema=contracts.RequestPath,
        body=contracts.ReminderInput,
        body_required=False,
        empty_body=True,
        access=access.require_requester,
        output=contracts.ReminderResult,
        rules={
            409: (
                "reminder_not_offered",
                "already_answered",
                "request_closed",
                "outbound_message",
                "reminder_too_early",
            )
        },
        links=request_links("$response.body#/id", "GetRequest"),
    )
    def add_reminder(self, call, request_id):
        return self._step(call, request_id, "add_reminder")

    @route(
        "POST",
        "/api/v1/outbound",
        "Comunicazione proattiva della sede",
        body=contracts.OutboundInput,
        example={
            "recipient": {"kind": "azienda", "matricola": "7012345678"},
            "subject": "Convocazione",
            "text": "Si invita l'azienda a contattare la sede.",
        },
        access=access.require_official,
        output=contracts.OutboundResult,
        status=201,
        rules={
            422: ("matricola_required", "codice_fiscale_required", "patronato_required", "invalid_matricola")
        },
        links=request_links("$response.body#/id", "GetRequest"),
    )
    def send_outbound(self, call):
        return self._call("intake", "send_outbound", call.caller, call.body, correlation_id(call.request))

    @route(
        "PUT",
        "/api/v1/patronato/operators/{operator_id}/profile",
        "Concede o revoca il profilo di referente regionale (amministratore del patronato)",
        path_schema=contracts.OperatorPath,
        path_checks={"operator_id": contracts.check_operator_id},
        body=contracts.ReferenteProfileInput,
        access=lambda caller: access.require_role(caller, ("patronato_admin",)),
        output=contracts.ReferenteProfileResult,
    )
    def set_referente_profile(self, call, operator_id):
        return self._call("intake", "set_referente_profile", call.caller, operator_id, call.body)
