"""HTTP gateway: authenticates, shapes input/output, calls services by RPC with a timeout.

No database, no storage credentials, no domain rules here. Endpoints are grouped by area
in ``gateway/api/``; this class puts them together as one nameko service.
"""

from __future__ import annotations

from gateway.api.admin import AdminApi
from gateway.api.agenda import AgendaApi
from gateway.api.crm import CrmApi
from gateway.api.docs import DocsApi
from gateway.api.probes import ProbesApi
from gateway.api.requests import RequestsApi
from gateway.api.routing import RoutingApi


class GatewayService(ProbesApi, RequestsApi, RoutingApi, AgendaApi, CrmApi, AdminApi, DocsApi):
    name = "gateway"
