"""Notify service: entrypoints only. Tells requesters by e-mail (and, when a provider
exists, SMS) that their request was registered, routed and closed, and tells companies,
intermediaries and patronati that a sede sent them a message."""
from __future__ import annotations

from functools import partial

from nameko.rpc import rpc

from services.notify import handlers
from services.notify.mailer import Mailer
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.errors import ProblemError


class NotifyService:
    name = "notify"

    db = Database()
    clock = Clock()
    mailer = Mailer()

    @rpc(expected_exceptions=ProblemError)
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc(expected_exceptions=ProblemError)
    def deliveries_for(self, request_id):
        with self.db.begin() as session:
            return handlers.deliveries_for(session, request_id)

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, partial(handlers.notify_protocol_registered, mailer=self.mailer, clock=self.clock))

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, partial(handlers.notify_request_routed, mailer=self.mailer, clock=self.clock))

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(event, partial(handlers.notify_request_closed, mailer=self.mailer, clock=self.clock))

    @event_handler("outbound_message_sent")
    def on_outbound_message_sent(self, event):
        self.db.apply_once(event, partial(handlers.notify_outbound_message, mailer=self.mailer, clock=self.clock))
