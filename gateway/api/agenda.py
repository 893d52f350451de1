"""Agenda Appuntamenti: punti di consulenza and their free slots, bookings (from an eligible
request or directly), the bookers' and the offices' lists, a booking's detail and its
iCalendar file, cancelling, rescheduling; for the offices: a punto's availability, its day or
week, the outcome of an appointment.

Who may see or do what is decided by agenda (``shared.access``: the booker, the punto's sede,
directors by scope); the gateway requires a token, refuses first the roles that may never
do an operation, and passes agenda the query string under the names its RPCs load.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway import downloads
from gateway.api.base import GatewayBase, correlation_id, route
from gateway.openapi import Link
from shared import access, contracts

BOOKING_CONFLICTS = (
    "slot_taken",
    "duplicate_booking",
    "booking_not_allowed",
    "slot_in_the_past",
    "slot_not_offered",
    "request_not_routed",
    "not_competent_sede",
)
BOOKING_RULES = (
    "citizen_required",
    "too_many_citizens",
    "repeated_citizen",
    "motivazione_required",
    "modality_not_offered",
    "topic_not_served",
    "contact_required",
    "matricola_required",
    "invalid_codice_fiscale",
)
BOOKING_EXAMPLE = {
    "request_id": "3f2b8c1e-9a4d-4e6b-8c2f-1a2b3c4d5e6f",
    "punto_id": "0704-SEDE",
    "slot_start": "2026-03-18T08:00:00+00:00",
    "modality": "web_meeting",
    "topic": "pensioni",
    "codici_fiscali": ["RSSMRA85T10A562S"],
    "contact": {"email": "operatore@patronato.example"},
    "motivazione": "Chiarimenti sulla pensione anticipata",
}

# ---- links: what a client does next with the booking it has ----------------------------------

_APPOINTMENT = {
    "GetAppointment": "get_appointment",
    "DownloadIcs": "appointment_ics",
    "CancelAppointment": "cancel_appointment",
    "RescheduleAppointment": "reschedule_appointment",
    "RecordOutcome": "record_appointment_outcome",
}


def appointment_links(expression: str = "$response.body#/id", *names: str) -> dict[str, Link]:
    chosen = names or tuple(_APPOINTMENT)
    return {name: Link(_APPOINTMENT[name], {"booking_id": expression}) for name in chosen}


ICS_RESPONSE = {
    "description": "L'appuntamento in formato iCalendar (RFC 5545), da aggiungere al calendario",
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}, "description": 'attachment; filename="...ics"'},
        "X-Content-Type-Options": {"schema": {"type": "string"}, "description": "nosniff"},
        "Cache-Control": {"schema": {"type": "string"}, "description": "private, no-store"},
    },
    "content": {"text/calendar": {"schema": {"type": "string"}}},
}


def _renamed(query: dict, names: dict[str, str]) -> dict:
    """The query string under the names agenda's RPC loads."""
    return {names.get(name, name): value for name, value in query.items()}


def _booker(caller) -> None:
    access.require_role(caller, access.BOOKER_ROLES)


class AgendaApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/agenda/punti",
        "Punti di consulenza (sede, agenzia, sportello), con modalità, tematiche e orari",
        query=contracts.PuntiFilters,
        output=contracts.PuntoOutput,
        many=True,
    )
    def list_punti(self, call):
        return self._call("agenda", "list_punti", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/agenda/availability",
        "Orari liberi di un punto tra due giorni (al massimo 62)",
        query=contracts.AgendaAvailabilityQuery,
        output=contracts.AvailabilityOutput,
        rules={404: ("punto_not_found",), 422: ("invalid_range", "range_too_long")},
    )
    def availability(self, call):
        return self._call("agenda", "availability", call.caller, _renamed(call.query, {"punto": "punto_id"}))

    @route(
        "POST",
        "/api/v1/appointments",
        "Prenota un appuntamento (da una richiesta che lo consente, o direttamente)",
        body=contracts.BookingInput,
        example=BOOKING_EXAMPLE,
        access=_booker,
        output=contracts.AppointmentDetail,
        status=201,
        location="/api/v1/appointments/{id}",
        rules={
            403: ("matricola_not_delegated",),
            404: ("request_not_found", "punto_not_found"),
            409: BOOKING_CONFLICTS,
            422: BOOKING_RULES,
        },
        links=appointment_links("$response.body#/id", "GetAppointment", "DownloadIcs", "CancelAppointment"),
    )
    def book_appointment(self, call):
        return self._call("agenda", "book", call.caller, call.body, correlation_id(call.request))

    @route(
        "GET",
        "/api/v1/appointments",
        "Appuntamenti in corso (Home) e ricerca per data, codice fiscale, stato, punto",
        query=contracts.AppointmentsQuery,
        output=contracts.AppointmentSearchResult,
        links=appointment_links("$response.body#/items/0/id", "GetAppointment", "DownloadIcs"),
    )
    def search_appointments(self, call):
        filters = _renamed(call.query, {"punto": "punto_id"})
        day = filters.pop("date", None)
        if day:
            filters["from"] = filters["to"] = day
        return self._call("agenda", "search_appointments", call.caller, filters)

    @route(
        "GET",
        "/api/v1/appointments/{booking_id}",
        "Dettaglio di un appuntamento (con la stanza del web meeting per chi vi partecipa)",
        path_schema=contracts.AppointmentPath,
        output=contracts.AppointmentDetail,
        rules={404: ("appointment_not_found",)},
        links=appointment_links(),
    )
    def get_appointment(self, call, booking_id):
        return self._call("agenda", "get_appointment", call.caller, booking_id)

    @route(
        "GET",
        "/api/v1/appointments/{booking_id}/ics",
        "L'appuntamento come file iCalendar (.ics)",
        path_schema=contracts.AppointmentPath,
        response=ICS_RESPONSE,
        rules={404: ("appointment_not_found",)},
    )
    def appointment_ics(self, call, booking_id):
        found = self._call("agenda", "appointment_ics", call.caller, booking_id)
        content = found["content"]
        return Response(
            content.encode("utf-8") if isinstance(content, str) else content,
            status=200,
            headers={
                "Content-Type": found.get("content_type") or "text/calendar; charset=utf-8",
                "Content-Disposition": downloads.content_disposition(found["filename"]),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    @route(
        "POST",
        "/api/v1/appointments/{booking_id}/cancel",
        "Annulla un appuntamento (chi ha prenotato; la sede, con il motivo): l'orario torna libero",
        path_schema=contracts.AppointmentPath,
        body=contracts.AppointmentCancelInput,
        body_required=False,
        empty_body=True,
        example={"reason": "Impedimento del cittadino"},
        output=contracts.AppointmentDetail,
        rules={
            404: ("appointment_not_found",),
            409: ("not_confirmed", "appointment_started"),
            422: ("reason_required",),
        },
        links=appointment_links("$response.body#/id", "GetAppointment"),
    )
    def cancel_appointment(self, call, booking_id):
        return self._call(
            "agenda", "cancel_appointment", call.caller, booking_id, call.body, correlation_id(call.request)
        )

    @route(
        "POST",
        "/api/v1/appointments/{booking_id}/reschedule",
        "Sposta un appuntamento: annulla e prenota insieme (rifiutato il nuovo, resta il vecchio)",
        path_schema=contracts.AppointmentPath,
        body=contracts.BookingInput,
        example={**BOOKING_EXAMPLE, "slot_start": "2026-03-19T08:00:00+00:00"},
        access=_booker,
        output=contracts.AppointmentDetail,
        rules={
            403: ("matricola_not_delegated",),
            404: ("appointment_not_found", "request_not_found", "punto_not_found"),
            409: ("not_confirmed", "appointment_started", *BOOKING_CONFLICTS),
            422: BOOKING_RULES,
        },
        links=appointment_links("$response.body#/id", "GetAppointment", "DownloadIcs", "CancelAppointment"),
    )
    def reschedule_appointment(self, call, booking_id):
        return self._call(
            "agenda", "reschedule", call.caller, booking_id, call.body, correlation_id(call.request)
        )

    # -- the offices --------------------------------------------------------------------------

    @route(
        "PUT",
        "/api/v1/agenda/punti/{punto_id}/availability",
        "Orario settimanale, durata degli slot, chiusure e aperture straordinarie di un punto (sede)",
        path_schema=contracts.PuntoPath,
        body=contracts.AvailabilityInput,
        example={
            "weekly": "mon=09:00-12:30,14:30-16:00;wed=09:00-12:30",
            "slot_minutes": 30,
            "add_exceptions": [{"day": "2026-04-03", "kind": "closed", "reason": "Chiusura straordinaria"}],
        },
        access=access.require_official,
        output=contracts.PuntoOutput,
        rules={
            404: ("punto_not_found",),
            422: ("invalid_weekly", "invalid_slot_minutes", "invalid_hours", "hours_required"),
        },
    )
    def set_punto_availability(self, call, punto_id):
        return self._call("agenda", "set_availability", call.caller, punto_id, call.body)

    @route(
        "GET",
        "/api/v1/agenda/day",
        "Giornata (o settimana, days=7) di un punto: ogni orario, libero o con la sua prenotazione (sede)",
        query=contracts.AgendaDayQuery,
        access=access.require_official,
        output=contracts.DayViewOutput,
        rules={404: ("punto_not_found",)},
        links=appointment_links(
            "$response.body#/days/0/slots/0/bookings/0/id", "GetAppointment", "RecordOutcome"
        ),
    )
    def agenda_day(self, call):
        query = _renamed(call.query, {"punto": "punto_id", "date": "day"})
        return self._call("agenda", "day_view", call.caller, query)

    @route(
        "POST",
        "/api/v1/appointments/{booking_id}/outcome",
        "Esito di un appuntamento: svolto (held) o cittadino assente (no_show) (sede)",
        path_schema=contracts.AppointmentPath,
        body=contracts.AppointmentOutcomeInput,
        empty_body=True,
        example={"outcome": "held", "note": "Chiarimenti forniti"},
        access=access.require_official,
        output=contracts.AppointmentDetail,
        rules={
            404: ("appointment_not_found",),
            409: ("not_confirmed", "appointment_not_started"),
            422: ("invalid_outcome",),
        },
        links=appointment_links("$response.body#/id", "GetAppointment"),
    )
    def record_appointment_outcome(self, call, booking_id):
        return self._call(
            "agenda", "record_outcome", call.caller, booking_id, call.body, correlation_id(call.request)
        )
