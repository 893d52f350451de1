"""The sede official's screens: the work queue with its filters, a request with the steps the
official may take (take in charge, answer, close with outcome and booking, change of subject,
reassignment), and the proactive outbound message. Every step is the API's own operation;
a refusal of the rules (409, 422) comes back on the same page as an alert naming the rule,
a refusal of access (403, 404) as the API's error page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from gateway.api.base import GatewayBase
from gateway.api.requests import RequestsApi
from gateway.api.routing import RoutingApi
from gateway.ui.console import View, page
from gateway.ui.labels_office import ALL as LABELS
from gateway.ui.render import redirect
from shared import access
from shared.errors import NotFound, ProblemError

QUEUE_FILTERS = ("origin", "consulente", "matricola", "state", "queue", "subject", "codice_fiscale")
PAGE_SIZE = 20
# the rule refusals shown on the page itself; access refusals keep the API's error page
RULE_STATUSES = (409, 422)


def may_work(caller) -> bool:
    return caller is not None and (caller.is_official or caller.role == "admin")


def _flag(form, name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "si")


def _text(form, name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def _take(form) -> dict:
    return {"comment": _text(form, "comment")} if _text(form, "comment") else {}


def _reply(form) -> dict:
    return {"text": form.get("text", "")}


def _close(form) -> dict:
    body = {"outcome": form.get("outcome", ""), "enable_booking": _flag(form, "enable_booking")}
    if _text(form, "comment"):
        body["comment"] = _text(form, "comment")
    return body


def _subject(form) -> dict:
    body = {"subject": form.get("subject", "")}
    if _text(form, "comment"):
        body["comment"] = _text(form, "comment")
    return body


def _reassign(form) -> dict:
    return {"sede": form.get("sede", ""), "reason": form.get("reason", "")}


# action (last part of the form's path) → the API operation, the body from the form, the notice
ACTIONS = {
    "prendi": (RequestsApi.take_in_charge, _take, "Richiesta presa in carico."),
    "rispondi": (RequestsApi.reply, _reply, "Risposta inviata."),
    "chiudi": (RequestsApi.close, _close, "Richiesta chiusa."),
    "oggetto": (RequestsApi.change_subject, _subject, "Oggetto cambiato."),
    "riassegna": (RoutingApi.reassign_request, _reassign, "Richiesta riassegnata."),
}
NOTICES = {name: notice for name, (_, _, notice) in ACTIONS.items()} | {
    "comunicazione": "Comunicazione inviata."
}


class OfficePages(GatewayBase):
    @page("GET", "/ui/sede/coda")
    def ui_office_queue(self, view: View):
        access.require_official(view.caller)
        args = view.request.args
        filters = {name: (args.get(name) or "").strip()[:100] for name in QUEUE_FILTERS}
        try:
            number = max(1, min(int(args.get("page", "1")), 10_000))
        except ValueError:
            number = 1
        problem, result = None, {"items": [], "total": 0, "page": number, "page_size": PAGE_SIZE}
        try:
            result = view.api(
                RequestsApi.search_requests, query={**filters, "page": number, "page_size": PAGE_SIZE}
            )
        except ProblemError as refused:
            if refused.status != 422:
                raise
            problem = refused.as_problem()
        pages = max(1, -(-result["total"] // PAGE_SIZE))
        kept = {name: value for name, value in filters.items() if value}
        return view.render(
            "sede/coda.html",
            filters=filters,
            result=result,
            problem=problem,
            pages=pages,
            page_link=lambda n: "/ui/sede/coda?" + urlencode({**kept, "page": n}),
            **LABELS,
        )

    @page("GET", "/ui/sede/richieste/<string:request_id>")
    def ui_office_request(self, view: View, request_id):
        return self._office_request(view, request_id)

    @page("POST", "/ui/sede/richieste/<string:request_id>/<string:azione>")
    def ui_office_request_action(self, view: View, request_id, azione):
        if azione not in ACTIONS:
            raise NotFound("not_found", "Pagina non trovata.")
        operation, body_of, _ = ACTIONS[azione]
        try:
            view.api(operation, body=body_of(view.request.form), request_id=request_id)
        except ProblemError as refused:
            if refused.status not in RULE_STATUSES:
                raise
            return self._office_request(view, request_id, refused.as_problem(), status=refused.status)
        return redirect(f"/ui/sede/richieste/{request_id}?fatto={azione}")

    def _office_request(self, view: View, request_id, problem=None, status=200):
        detail = view.api(RequestsApi.get_request, request_id=request_id)
        subjects = []
        if may_work(view.caller) and detail["state"] != "closed":
            subjects = view.api(RequestsApi.list_subjects)
        return view.render(
            "sede/richiesta.html",
            status=status,
            r=detail,
            problem=problem,
            may_work=may_work(view.caller),
            subjects=subjects,
            notice=NOTICES.get(view.request.args.get("fatto", "")),
            form=view.request.form if problem else {},
            **LABELS,
        )

    @page("GET", "/ui/sede/comunicazione")
    def ui_office_outbound(self, view: View):
        access.require_official(view.caller)
        prefill = {"request_id": view.request.args.get("richiesta", "")[:36]}
        return view.render("sede/comunicazione.html", form=prefill, problem=None, **LABELS)

    @page("POST", "/ui/sede/comunicazione")
    def ui_office_outbound_post(self, view: View):
        form = view.request.form
        kind = form.get("kind", "")
        recipient: dict = {"kind": kind}
        if kind == "patronato":
            recipient["patronato"] = {"ente": form.get("ente", ""), "ufficio": form.get("ufficio", "")}
        for name in ("matricola", "codice_fiscale"):
            if _text(form, name):
                recipient[name] = _text(form, name)
        if _text(form, "email"):
            recipient["contacts"] = {"email": _text(form, "email")}
        body = {"recipient": recipient, "subject": form.get("subject", ""), "text": form.get("text", "")}
        if _text(form, "request_id"):
            body["request_id"] = _text(form, "request_id")
        try:
            sent = view.api(RequestsApi.send_outbound, body=body)
        except ProblemError as refused:
            if refused.status not in RULE_STATUSES:
                raise
            return view.render(
                "sede/comunicazione.html",
                status=refused.status,
                form=form,
                problem=refused.as_problem(),
                **LABELS,
            )
        return redirect(f"/ui/sede/richieste/{sent['id']}?fatto=comunicazione")
