"""Intake service: entrypoints only (load input, call a use case, return output)."""
from __future__ import annotations

import base64

from nameko.rpc import rpc
from nameko.timer import timer

from services.intake import handlers
from services.intake.catalog import default_catalog
from services.intake.domain import subject_profiles_for
from shared.clock import Clock
from shared.consumer import event_handler
from shared.contracts import CallerSchema, RequestSubmissionInput, load
from shared.db import Database
from shared.errors import ProblemError
from shared.outbox import OutboxRelay
from shared.storage import ObjectStore


class IntakeService:
    name = "intake"

    db = Database()
    store = ObjectStore()
    clock = Clock()
    outbox = OutboxRelay()

    @rpc(expected_exceptions=ProblemError)
    def health(self):
        self.db.ping()
        self.store.ping()
        return {"service": self.name, "database": "ok", "storage": "ok"}

    @rpc(expected_exceptions=ProblemError)
    def list_subjects(self, caller):
        caller = load(CallerSchema, caller)
        channel, profiles = subject_profiles_for(caller)
        return [s.as_dict() for s in default_catalog().offered(channel, profiles)]

    @rpc(expected_exceptions=ProblemError)
    def upload_attachment(self, caller, filename, content_base64):
        caller = load(CallerSchema, caller)
        data = base64.b64decode(content_base64)
        with self.db.begin() as session:
            return handlers.store_attachment(session, self.store, self.clock, caller, filename, data)

    @rpc(expected_exceptions=ProblemError)
    def submit_request(self, caller, submission, correlation_id=None):
        caller = load(CallerSchema, caller)
        submission = load(RequestSubmissionInput, submission)
        with self.db.begin() as session:
            return handlers.submit_request(session, self.clock, default_catalog(), caller, submission, correlation_id)

    @rpc(expected_exceptions=ProblemError)
    def get_request(self, caller, request_id):
        caller = load(CallerSchema, caller)
        with self.db.begin() as session:
            return handlers.get_request(session, self.store, default_catalog(), caller, request_id)

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, handlers.record_assignment)

    @timer(interval=0.2)
    def relay_outbox(self):
        self.outbox.relay()
