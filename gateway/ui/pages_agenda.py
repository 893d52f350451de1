"""Agenda Appuntamenti in the console: the home list (a requester's bookings; for a sede
official, the day of the sede's punto), "Cerca Appuntamenti", "Nuovo Appuntamento" (from a
request that allows it: a punto of the request's sede, a free slot, web meeting or in
presence), an appointment with its cancellation, and the sede's availability. Every figure
and step is the API's operation (gateway/api/agenda.py); agenda decides who sees what.
"""

from __future__ import annotations

from datetime import date, timedelta

from gateway.api.agenda import AgendaApi
from gateway.api.base import GatewayBase
from gateway.api.requests import RequestsApi
from gateway.ui.console import View, page
from gateway.ui.labels_office import ALL as LABELS
from gateway.ui.pages_office import RULE_STATUSES
from gateway.ui.render import local_time, redirect
from shared import access
from shared.errors import ProblemError

SEARCH_FIELDS = ("date", "from", "to", "codice_fiscale", "state", "punto", "page")
SLOT_DAYS = 20  # free slots shown from tomorrow
NEW = "/ui/agenda/nuovo"


def _args(request, names) -> dict:
    return {
        name: request.args.get(name, "").strip()[:60] for name in names if request.args.get(name, "").strip()
    }


def _official(caller) -> bool:
    return caller.is_official or caller.role == "admin"


def _context() -> dict:
    return {"ora": local_time, **LABELS}


class AgendaPages(GatewayBase):
    @page("GET", "/ui/agenda")
    def ui_agenda(self, view: View):
        if not _official(view.caller):
            found = view.api(AgendaApi.search_appointments, query={"page_size": 50})
            return view.render("agenda/home.html", found=found, day=None, punti=[], **_context())
        punti = view.api(AgendaApi.list_punti, query={"sede": view.caller.sede} if view.caller.sede else {})
        chosen = view.request.args.get("punto") or (punti[0]["punto_id"] if punti else "")
        day_value = view.request.args.get("date") or date.today().isoformat()
        day = view.api(AgendaApi.agenda_day, query={"punto": chosen, "date": day_value}) if chosen else None
        return view.render(
            "agenda/home.html",
            found=None,
            day=day,
            punti=punti,
            chosen=chosen,
            day_value=day_value,
            **_context(),
        )

    @page("GET", "/ui/agenda/cerca")
    def ui_agenda_search(self, view: View):
        query = _args(view.request, SEARCH_FIELDS)
        found, problem = None, None
        if query:
            try:
                found = view.api(AgendaApi.search_appointments, query=query)
            except ProblemError as refused:
                if refused.status != 422:
                    raise
                problem = refused.as_problem()
        return view.render("agenda/cerca.html", query=query, found=found, problem=problem, **_context())

    @page("GET", NEW)
    def ui_agenda_new(self, view: View):
        access.require_role(view.caller, access.BOOKER_ROLES)
        return self._new(view, form={})

    def _new(self, view: View, form, problem=None, status=200):
        args = view.request.args
        request_id = (form.get("request_id") or args.get("richiesta") or "").strip()[:36]
        detail = view.api(RequestsApi.get_request, request_id=request_id) if request_id else None
        sede = (detail or {}).get("assigned_sede") or args.get("sede", "").strip()[:4]
        modality = form.get("modality") or args.get("modalita") or "web_meeting"
        punti = view.api(AgendaApi.list_punti, query={"sede": sede, "modality": modality}) if sede else []
        punto_id = form.get("punto_id") or args.get("punto") or (punti[0]["punto_id"] if punti else "")
        punto = next((p for p in punti if p["punto_id"] == punto_id), None)
        slots = []
        if punto:
            first = date.today() + timedelta(days=1)
            free = view.api(
                AgendaApi.availability,
                query={
                    "punto": punto_id,
                    "from": first.isoformat(),
                    "to": (first + timedelta(days=SLOT_DAYS)).isoformat(),
                    "modality": modality,
                },
            )
            # grouped by the day in Italy in the page
            slots = [{**slot, "day": local_time(slot["start"], "%A %d/%m/%Y")} for slot in free["slots"]]
        return view.render(
            "agenda/nuovo.html",
            status=status,
            detail=detail,
            request_id=request_id,
            sede=sede,
            modality=modality,
            punti=punti,
            punto=punto,
            slots=slots,
            form=form,
            problem=problem,
            **_context(),
        )

    @page("POST", NEW)
    def ui_agenda_book(self, view: View):
        form = view.request.form
        body = {
            "punto_id": form.get("punto_id", ""),
            "slot_start": form.get("slot_start", ""),
            "modality": form.get("modality", ""),
            "topic": form.get("topic", ""),
            "codici_fiscali": [
                cf.strip().upper() for cf in form.get("codici_fiscali", "").split(",") if cf.strip()
            ],
            "motivazione": form.get("motivazione", ""),
        }
        for name in ("request_id", "matricola"):
            if form.get(name, "").strip():
                body[name] = form[name].strip()
        contact = {name: form[name].strip() for name in ("email", "phone") if form.get(name, "").strip()}
        if contact:
            body["contact"] = contact
        try:
            booked = view.api(AgendaApi.book_appointment, body=body)
        except ProblemError as refused:
            if refused.status not in RULE_STATUSES:
                raise
            return self._new(view, form, refused.as_problem(), status=refused.status)
        return redirect(f"/ui/agenda/{booked['id']}?fatto=prenotato")

    @page("GET", "/ui/agenda/disponibilita")
    def ui_agenda_availability(self, view: View):
        access.require_official(view.caller)
        return self._availability(view)

    def _availability(self, view: View, problem=None, status=200, notice=None):
        punti = view.api(AgendaApi.list_punti, query={"sede": view.caller.sede} if view.caller.sede else {})
        return view.render(
            "agenda/disponibilita.html",
            status=status,
            punti=punti,
            problem=problem,
            notice=notice,
            **_context(),
        )

    @page("POST", "/ui/agenda/disponibilita")
    def ui_agenda_availability_post(self, view: View):
        form = view.request.form
        body: dict = {"weekly": form.get("weekly", "").strip()}
        if form.get("slot_minutes", "").strip().isdigit():
            body["slot_minutes"] = int(form["slot_minutes"])
        if form.get("closed_day", "").strip():
            body["add_exceptions"] = [
                {
                    "day": form["closed_day"].strip(),
                    "kind": "closed",
                    "reason": form.get("closed_reason", "").strip(),
                }
            ]
        try:
            view.api(AgendaApi.set_punto_availability, body=body, punto_id=form.get("punto_id", ""))
        except ProblemError as refused:
            if refused.status not in RULE_STATUSES:
                raise
            return self._availability(view, refused.as_problem(), refused.status)
        return self._availability(view, notice="Disponibilità aggiornata.")

    @page("GET", "/ui/agenda/<string:booking_id>")
    def ui_appointment(self, view: View, booking_id):
        return self._appointment(view, booking_id)

    def _appointment(self, view: View, booking_id, problem=None, status=200):
        found = view.api(AgendaApi.get_appointment, booking_id=booking_id)
        notice = {
            "prenotato": "Appuntamento prenotato.",
            "annullato": "Appuntamento annullato.",
            "esito": "Esito registrato.",
        }
        return view.render(
            "agenda/appuntamento.html",
            status=status,
            a=found,
            problem=problem,
            notice=notice.get(view.request.args.get("fatto", "")),
            office=_official(view.caller),
            **_context(),
        )

    @page("POST", "/ui/agenda/<string:booking_id>/annulla")
    def ui_appointment_cancel(self, view: View, booking_id):
        reason = view.request.form.get("reason", "").strip()
        try:
            view.api(
                AgendaApi.cancel_appointment, body={"reason": reason} if reason else {}, booking_id=booking_id
            )
        except ProblemError as refused:
            if refused.status not in RULE_STATUSES:
                raise
            return self._appointment(view, booking_id, refused.as_problem(), refused.status)
        return redirect(f"/ui/agenda/{booking_id}?fatto=annullato")

    @page("POST", "/ui/agenda/<string:booking_id>/esito")
    def ui_appointment_outcome(self, view: View, booking_id):
        form = view.request.form
        body = {"outcome": form.get("outcome", "")}
        if form.get("note", "").strip():
            body["note"] = form["note"].strip()
        try:
            view.api(AgendaApi.record_appointment_outcome, body=body, booking_id=booking_id)
        except ProblemError as refused:
            if refused.status not in RULE_STATUSES:
                raise
            return self._appointment(view, booking_id, refused.as_problem(), refused.status)
        return redirect(f"/ui/agenda/{booking_id}?fatto=esito")
