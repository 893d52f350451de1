"""Intake service: entrypoints only. Each builds the typed caller at the edge and loads its
input, then calls a use case in a unit of work, or a view after the access check."""

from __future__ import annotations

import base64
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from nameko import config
from nameko.timer import timer

from services.intake import projections, sweep, views
from services.intake.catalog import default_catalog
from services.intake.models import ownership
from services.intake.unit_of_work import SqlUnitOfWork
from services.intake.use_cases import attachments, contact_center, conversation, crm
from services.intake.use_cases import submission as submission_use_cases
from shared import access, contracts
from shared.access import Caller
from shared.clock import Clock
from shared.consumer import event_handler
from shared.contracts import load
from shared.db import Database
from shared.ops import service_status
from shared.outbox import RELAY_INTERVAL_SECONDS, OutboxRelay
from shared.rpc import rpc
from shared.storage import ObjectStore
from shared.telemetry import Telemetry

expected = rpc  # ProblemError expected; an outage answers Unavailable


class IntakeService:
    name = "intake"
    telemetry = Telemetry()  # metrics, probes, log ids, traces

    db = Database()
    store = ObjectStore()
    clock = Clock()
    outbox = OutboxRelay()

    @contextmanager
    def _unit_of_work(self, correlation_id=None):
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.db.begin() as session:
            yield SqlUnitOfWork(session, self.clock, correlation_id)

    def _apply_once(self, event, use_case):
        """``use_case(uow, event)`` in the transaction that records the event in the inbox."""
        self.db.apply_once(
            event,
            lambda session, event: use_case(SqlUnitOfWork(session, self.clock, event.correlation_id), event),
        )

    def _readable(self, session, caller: Caller, request_id):
        """The request, if the caller may read it; otherwise the answer for a missing one."""
        request = views.find_request(session, request_id)
        access.require_read(caller, ownership(request))
        return request

    @expected
    def health(self):
        self.db.ping()
        self.store.ping()
        return {"service": self.name, "database": "ok", "storage": "ok"}

    @expected
    def list_subjects(self, caller):
        caller = Caller.from_claims(caller)
        with self._unit_of_work() as uow:
            return submission_use_cases.offered_subjects(uow, default_catalog(), caller)

    @expected
    def upload_attachment(self, caller, filename, content_base64):
        caller = Caller.from_claims(caller)
        data = base64.b64decode(content_base64)
        with self._unit_of_work() as uow:
            return attachments.store_attachment(uow, self.store, caller, filename, data)

    @expected
    def submit_request(self, caller, submission, correlation_id=None):
        caller, submission = Caller.from_claims(caller), load(contracts.RequestSubmissionInput, submission)
        with self._unit_of_work(correlation_id) as uow:
            return submission_use_cases.submit_request(uow, self.store, default_catalog(), caller, submission)

    @expected
    def get_request(self, caller, request_id):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            request = self._readable(session, caller, request_id)
            chain = views.chain_of(session, request, default_catalog(), access.read_scope(caller))
            return views.detail(request, default_catalog(), self.clock.now(), caller, chain)

    @expected
    def attachment_download(self, caller, request_id, attachment_id):
        caller = Caller.from_claims(caller)
        with self.db.begin() as session:
            return views.attachment_download(
                self._readable(session, caller, request_id), self.store, attachment_id
            )

    @expected
    def search_requests(self, caller, filters):
        caller, filters = Caller.from_claims(caller), load(contracts.SearchFilters, filters)
        with self.db.begin() as session:
            return views.search(session, default_catalog(), access.require_some_scope(caller), filters)

    def _command(self, use_case, schema, caller, request_id, command, correlation_id):
        caller, command = Caller.from_claims(caller), load(schema, command)
        with self._unit_of_work(correlation_id) as uow:
            return use_case(uow, caller, request_id, command, catalog=default_catalog())

    @expected
    def take_in_charge(self, caller, request_id, command, correlation_id=None):
        return self._command(
            conversation.take_in_charge, contracts.CommentInput, caller, request_id, command, correlation_id
        )

    @expected
    def reply(self, caller, request_id, command, correlation_id=None):
        return self._command(
            conversation.reply, contracts.ReplyInput, caller, request_id, command, correlation_id
        )

    @expected
    def close(self, caller, request_id, command, correlation_id=None):
        return self._command(
            conversation.close, contracts.CloseInput, caller, request_id, command, correlation_id
        )

    @expected
    def change_subject(self, caller, request_id, command, correlation_id=None):
        return self._command(
            conversation.change_subject,
            contracts.SubjectChangeInput,
            caller,
            request_id,
            command,
            correlation_id,
        )

    @expected
    def add_followup(self, caller, request_id, command, correlation_id=None):
        return self._command(
            conversation.add_followup, contracts.FollowupInput, caller, request_id, command, correlation_id
        )

    @expected
    def add_reminder(self, caller, request_id, command, correlation_id=None):
        return self._command(
            conversation.add_reminder, contracts.ReminderInput, caller, request_id, command, correlation_id
        )

    @expected
    def send_outbound(self, caller, command, correlation_id=None):
        caller, command = Caller.from_claims(caller), load(contracts.OutboundInput, command)
        with self._unit_of_work(correlation_id) as uow:
            return conversation.send_outbound(uow, default_catalog(), caller, command)

    @expected
    def crm_conversations(self, caller, query):
        caller, query = Caller.from_claims(caller), load(contracts.CrmQuery, query)
        access.require_crm_lookup(caller)
        with self.db.begin() as session:
            return crm.conversations(session, default_catalog(), caller, query, self.clock.now())

    @expected
    def crm_audit(self, caller, filters):
        caller, filters = Caller.from_claims(caller), load(contracts.CrmAuditQuery, filters)
        access.require_admin(caller)
        with self.db.begin() as session:
            return crm.audit_log(session, filters)

    @expected
    def set_referente_profile(self, caller, operator_id, command):
        caller, command = Caller.from_claims(caller), load(contracts.ReferenteProfileInput, command)
        with self._unit_of_work() as uow:
            return submission_use_cases.set_referente_profile(
                uow, caller, operator_id, command["referente_regionale"]
            )

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self._apply_once(event, projections.record_assignment)

    @event_handler("contact_center_message")
    def on_contact_center_message(self, event):
        self._apply_once(event, partial(contact_center.record_message, catalog=default_catalog()))

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay_outbox(self):
        self.outbox.relay()

    @timer(interval=600)
    def purge_attachments(self):
        # objects are deleted only after the rows' commit, so a submission never loses its file
        with self._unit_of_work() as uow:
            doomed = attachments.attachments_to_purge(uow)
        removed = attachments.remove_objects(self.store, doomed)
        with self._unit_of_work() as uow:
            attachments.forget_purged(uow, removed)

    def _resubmit_after(self) -> timedelta:
        return timedelta(
            seconds=float(config.get("UNROUTED_RESUBMIT_AFTER_SECONDS", sweep.DEFAULT_RESUBMIT_AFTER_SECONDS))
        )

    @timer(interval=sweep.SWEEP_INTERVAL_SECONDS)
    def sweep_unrouted(self):
        with self._unit_of_work() as uow:
            return sweep.resubmit_unrouted(uow, self._resubmit_after())

    @expected
    def ops_status(self):
        after = self._resubmit_after()

        def unrouted(session, now):
            return {"unrouted_requests": sweep.unrouted_count(session, now, after)}

        return service_status(self.name, self.db, self.clock.now(), unrouted)
