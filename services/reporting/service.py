"""Reporting service: entrypoints only. Keeps a read model of requests built from events."""
from __future__ import annotations

from nameko.rpc import rpc

from services.reporting import handlers
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.errors import ProblemError


class ReportingService:
    name = "reporting"

    db = Database()
    clock = Clock()

    @rpc(expected_exceptions=ProblemError)
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc(expected_exceptions=ProblemError)
    def request_fact(self, request_id):
        with self.db.begin() as session:
            return handlers.request_fact(session, request_id)

    @rpc(expected_exceptions=ProblemError)
    def count_by_state(self):
        with self.db.begin() as session:
            return handlers.count_by_state(session)

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, handlers.record_submitted)

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, handlers.record_routed)
