"""Cruscotto: the directors' indicators (threshold indicator, backlog index, closing time) for a
period, by subject, origin and one level down (national → regions → sedi → the requests
behind a cell); the backlog by due day; the trend month by month; the changes of subject; the
Customer Care section of the Agenda (share held, no-show rate, days to the appointment).

Who sees which level is decided by reporting (``shared.access``: a sede official or director
their sede, a regional director their region and its sedi, a national director everything);
the gateway refuses first the roles that may never see a dashboard, and passes reporting the
query string as it came (reporting loads it with the same schema).
"""

from __future__ import annotations

from gateway.api.base import GatewayBase, route
from shared import access, contracts

SCOPE_RULES = {403: ("outside_scope",)}
PERIOD_RULES = {**SCOPE_RULES, 422: ("invalid_range", "code_required")}


class DashboardApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/dashboard/indicators",
        "Indicatori del periodo (richieste inviate dal giorno from al giorno to): per oggetto, "
        "provenienza e livello sottostante (regioni o sedi); a livello nazionale triage a parte",
        query=contracts.DashboardQuery,
        access=access.require_dashboard_role,
        output=contracts.IndicatorsOutput,
        rules=PERIOD_RULES,
    )
    def dashboard_indicators(self, call):
        return self._call("reporting", "dashboard_indicators", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/dashboard/backlog",
        "Giacenza di oggi: aperte nei termini e scadute, indice di giacenza, scadenze per giorno",
        query=contracts.BacklogQuery,
        access=access.require_dashboard_role,
        output=contracts.BacklogOutput,
        rules={**SCOPE_RULES, 422: ("code_required",)},
    )
    def dashboard_backlog(self, call):
        return self._call("reporting", "dashboard_backlog", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/dashboard/trend",
        "Andamento mese per mese (mesi di invio; senza from, gli ultimi dodici)",
        query=contracts.TrendQuery,
        access=access.require_dashboard_role,
        output=contracts.TrendOutput,
        rules=PERIOD_RULES,
    )
    def dashboard_trend(self, call):
        return self._call("reporting", "dashboard_trend", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/dashboard/subject-changes",
        "Cambio oggetto per lavorazione: da quale oggetto a quale, per sede, nei giorni del periodo",
        query=contracts.SubjectChangesQuery,
        access=access.require_dashboard_role,
        output=contracts.SubjectChangesOutput,
        rules=PERIOD_RULES,
    )
    def dashboard_subject_changes(self, call):
        return self._call("reporting", "dashboard_subject_changes", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/dashboard/requests",
        "Le richieste dietro una cella (livello, periodo, oggetto, soglia, provenienza, insieme), "
        "dalla più vecchia, a pagine",
        query=contracts.DashboardRequestsQuery,
        access=access.require_dashboard_role,
        output=contracts.DashboardRequestsOutput,
        rules=PERIOD_RULES,
    )
    def dashboard_requests(self, call):
        return self._call("reporting", "dashboard_requests", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/dashboard/customer-care",
        "Customer Care dell'Agenda: quota di appuntamenti svolti, tasso di mancata presentazione, "
        "giorni dalla prenotazione all'appuntamento, per gli appuntamenti dei giorni del periodo; "
        "per modalità e livello sottostante (regioni o sedi)",
        query=contracts.CustomerCareQuery,
        access=access.require_dashboard_role,
        output=contracts.CustomerCareOutput,
        rules=PERIOD_RULES,
    )
    def dashboard_customer_care(self, call):
        return self._call("reporting", "dashboard_customer_care", call.caller, call.query)
