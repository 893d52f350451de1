"""The CRM view: a citizen's or a company's conversations across sedi, for any enabled
official (msg 3813/2021), each look-up in an audit log only administrators read.

The service checks the same access rules and writes the log; the gateway reads the input
with the same shapes (``shared.contracts``) and refuses who may never ask first.
"""

from __future__ import annotations

from gateway.api.base import GatewayBase, route
from shared import access, contracts


class CrmApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/crm/conversations",
        "Interlocuzioni di un cittadino o di un'azienda in tutte le sedi (sintesi, senza testi); "
        "ogni consultazione è registrata",
        query=contracts.CrmQuery,
        access=access.require_crm_lookup,
        output=contracts.CrmConversationsOutput,
        rules={422: ("one_subject_required", "invalid_codice_fiscale", "invalid_matricola")},
    )
    def crm_conversations(self, call):
        return self._call("intake", "crm_conversations", call.caller, call.query)

    @route(
        "GET",
        "/api/v1/crm/audit",
        "Registro delle consultazioni CRM: chi, quando, di chi (solo amministratori)",
        query=contracts.CrmAuditQuery,
        access=access.require_admin,
        output=contracts.CrmAuditOutput,
    )
    def crm_audit(self, call):
        return self._call("intake", "crm_audit", call.caller, call.query)
