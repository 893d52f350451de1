"""Reporting service: entrypoints only. Keeps a read model of requests built from events
and computes the dashboard's figures from it."""

from __future__ import annotations

from services.reporting import appointments, projections, views
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.ops import service_status
from shared.rpc import rpc


class ReportingService:
    name = "reporting"

    db = Database()
    clock = Clock()

    @rpc
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc
    def request_fact(self, request_id):
        with self.db.begin() as session:
            return views.request_fact(session, request_id)

    @rpc
    def count_by_state(self):
        with self.db.begin() as session:
            return views.count_by_state(session)

    @rpc
    def sla_snapshot(self, sede=None, origin=None, now_iso=None):
        with self.db.begin() as session:
            return views.sla_snapshot(session, views.as_of(now_iso, self.clock), sede=sede, origin=origin)

    @rpc
    def appointments_by_sede(self, sede=None):
        with self.db.begin() as session:
            return appointments.appointments_by_sede(session, sede)

    @rpc
    def ops_status(self):
        return service_status(self.name, self.db, self.clock.now())

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, projections.record_submitted)

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, projections.record_routed)

    @event_handler("request_taken_in_charge")
    def on_request_taken_in_charge(self, event):
        self.db.apply_once(event, projections.record_taken_in_charge)

    @event_handler("request_answered")
    def on_request_answered(self, event):
        self.db.apply_once(event, projections.record_answered)

    @event_handler("request_followup_added")
    def on_request_followup_added(self, event):
        self.db.apply_once(event, projections.record_followup_added)

    @event_handler("request_reminded")
    def on_request_reminded(self, event):
        self.db.apply_once(event, projections.record_reminded)

    @event_handler("request_subject_changed")
    def on_request_subject_changed(self, event):
        self.db.apply_once(event, projections.record_subject_changed)

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(event, projections.record_closed)

    @event_handler("outbound_message_sent")
    def on_outbound_message_sent(self, event):
        self.db.apply_once(event, projections.record_outbound_message)

    @event_handler("contact_center_message_recorded")
    def on_contact_center_message_recorded(self, event):
        self.db.apply_once(event, projections.record_contact_center_message)

    @event_handler("appointment_booked")
    def on_appointment_booked(self, event):
        self.db.apply_once(event, appointments.record_appointment)

    @event_handler("appointment_cancelled")
    def on_appointment_cancelled(self, event):
        self.db.apply_once(event, appointments.record_appointment)

    @event_handler("appointment_held")
    def on_appointment_held(self, event):
        self.db.apply_once(event, appointments.record_appointment)

    @event_handler("appointment_no_show")
    def on_appointment_no_show(self, event):
        self.db.apply_once(event, appointments.record_appointment)
