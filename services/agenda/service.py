"""Agenda service: entrypoints only. Knows, from events, when a request allows booking."""

from __future__ import annotations

from services.agenda import projections
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.ops import service_status
from shared.rpc import rpc


class AgendaService:
    name = "agenda"

    db = Database()
    clock = Clock()

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

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, projections.record_submitted)

    @event_handler("request_answered")
    def on_request_answered(self, event):
        self.db.apply_once(event, projections.record_answered)

    @event_handler("request_followup_added")
    def on_request_followup_added(self, event):
        self.db.apply_once(event, projections.record_followup_added)

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(event, projections.record_closed)
