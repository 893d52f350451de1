"""Agenda service: entrypoints only. Knows, from events, when a request allows booking; owns
the punti di consulenza, their availability and the bookings; emits the reminders.

Every RPC takes the caller's claims first (rebuilt with ``Caller.from_claims``) and loads its
input with a schema of ``shared.contracts``."""

from __future__ import annotations

from nameko import config
from nameko.timer import timer

from services.agenda import projections, use_cases, views
from services.agenda.use_cases import DEFAULT_REMINDER_LEADS_MINUTES, Settings
from shared import access, contracts
from shared.access import Caller
from shared.clock import Clock
from shared.consumer import event_handler
from shared.contracts import load
from shared.db import Database
from shared.ops import service_status
from shared.outbox import RELAY_INTERVAL_SECONDS, OutboxRelay
from shared.rpc import rpc
from shared.telemetry import Telemetry

REMINDER_INTERVAL_SECONDS = 30


def settings_from_config() -> Settings:
    leads = config.get("REMINDER_LEAD_MINUTES") or DEFAULT_REMINDER_LEADS_MINUTES
    if isinstance(leads, str):
        leads = [item for item in leads.split(",") if item.strip()]
    elif isinstance(leads, int):
        leads = [leads]
    return Settings(
        web_meeting_base_url=config.get("WEB_MEETING_BASE_URL") or Settings.web_meeting_base_url,
        reminder_leads_minutes=tuple(int(item) for item in leads),
    )


class AgendaService:
    name = "agenda"
    telemetry = Telemetry()  # metrics, probes, log ids, traces

    db = Database()
    clock = Clock()
    outbox = OutboxRelay()

    @property
    def settings(self) -> Settings:
        return settings_from_config()

    @rpc
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc
    def eligibility(self, request_id):
        with self.db.begin() as session:
            return projections.eligibility(session, request_id, self.clock.now())

    @rpc
    def ops_status(self):
        return service_status(self.name, self.db, self.clock.now())

    # ---- punti and availability ---------------------------------------------------------

    @rpc
    def list_punti(self, caller, filters):
        Caller.from_claims(caller)  # any authenticated profile may see where it can book
        filters = load(contracts.PuntiFilters, filters or {})
        with self.db.begin() as session:
            return views.list_punti(session, use_cases.calendar_of, filters)

    @rpc
    def availability(self, caller, query):
        Caller.from_claims(caller)
        query = load(contracts.AvailabilityQuery, query)
        with self.db.begin() as session:
            punto = use_cases.active_punto(session, query["punto_id"])
            calendar = use_cases.calendar_of(session, punto)
            return views.availability(session, punto, calendar, query, self.clock.now())

    @rpc
    def set_availability(self, caller, punto_id, command):
        caller, command = Caller.from_claims(caller), load(contracts.AvailabilityInput, command)
        with self.db.begin() as session:
            return use_cases.set_availability(session, caller, punto_id, command, self.clock.now())

    @rpc
    def day_view(self, caller, query):
        caller, query = Caller.from_claims(caller), load(contracts.DayViewQuery, query)
        with self.db.begin() as session:
            punto = use_cases.active_punto(session, query["punto_id"])
            access.require_appointment_office(caller, punto.sede)
            calendar = use_cases.calendar_of(session, punto)
            return views.day_view(session, punto, calendar, query["day"], query["days"])

    # ---- bookings -------------------------------------------------------------------------

    @rpc
    def book(self, caller, command, correlation_id=None):
        caller, command = Caller.from_claims(caller), load(contracts.BookingInput, command)
        with self.db.begin() as session:
            return use_cases.book(session, self.settings, caller, command, self.clock.now(), correlation_id)

    @rpc
    def reschedule(self, caller, booking_id, command, correlation_id=None):
        caller, command = Caller.from_claims(caller), load(contracts.BookingInput, command)
        with self.db.begin() as session:
            return use_cases.reschedule(
                session, self.settings, caller, booking_id, command, self.clock.now(), correlation_id
            )

    @rpc
    def search_appointments(self, caller, filters):
        caller, filters = Caller.from_claims(caller), load(contracts.AppointmentFilters, filters or {})
        with self.db.begin() as session:
            return views.search(session, caller, filters, self.clock.now())

    @rpc
    def get_appointment(self, caller, booking_id):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            booking = use_cases.find_booking(session, caller, booking_id)
            return views.detail(booking, caller, self.settings.web_meeting_base_url)

    @rpc
    def appointment_ics(self, caller, booking_id):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            booking = use_cases.find_booking(session, caller, booking_id)
            return views.ics(booking, caller, self.settings.web_meeting_base_url)

    @rpc
    def cancel_appointment(self, caller, booking_id, command, correlation_id=None):
        caller, command = Caller.from_claims(caller), load(contracts.AppointmentCancelInput, command or {})
        with self.db.begin() as session:
            return use_cases.cancel(
                session, self.settings, caller, booking_id, command, self.clock.now(), correlation_id
            )

    @rpc
    def record_outcome(self, caller, booking_id, command, correlation_id=None):
        caller, command = Caller.from_claims(caller), load(contracts.AppointmentOutcomeInput, command)
        with self.db.begin() as session:
            return use_cases.record_outcome(
                session, self.settings, caller, booking_id, command, self.clock.now(), correlation_id
            )

    # ---- timers ---------------------------------------------------------------------------

    @timer(interval=REMINDER_INTERVAL_SECONDS)
    def emit_reminders(self):
        with self.db.begin() as session:
            return use_cases.emit_due_reminders(session, self.settings, self.clock.now())

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay_outbox(self):
        self.outbox.relay()

    # ---- events ---------------------------------------------------------------------------

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, projections.record_submitted)

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, projections.record_routed)

    @event_handler("request_answered")
    def on_request_answered(self, event):
        self.db.apply_once(event, projections.record_answered)

    @event_handler("request_followup_added")
    def on_request_followup_added(self, event):
        self.db.apply_once(event, projections.record_followup_added)

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(event, projections.record_closed)
