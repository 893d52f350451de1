"""Routing service: entrypoints only (load input, call a use case, return output)."""

from __future__ import annotations

from functools import partial

from nameko.timer import timer

from services.routing import projections, use_cases, views
from services.routing.dependencies import RoutingTableProvider
from services.routing.reference import store as reference_store
from shared.access import Caller
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.ops import service_status
from shared.outbox import RELAY_INTERVAL_SECONDS, OutboxRelay
from shared.rpc import rpc
from shared.telemetry import Telemetry


class RoutingService:
    name = "routing"
    telemetry = Telemetry()  # metrics, probes, log ids, traces

    db = Database()
    clock = Clock()
    outbox = OutboxRelay()
    routing_tables = RoutingTableProvider()

    @rpc
    def health(self):
        # reading the active version is the database ping (bounded like every ping)
        version = self.db.ping(reference_store.active_version_id)
        return {"service": self.name, "database": "ok", "reference_version": version}

    @rpc
    def explain(self, caller, query):
        """The decision routing would take for these facts, with the rule chain; stores nothing."""
        return views.explain(self.routing_tables.current(), self.clock, Caller.from_claims(caller), query)

    @rpc
    def decision(self, request_id):
        """The current decision of a request, as recorded."""
        with self.db.begin() as session:
            return views.recorded_decision(session, request_id)

    @rpc
    def explain_decision(self, caller, request_id):
        """Every recorded decision of a request, replayed on the reference version it used."""
        with self.db.begin() as session:
            return views.explain_recorded(
                session, Caller.from_claims(caller), request_id, self.routing_tables.for_version
            )

    @rpc
    def reassign(self, caller, request_id, body):
        with self.db.begin() as session:
            return use_cases.reassign(
                self.routing_tables.current(),
                self.clock,
                session,
                Caller.from_claims(caller),
                request_id,
                body,
            )

    @rpc
    def list_sedi(self, caller, query=None):
        return views.list_sedi(
            self.routing_tables.current(), self.clock, Caller.from_claims(caller), query or {}
        )

    @rpc
    def list_versions(self, caller):
        with self.db.begin() as session:
            return views.reference_versions(session, Caller.from_claims(caller))

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, partial(use_cases.route_request, self.routing_tables.current(), self.clock))

    @event_handler("request_subject_changed")
    def on_request_subject_changed(self, event):
        self.db.apply_once(
            event, partial(use_cases.reroute_on_subject_change, self.routing_tables.current(), self.clock)
        )

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(event, projections.record_closed)

    @event_handler("request_followup_added")
    def on_request_followup_added(self, event):
        self.db.apply_once(event, projections.record_followup)

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay_outbox(self):
        self.outbox.relay()

    @rpc
    def ops_status(self):
        return service_status(self.name, self.db, self.clock.now())
