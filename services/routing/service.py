"""Routing service: entrypoints only (load input, call a use case, return output)."""
from __future__ import annotations

from functools import partial

from nameko.rpc import rpc
from nameko.timer import timer

from services.routing import handlers
from services.routing.dependencies import RoutingTableProvider
from shared.clock import Clock
from shared.consumer import event_handler
from shared.db import Database
from shared.errors import ProblemError
from shared.errors import InvalidInput, field_error
from shared.outbox import OutboxRelay


class RoutingService:
    name = "routing"

    db = Database()
    clock = Clock()
    outbox = OutboxRelay()
    routing_tables = RoutingTableProvider()

    @rpc(expected_exceptions=ProblemError)
    def health(self):
        # reading the active version is the database ping
        with self.db.begin() as session:
            version = handlers.active_version_id(session)
        return {"service": self.name, "database": "ok", "reference_version": version}

    @rpc(expected_exceptions=ProblemError)
    def explain(self, request_like_payload):
        """The decision routing would take for this payload, without storing anything."""
        if not isinstance(request_like_payload, dict):
            raise InvalidInput.from_errors([field_error("payload", "not_an_object", "La richiesta deve essere un oggetto JSON.")])
        return self.routing_tables.current().decide(request_like_payload).as_dict()

    @rpc(expected_exceptions=ProblemError)
    def decision(self, request_id):
        with self.db.begin() as session:
            return handlers.recorded_decision(session, request_id)

    @rpc(expected_exceptions=ProblemError)
    def list_sedi(self):
        with self.db.begin() as session:
            return handlers.list_sedi(session)

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, partial(handlers.route_request, self.routing_tables.current(), self.clock))

    @timer(interval=0.2)
    def relay_outbox(self):
        self.outbox.relay()
