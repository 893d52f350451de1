"""The requesters' screens: a new request, the history ("Storico richieste" for patronati,
"Comunicazioni" for the Cassetto), a request's detail with its thread, follow-ups and
reminders. Every step goes through the API's own operations (``View.api``)."""

from __future__ import annotations

from urllib.parse import urlencode

from gateway.api.base import GatewayBase
from gateway.api.requests import RequestsApi, store_upload
from gateway.entrypoints import json_response
from gateway.ui import request_form
from gateway.ui.console import View, page
from gateway.ui.labels_office import MESSAGE_KINDS as MESSAGE_LABELS
from gateway.ui.labels_office import STEPS as STEP_LABELS
from gateway.ui.render import redirect, secure
from shared import access
from shared.errors import InvalidInput
from shared.identifiers import IdentifierError, check_cap, comuni_for_cap
from shared.vocabulary import CRIC_SECTIONS, STATES

PAGE_SIZE = 20
STATE_LABELS = {"open": "Aperta", "in_progress": "In lavorazione", "closed": "Chiusa"}
IDENTIFIER_LABELS = {
    "protocollo": "Numero di protocollo",
    "domus": "Numero Domus",
    "pensione": "Numero pensione",
}
HISTORY_ROLES = (*access.PATRONATO_ROLES, *access.CASSETTO_ROLES)
FILTERS = ("state", "subject", "opened_from", "opened_to", "matricola", "codice_fiscale")


def _common() -> dict:
    return {
        "state_labels": STATE_LABELS,
        "step_labels": STEP_LABELS,
        "message_labels": MESSAGE_LABELS,
        "identifier_labels": IDENTIFIER_LABELS,
        "cric_sections": CRIC_SECTIONS,
    }


def _history_title(caller) -> str:
    return "Comunicazioni" if caller.role in access.CASSETTO_ROLES else "Storico richieste"


class RequestPages(GatewayBase):
    # ---- a new request ------------------------------------------------------------------

    def _new_request_form(self, view: View, values=None, errors=None, kept=None, status=200):
        subjects = view.api(RequestsApi.list_subjects)
        return view.render(
            "richieste/nuova.html",
            status=status,
            subjects=subjects,
            values=values or {name: "" for name in request_form.TEXT_FIELDS},
            errors=(errors or request_form.FormErrors()).by_field,
            summary=(errors or request_form.FormErrors()).summary(),
            kept=kept or [],
            labels=request_form.LABELS,
            max_files=request_form.CASSETTO_MAX_FILES if view.caller.role in access.CASSETTO_ROLES else 0,
            max_total=request_form.PATRONATO_MAX_TOTAL,
            **_common(),
        )

    @page("GET", "/ui/richieste/nuova")
    def ui_new_request(self, view: View):
        access.require_requester(view.caller)
        return self._new_request_form(view)

    @page("POST", "/ui/richieste/nuova", max_body=request_form.FORM_MAX_BYTES)
    def ui_new_request_post(self, view: View):
        access.require_requester(view.caller)
        form = view.request.form
        values = request_form.values_of(form)
        # files stored by an earlier try of this form (a browser cannot keep a chosen file)
        kept = [value for value in form.getlist("attachment_ids") if value][:20]
        uploads = [upload for upload in view.request.files.getlist("allegati") if upload and upload.filename]
        files = [(upload.filename, request_form.file_size(upload)) for upload in uploads]
        body = request_form.submission_body(view.caller, values, kept)
        errors = request_form.precheck(view.caller, body, files)
        kept_files = self._kept_files(form, kept)
        if errors:
            return self._new_request_form(view, values, errors, kept_files, status=422)
        try:
            for upload in uploads:
                stored = store_upload(self, view.caller, upload)
                kept.append(stored["id"])
                kept_files.append({"id": stored["id"], "filename": stored["filename"]})
            created = view.api(RequestsApi.submit_request, body={**body, "attachments": kept})
        except InvalidInput as problem:
            errors = request_form.problem_errors(problem)
            return self._new_request_form(view, values, errors, kept_files, status=422)
        return redirect(f"/ui/richieste/{created['id']}?inviata=1")

    @page("GET", "/ui/richieste/verifica-cap")
    def ui_check_cap(self, view: View):
        """The CAP as typed in the form, checked against the ISTAT comuni (intake checks it
        again on submission): whether it exists, and the comuni it serves."""
        access.require_requester(view.caller)
        cap = (view.request.args.get("cap") or "").strip()[:10]
        try:
            check_cap(cap)
        except IdentifierError as exc:
            return secure(json_response({"valid": False, "code": exc.code, "detail": exc.detail}))
        names = sorted({comune["nome"] for comune in comuni_for_cap(cap)})
        detail = f"CAP {cap}: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}."
        return secure(json_response({"valid": True, "code": "cap_found", "detail": detail}))

    @staticmethod
    def _kept_files(form, kept: list[str]) -> list[dict]:
        names = form.getlist("attachment_names")
        return [
            {"id": kept_id, "filename": names[i] if i < len(names) else ""} for i, kept_id in enumerate(kept)
        ]

    # ---- history ------------------------------------------------------------------------

    @page("GET", "/ui/richieste")
    def ui_requests(self, view: View):
        access.require_role(view.caller, HISTORY_ROLES)
        args = view.request.args
        filters = {name: (args.get(name) or "").strip() for name in FILTERS}
        if view.caller.role not in access.CASSETTO_ROLES:
            filters["matricola"] = ""
        page_number = args.get("page", "1")
        query = {**filters, "page": page_number if page_number.isdigit() else "x", "page_size": PAGE_SIZE}
        errors, result = {}, None
        try:
            result = view.api(RequestsApi.search_requests, query=query)
        except InvalidInput as problem:
            for error in problem.errors:
                errors.setdefault(error.get("field") or "page", []).append(error["detail"])
        subjects = view.api(RequestsApi.list_subjects)
        pages = 0
        if result:
            pages = max(1, -(-result["total"] // result["page_size"]))
        kept_filters = {name: value for name, value in filters.items() if value}
        return view.render(
            "richieste/storico.html",
            status=422 if errors else 200,
            title=_history_title(view.caller),
            cassetto=view.caller.role in access.CASSETTO_ROLES,
            filters=filters,
            errors=errors,
            result=result,
            pages=pages,
            subjects=subjects,
            states=STATES,
            page_url=lambda number: "/ui/richieste?" + urlencode({**kept_filters, "page": number}),
            **_common(),
        )

    # ---- one request --------------------------------------------------------------------

    def _detail(self, view: View, request_id: str, errors=None, status=200, text=""):
        detail = view.api(RequestsApi.get_request, request_id=request_id)
        return view.render(
            "richieste/dettaglio.html",
            status=status,
            request=detail,
            requester=view.caller.role in access.REQUESTER_ROLES,
            errors=errors or {},
            followup_text=text,
            notice=view.request.args.get("esito", "") if status == 200 else "",
            sent=view.request.args.get("inviata") == "1",
            **_common(),
        )

    @page("GET", "/ui/richieste/<string:request_id>")
    def ui_request(self, view: View, request_id):
        return self._detail(view, request_id)

    @page("POST", "/ui/richieste/<string:request_id>/sollecito")
    def ui_remind(self, view: View, request_id):
        text = (view.request.form.get("text") or "").strip()
        view.api(RequestsApi.add_reminder, body={"text": text} if text else {}, request_id=request_id)
        return redirect(f"/ui/richieste/{request_id}?esito=sollecito")

    @page("POST", "/ui/richieste/<string:request_id>/interazioni")
    def ui_follow_up(self, view: View, request_id):
        text = (view.request.form.get("text") or "").strip()
        try:
            view.api(RequestsApi.add_followup, body={"text": text}, request_id=request_id)
        except InvalidInput as problem:
            errors = {"text": [error["detail"] for error in problem.errors] or [problem.detail]}
            return self._detail(view, request_id, errors=errors, status=422, text=text)
        return redirect(f"/ui/richieste/{request_id}?esito=interazione")

    @page("GET", "/ui/richieste/<string:request_id>/allegati/<string:attachment_id>")
    def ui_attachment(self, view: View, request_id, attachment_id):
        return view.api(RequestsApi.download_attachment, request_id=request_id, attachment_id=attachment_id)
