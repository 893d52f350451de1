"""HTTP gateway: authenticates, shapes input/output, calls services by RPC with a timeout.

No database, no storage credentials, no domain rules here. Endpoints are grouped by area
in ``gateway/api/``; this class puts them together as one nameko service.
"""

from __future__ import annotations

from gateway.api.admin import AdminApi
from gateway.api.agenda import AgendaApi
from gateway.api.crm import CrmApi
from gateway.api.dashboard import DashboardApi
from gateway.api.docs import DocsApi
from gateway.api.notifications import NotificationsApi
from gateway.api.probes import ProbesApi
from gateway.api.reports import ReportsApi
from gateway.api.requests import RequestsApi
from gateway.api.routing import RoutingApi
from gateway.ui.console import ConsoleUi
from gateway.ui.pages_agenda import AgendaPages
from gateway.ui.pages_dashboard import DashboardPages
from gateway.ui.pages_inbox import InboxPages
from gateway.ui.pages_office import OfficePages
from gateway.ui.pages_requests import RequestPages
from shared.telemetry import Telemetry


class GatewayService(
    ProbesApi,
    RequestsApi,
    RoutingApi,
    AgendaApi,
    NotificationsApi,
    DashboardApi,
    ReportsApi,
    CrmApi,
    AdminApi,
    DocsApi,
    ConsoleUi,
    OfficePages,
    DashboardPages,
    AgendaPages,
    RequestPages,
    InboxPages,
):
    name = "gateway"
    telemetry = Telemetry()  # metrics (HTTP routes), probes, log ids, traces
