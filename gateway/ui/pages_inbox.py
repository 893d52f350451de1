"""Notifiche (the inbox of the portal's users, with the unread count) and, for a patronato's
amministratore, the referente profile granted to its operators."""

from __future__ import annotations

from urllib.parse import urlencode

from gateway.api.base import GatewayBase
from gateway.api.notifications import NotificationsApi
from gateway.api.requests import RequestsApi
from gateway.ui.console import View, page
from gateway.ui.render import redirect, render
from shared import access
from shared.errors import InvalidInput

PAGE_SIZE = 20
INBOX_FILTERS = ("kind", "unread", "page")


def _inbox_url(form) -> str:
    """Back to the inbox as it was shown (its filters came back as hidden fields)."""
    kept = {name: (form.get(name) or "").strip()[:40] for name in INBOX_FILTERS}
    query = urlencode({name: value for name, value in kept.items() if value})
    return "/ui/notifiche" + (f"?{query}" if query else "")


class InboxPages(GatewayBase):
    @page("GET", "/ui/notifiche")
    def ui_notifications(self, view: View):
        args = view.request.args
        filters = {
            "kind": (args.get("kind") or "").strip(),
            "unread": "true" if args.get("unread") == "true" else "",
            "page": (args.get("page") or "1").strip(),
        }
        errors, inbox = {}, None
        try:
            inbox = view.api(NotificationsApi.list_notifications, query={**filters, "page_size": PAGE_SIZE})
        except InvalidInput as problem:
            for error in problem.errors:
                errors.setdefault(error.get("field") or "kind", []).append(error["detail"])
        kinds = view.api(NotificationsApi.notification_preferences)["preferences"]
        pages = max(1, -(-inbox["total"] // inbox["page_size"])) if inbox else 0
        kept = {name: value for name, value in filters.items() if value and name != "page"}
        return view.render(
            "notifiche/elenco.html",
            status=422 if errors else 200,
            inbox=inbox,
            kinds=kinds,
            filters=filters,
            errors=errors,
            pages=pages,
            page_url=lambda number: "/ui/notifiche?" + urlencode({**kept, "page": number}),
        )

    @page("GET", "/ui/notifiche/conteggio")
    def ui_unread_count(self, view: View):
        """The menu's badge (htmx): the unread notices, nothing for a user without an inbox."""
        count = 0
        if view.caller.role in access.INBOX_ROLES:
            inbox = view.api(NotificationsApi.list_notifications, query={"page_size": 1})
            count = inbox["unread"]
        return render("notifiche/conteggio.html", count=count)

    @page("POST", "/ui/notifiche/<string:notification_id>/letta")
    def ui_mark_read(self, view: View, notification_id):
        view.api(NotificationsApi.mark_notification_read, notification_id=notification_id)
        return redirect(_inbox_url(view.request.form))

    @page("POST", "/ui/notifiche/lette")
    def ui_mark_all_read(self, view: View):
        view.api(NotificationsApi.mark_all_notifications_read)
        return redirect(_inbox_url(view.request.form))

    # ---- profiles of a patronato's operators ---------------------------------------------

    @page("GET", "/ui/profili")
    def ui_profiles(self, view: View):
        access.require_role(view.caller, ("patronato_admin",))
        return view.render("profili.html", values={"operator_id": "", "grant": "true"}, errors={}, done=None)

    @page("POST", "/ui/profili")
    def ui_profiles_post(self, view: View):
        access.require_role(view.caller, ("patronato_admin",))
        form = view.request.form
        values = {
            "operator_id": (form.get("operator_id") or "").strip(),
            "grant": "false" if form.get("grant") == "false" else "true",
        }
        try:
            done = view.api(
                RequestsApi.set_referente_profile,
                body={"referente_regionale": values["grant"] == "true"},
                operator_id=values["operator_id"],
            )
        except InvalidInput as problem:
            errors: dict = {}
            for error in problem.errors or [{"field": "operator_id", "detail": problem.detail}]:
                field = "operator_id" if error.get("field") in ("operator_id", None, "") else error["field"]
                errors.setdefault(field, []).append(error["detail"])
            return view.render("profili.html", status=422, values=values, errors=errors, done=None)
        return view.render("profili.html", values={**values, "operator_id": ""}, errors={}, done=done)
