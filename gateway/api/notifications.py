"""Notifiche: the portal user's inbox of notices (request protocolled, routed, taken in
charge, answered, closed; a sede's message; appointments), read/unread, and the user's
e-mail and SMS preferences per kind of notice; a request's deliveries for whoever may read
the request.

notify decides whose notices a caller sees (``shared.access.notice_scope``: the requests
they may read, and what was addressed to them); the gateway refuses first the roles that
have no inbox.
"""

from __future__ import annotations

from gateway.api.base import GatewayBase, route
from shared import access, contracts


def _inbox_user(caller) -> None:
    access.require_role(caller, access.INBOX_ROLES)


class NotificationsApi(GatewayBase):
    @route(
        "GET",
        "/api/v1/notifications",
        "Le notifiche dell'utente (Notifiche del portale), le più recenti prima, con le non lette",
        query=contracts.NotificationsQuery,
        access=_inbox_user,
        output=contracts.NotificationListOutput,
    )
    def list_notifications(self, call):
        return self._call("notify", "list_notifications", call.caller, call.query)

    @route(
        "POST",
        "/api/v1/notifications/{notification_id}/read",
        "Segna una notifica come letta",
        path_schema=contracts.NotificationPath,
        access=_inbox_user,
        output=contracts.NotificationOutput,
        rules={404: ("notification_not_found",)},
    )
    def mark_notification_read(self, call, notification_id):
        return self._call("notify", "mark_notification_read", call.caller, notification_id)

    @route(
        "POST",
        "/api/v1/notifications/read-all",
        "Segna come lette tutte le notifiche dell'utente",
        access=_inbox_user,
        output=contracts.NotificationsReadOutput,
    )
    def mark_all_notifications_read(self, call):
        return self._call("notify", "mark_all_notifications_read", call.caller)

    @route(
        "GET",
        "/api/v1/notifications/preferences",
        "Per ogni tipo di notifica, se arriva anche per e-mail e per SMS",
        access=_inbox_user,
        output=contracts.PreferencesOutput,
    )
    def notification_preferences(self, call):
        return self._call("notify", "notification_preferences", call.caller)

    @route(
        "PUT",
        "/api/v1/notifications/preferences",
        "Attiva o disattiva e-mail e SMS per i tipi di notifica indicati (le Notifiche restano)",
        body=contracts.PreferencesInput,
        example={"preferences": [{"kind": "request_routed", "email": True, "sms": False}]},
        access=_inbox_user,
        output=contracts.PreferencesOutput,
    )
    def set_notification_preferences(self, call):
        return self._call("notify", "set_notification_preferences", call.caller, call.body)

    @route(
        "GET",
        "/api/v1/requests/{request_id}/deliveries",
        "Gli invii (e-mail, SMS) sulla richiesta, con lo stato e il motivo (chi può leggere la richiesta)",
        path_schema=contracts.RequestPath,
        output=contracts.DeliveryOutput,
        many=True,
        rules={404: ("request_not_found",)},
    )
    def request_deliveries(self, call, request_id):
        self._call("intake", "get_request", call.caller, request_id)  # 404 unless the caller may read it
        return self._call("notify", "deliveries_for", request_id)
