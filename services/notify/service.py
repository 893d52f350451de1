"""Notify service: entrypoints only. Tells requesters by e-mail (and, when a provider
exists, SMS) that their request was registered, routed and closed, and tells companies,
intermediaries and patronati that a sede sent them a message."""

from __future__ import annotations

from functools import partial

from services.notify import use_cases
from services.notify.mailer import Mailer
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.ops import service_status
from shared.rpc import rpc


class NotifyService:
    name = "notify"

    db = Database()
    clock = Clock()
    mailer = Mailer()

    @rpc
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc
    def deliveries_for(self, request_id):
        with self.db.begin() as session:
            return use_cases.deliveries_for(session, request_id)

    @rpc
    def ops_status(self):
        def failed(session, now):
            return {"failed_deliveries": use_cases.failed_deliveries_count(session)}

        return service_status(self.name, self.db, self.clock.now(), failed)

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_protocol_registered, mailer=self.mailer, clock=self.clock)
        )

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_request_routed, mailer=self.mailer, clock=self.clock)
        )

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_request_closed, mailer=self.mailer, clock=self.clock)
        )

    @event_handler("outbound_message_sent")
    def on_outbound_message_sent(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_outbound_message, mailer=self.mailer, clock=self.clock)
        )

    @event_handler("appointment_booked")
    def on_appointment_booked(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_appointment_booked, mailer=self.mailer, clock=self.clock)
        )

    @event_handler("appointment_cancelled")
    def on_appointment_cancelled(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_appointment_cancelled, mailer=self.mailer, clock=self.clock)
        )

    @event_handler("appointment_reminder_due")
    def on_appointment_reminder_due(self, event):
        self.db.apply_once(
            event, partial(use_cases.notify_appointment_reminder, mailer=self.mailer, clock=self.clock)
        )
