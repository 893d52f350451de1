"""Intake service: entrypoints only (load input, call a use case, return output)."""

from __future__ import annotations

import base64
from datetime import timedelta
from functools import partial

from nameko import config
from nameko.timer import timer

from services.intake import handlers, queries, sweep, workflow
from services.intake.catalog import default_catalog
from services.intake.domain import subject_profiles_for
from shared import contracts
from shared.access import Caller
from shared.clock import Clock
from shared.consumer import event_handler
from shared.contracts import load
from shared.db import Database
from shared.ops import service_status
from shared.outbox import OutboxRelay
from shared.rpc import rpc
from shared.storage import ObjectStore

expected = rpc  # ProblemError expected; an outage answers Unavailable


class IntakeService:
    name = "intake"

    db = Database()
    store = ObjectStore()
    clock = Clock()
    outbox = OutboxRelay()

    @expected
    def health(self):
        self.db.ping()
        self.store.ping()
        return {"service": self.name, "database": "ok", "storage": "ok"}

    @expected
    def list_subjects(self, caller):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            channel, profiles = subject_profiles_for(caller, handlers.referente_granted(session, caller))
        return [s.as_dict() for s in default_catalog().offered(channel, profiles)]

    @expected
    def upload_attachment(self, caller, filename, content_base64):
        caller = Caller.from_claims(caller)
        data = base64.b64decode(content_base64)
        with self.db.begin() as session:
            return handlers.store_attachment(session, self.store, self.clock, caller, filename, data)

    @expected
    def submit_request(self, caller, submission, correlation_id=None):
        caller, submission = Caller.from_claims(caller), load(contracts.RequestSubmissionInput, submission)
        with self.db.begin() as session:
            return handlers.submit_request(
                session, self.store, self.clock, default_catalog(), caller, submission, correlation_id
            )

    @expected
    def get_request(self, caller, request_id):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            return queries.get_request(session, self.clock, default_catalog(), caller, request_id)

    @expected
    def attachment_download(self, caller, request_id, attachment_id):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            return queries.attachment_download(session, self.store, caller, request_id, attachment_id)

    @expected
    def search_requests(self, caller, filters):
        caller, filters = Caller.from_claims(caller), load(contracts.SearchFilters, filters)
        with self.db.begin() as session:
            return queries.search(session, default_catalog(), caller, filters)

    def _command(self, use_case, schema, caller, request_id, command, correlation_id):
        caller, command = Caller.from_claims(caller), load(schema, command)
        with self.db.begin() as session:
            return use_case(session, self.clock, caller, request_id, command, correlation_id)

    @expected
    def take_in_charge(self, caller, request_id, command, correlation_id=None):
        return self._command(
            workflow.take_in_charge, contracts.CommentInput, caller, request_id, command, correlation_id
        )

    @expected
    def reply(self, caller, request_id, command, correlation_id=None):
        return self._command(
            workflow.reply, contracts.ReplyInput, caller, request_id, command, correlation_id
        )

    @expected
    def close(self, caller, request_id, command, correlation_id=None):
        return self._command(
            workflow.close, contracts.CloseInput, caller, request_id, command, correlation_id
        )

    @expected
    def change_subject(self, caller, request_id, command, correlation_id=None):
        return self._command(
            workflow.change_subject, contracts.SubjectChangeInput, caller, request_id, command, correlation_id
        )

    @expected
    def add_followup(self, caller, request_id, command, correlation_id=None):
        return self._command(
            workflow.add_followup, contracts.FollowupInput, caller, request_id, command, correlation_id
        )

    @expected
    def add_reminder(self, caller, request_id, command, correlation_id=None):
        return self._command(
            workflow.add_reminder, contracts.ReminderInput, caller, request_id, command, correlation_id
        )

    @expected
    def send_outbound(self, caller, command, correlation_id=None):
        caller, command = Caller.from_claims(caller), load(contracts.OutboundInput, command)
        with self.db.begin() as session:
            return workflow.send_outbound(
                session, self.clock, default_catalog(), caller, command, correlation_id
            )

    @expected
    def set_referente_profile(self, caller, operator_id, command):
        caller, command = Caller.from_claims(caller), load(contracts.ReferenteProfileInput, command)
        with self.db.begin() as session:
            return handlers.set_referente_profile(
                session, self.clock, caller, operator_id, command["referente_regionale"]
            )

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, handlers.record_assignment)

    @event_handler("contact_center_message")
    def on_contact_center_message(self, event):
        self.db.apply_once(
            event,
            partial(workflow.record_contact_center_message, clock=self.clock, catalog=default_catalog()),
        )

    @timer(interval=0.2)
    def relay_outbox(self):
        self.outbox.relay()

    @timer(interval=600)
    def purge_attachments(self):
        # objects are deleted only after the rows' commit, so a submission never loses its file
        with self.db.begin() as session:
            doomed = handlers.attachments_to_purge(session, self.clock)
        removed = handlers.remove_objects(self.store, doomed)
        with self.db.begin() as session:
            handlers.forget_purged(session, self.clock, removed)

    def _resubmit_after(self) -> timedelta:
        return timedelta(
            seconds=float(config.get("UNROUTED_RESUBMIT_AFTER_SECONDS", sweep.DEFAULT_RESUBMIT_AFTER_SECONDS))
        )

    @timer(interval=sweep.SWEEP_INTERVAL_SECONDS)
    def sweep_unrouted(self):
        with self.db.begin() as session:
            return sweep.resubmit_unrouted(session, self.clock, self._resubmit_after())

    @expected
    def ops_status(self):
        after = self._resubmit_after()

        def unrouted(session, now):
            return {"unrouted_requests": sweep.unrouted_count(session, now, after)}

        return service_status(self.name, self.db, self.clock.now(), unrouted)
