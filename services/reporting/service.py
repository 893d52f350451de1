"""Reporting service: entrypoints only. Keeps a read model of requests built from events, and
beside it the dashboard's aggregates (each request event applied through
``aggregates.tracked``); computes the dashboard's figures from them."""

from __future__ import annotations

from nameko.timer import timer

from services.reporting import (
    aggregates,
    appointments,
    customer_care,
    dashboard,
    monthly,
    projections,
    views,
)
from shared import access, contracts
from shared.access import DASHBOARD_SEDE, Caller, DashboardView
from shared.clock import Clock, rome_date
from shared.consumer import event_handler
from shared.db import Database
from shared.ops import service_status
from shared.outbox import RELAY_INTERVAL_SECONDS, OutboxRelay
from shared.rpc import rpc
from shared.storage import ObjectStore
from shared.telemetry import Telemetry


def allowed_view(session, caller: Caller, query: dict) -> DashboardView:
    """The dashboard level asked for (else the caller's own), if the caller may see it: a level
    that needs no lookup is checked before anything is read (a sede official asking for another
    sede is refused without learning whether it exists)."""
    scope = access.dashboard_scope(caller)
    level, code = query.get("level"), query.get("code")
    if level is not None and (level != DASHBOARD_SEDE or scope.level == DASHBOARD_SEDE):
        access.require_dashboard_view(caller, DashboardView(level, code if code is not None else scope.code))
    view = dashboard.resolve_view(session, scope, level, code)
    access.require_dashboard_view(caller, view)
    return view


class ReportingService:
    name = "reporting"
    telemetry = Telemetry()  # metrics, probes, log ids, traces

    db = Database()
    clock = Clock()
    store = ObjectStore()
    outbox = OutboxRelay()

    @rpc
    def health(self):
        self.db.ping()
        return {"service": self.name, "database": "ok"}

    @rpc
    def request_fact(self, request_id):
        with self.db.begin() as session:
            return views.request_fact(session, request_id)

    @rpc
    def count_by_state(self):
        with self.db.begin() as session:
            return views.count_by_state(session)

    @rpc
    def sla_snapshot(self, sede=None, origin=None, now_iso=None):
        with self.db.begin() as session:
            return views.sla_snapshot(session, views.as_of(now_iso, self.clock), sede=sede, origin=origin)

    # ---- Cruscotto ------------------------------------------------------------------------

    def _dashboard(self, figures, schema, caller, query):
        caller, query = Caller.from_claims(caller), contracts.load(schema, query or {})
        with self.db.begin() as session:
            return figures(session, allowed_view(session, caller, query), query, rome_date(self.clock.now()))

    @rpc
    def dashboard_indicators(self, caller, query):
        return self._dashboard(dashboard.indicators, contracts.DashboardQuery, caller, query)

    @rpc
    def dashboard_backlog(self, caller, query):
        return self._dashboard(dashboard.backlog, contracts.BacklogQuery, caller, query)

    @rpc
    def dashboard_trend(self, caller, query):
        return self._dashboard(dashboard.trend, contracts.TrendQuery, caller, query)

    @rpc
    def dashboard_subject_changes(self, caller, query):
        return self._dashboard(dashboard.subject_changes, contracts.SubjectChangesQuery, caller, query)

    @rpc
    def dashboard_requests(self, caller, query):
        return self._dashboard(dashboard.requests, contracts.DashboardRequestsQuery, caller, query)

    @rpc
    def dashboard_customer_care(self, caller, query):
        return self._dashboard(customer_care.customer_care, contracts.CustomerCareQuery, caller, query)

    # ---- monthly reports -----------------------------------------------------------------

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay_outbox(self):
        self.outbox.relay()

    @timer(interval=monthly.TIMER_INTERVAL_SECONDS)
    def publish_due_reports(self):
        return monthly.produce_due(self.db.begin, self.store, self.clock.now())

    @rpc
    def list_reports(self, caller, query):
        caller, query = Caller.from_claims(caller), contracts.load(contracts.ReportsQuery, query or {})
        region = access.require_report_region(caller, query.get("region"))
        with self.db.begin() as session:
            return [monthly.summary(row) for row in monthly.published(session, region, query.get("month"))]

    @rpc
    def report_download(self, caller, report_id, fmt):
        caller = Caller.from_claims(caller)
        region = access.report_region_scope(caller)
        with self.db.begin() as session:
            row, item = monthly.stored_file(session, report_id, fmt, region)
        return {**item, "id": str(row.id), "store_url": self.store.download_url(item["key"])}

    @rpc
    def appointments_by_sede(self, sede=None):
        with self.db.begin() as session:
            return appointments.appointments_by_sede(session, sede)

    @rpc
    def ops_status(self):
        return service_status(self.name, self.db, self.clock.now())

    @event_handler("request_submitted")
    def on_request_submitted(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_submitted))

    @event_handler("request_routed")
    def on_request_routed(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_routed))

    @event_handler("request_taken_in_charge")
    def on_request_taken_in_charge(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_taken_in_charge))

    @event_handler("request_answered")
    def on_request_answered(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_answered))

    @event_handler("request_followup_added")
    def on_request_followup_added(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_followup_added))

    @event_handler("request_reminded")
    def on_request_reminded(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_reminded))

    @event_handler("request_subject_changed")
    def on_request_subject_changed(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_subject_changed))

    @event_handler("request_closed")
    def on_request_closed(self, event):
        self.db.apply_once(event, aggregates.tracked(projections.record_closed))

    @event_handler("outbound_message_sent")
    def on_outbound_message_sent(self, event):
        self.db.apply_once(event, projections.record_outbound_message)

    @event_handler("contact_center_message_recorded")
    def on_contact_center_message_recorded(self, event):
        self.db.apply_once(event, projections.record_contact_center_message)

    @event_handler("appointment_booked")
    def on_appointment_booked(self, event):
        self.db.apply_once(event, appointments.record_appointment)

    @event_handler("appointment_cancelled")
    def on_appointment_cancelled(self, event):
        self.db.apply_once(event, appointments.record_appointment)

    @event_handler("appointment_held")
    def on_appointment_held(self, event):
        self.db.apply_once(event, appointments.record_appointment)

    @event_handler("appointment_no_show")
    def on_appointment_no_show(self, event):
        self.db.apply_once(event, appointments.record_appointment)
