"""Notify service: entrypoints only. Tells requesters by e-mail (and, when a provider
exists, SMS) that their request was registered, routed and closed, and tells companies,
intermediaries and patronati that a sede sent them a message.

Each event handler queues its deliveries in the event's unit of work and, once that has
committed, sends them through the dispatcher; a timer sends whatever else is due (retries
after a transient failure, rows a stopped process left leased)."""

from __future__ import annotations

import logging
from functools import partial

from nameko import config
from nameko.timer import timer

from services.notify import use_cases, views
from services.notify.dispatch import Dispatcher, RetryPolicy, lease_new, queued_count
from services.notify.mailer import Mailer
from services.notify.metrics import deliveries_gauges
from services.notify.sms import SmsGateway
from shared import access, contracts
from shared.access import Caller
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.ops import service_status
from shared.rpc import rpc
from shared.storage import ObjectStore
from shared.telemetry import Telemetry

DISPATCH_INTERVAL_SECONDS = 1.0

log = logging.getLogger(__name__)


class NotifyService:
    name = "notify"
    telemetry = Telemetry(deliveries_gauges)  # metrics, probes, log ids, traces

    db = Database()
    clock = Clock()
    mailer = Mailer()
    store = ObjectStore()  # the monthly reports reporting stored, to attach them
    sms = SmsGateway()

    def _dispatcher(self) -> Dispatcher:
        return Dispatcher(
            self.db.sessions,
            {"email": self.mailer, "sms": self.sms},
            self.clock,
            RetryPolicy.from_config(config),
        )

    def _handle(self, event, use_case) -> None:
        """Apply the event (inbox + deliveries queued and leased to this process in one
        transaction), then send what it queued."""
        dispatcher, leased = self._dispatcher(), []

        def apply(session, event):
            leased.extend(
                lease_new(use_case(session, event, clock=self.clock), self.clock.now(), dispatcher.policy)
            )

        self.db.apply_once(event, apply)
        try:
            dispatcher.send_leased(leased)
        except Exception as exc:  # the event is applied; the lease runs out and the timer sends
            log.warning("invio immediato non riuscito (%s): ci penserà il timer", type(exc).__name__)

    @rpc
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc
    def deliveries_for(self, request_id):
        with self.db.begin() as session:
            return use_cases.deliveries_for(session, request_id)

    # ---- the Notifiche inbox and the preferences (portal users) ----------------------------

    @rpc
    def list_notifications(self, caller, filters):
        caller = Caller.from_claims(caller)
        scope, filters = access.notice_scope(caller), contracts.load(contracts.NotificationsQuery, filters)
        with self.db.begin() as session:
            return views.list_notices(session, scope, caller.sub, filters)

    @rpc
    def mark_notification_read(self, caller, notification_id):
        caller = Caller.from_claims(caller)
        scope = access.notice_scope(caller)
        with self.db.begin() as session:
            return use_cases.mark_read(session, scope, caller.sub, notification_id, self.clock.now())

    @rpc
    def mark_all_notifications_read(self, caller):
        caller = Caller.from_claims(caller)
        scope = access.notice_scope(caller)
        with self.db.begin() as session:
            return use_cases.mark_all_read(session, scope, caller.sub, self.clock.now())

    @rpc
    def notification_preferences(self, caller):
        caller = Caller.from_claims(caller)
        access.notice_scope(caller)
        with self.db.begin() as session:
            return views.preferences_of(session, caller.sub)

    @rpc
    def set_notification_preferences(self, caller, command):
        caller = Caller.from_claims(caller)
        access.notice_scope(caller)
        command = contracts.load(contracts.PreferencesInput, command)
        with self.db.begin() as session:
            return use_cases.set_preferences(session, caller.sub, command["preferences"], self.clock.now())

    @rpc
    def ops_status(self):
        def deliveries(session, now):
            return {
                "failed_deliveries": use_cases.failed_deliveries_count(session),
                "queued_deliveries": queued_count(session),
            }

        return service_status(self.name, self.db, self.clock.now(), deliveries)

    @timer(interval=DISPATCH_INTERVAL_SECONDS)
    def send_due_deliveries(self):
        dispatcher = self._dispatcher()
        while dispatcher.dispatch(limit=50) == 50:
            pass  # a backlog (after an SMTP outage): keep going until it is drained

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self._handle(event, use_cases.notify_protocol_registered)

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self._handle(event, use_cases.notify_request_routed)

    @event_handler("request_taken_in_charge")
    def on_request_taken_in_charge(self, event):
        self._handle(event, use_cases.notify_request_taken_in_charge)

    @event_handler("request_answered")
    def on_request_answered(self, event):
        self._handle(event, use_cases.notify_request_answered)

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self._handle(event, use_cases.notify_request_closed)

    @event_handler("outbound_message_sent")
    def on_outbound_message_sent(self, event):
        self._handle(event, use_cases.notify_outbound_message)

    @event_handler("appointment_booked")
    def on_appointment_booked(self, event):
        self._handle(event, use_cases.notify_appointment_booked)

    @event_handler("appointment_cancelled")
    def on_appointment_cancelled(self, event):
        self._handle(event, use_cases.notify_appointment_cancelled)

    @event_handler("report_published")
    def on_report_published(self, event):
        pdf = next((item for item in event.payload["files"] if item["format"] == "pdf"), None)
        # read before the transaction; a store that does not answer: the event is retried
        content = self.store.get(pdf["key"]) if pdf else None
        self._handle(event, partial(use_cases.notify_report_published, pdf=content))

    @event_handler("appointment_reminder_due")
    def on_appointment_reminder_due(self, event):
        self._handle(event, use_cases.notify_appointment_reminder)
