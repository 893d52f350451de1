"""Notifiche and the referente profile in the console (gateway/ui/pages_inbox.py) over HTTP,
the services stood in for."""

from __future__ import annotations

import pytest

from shared.errors import NotFound
from tests.interface.test_console_pages import csrf_of, sign_in
from tests.interface.test_gateway_routes import NOTIFICATION, NOTIFICATION_ID, PREFERENCES, REQUEST_ID

READ = {**NOTIFICATION, "id": "6e7f8091-2b3c-4d5e-9f0a-1b2c3d4e5f60", "read": True,
        "read_at": "2026-03-16T09:00:00+00:00", "title": "Richiesta protocollata"}  # fmt: skip


@pytest.fixture
def notify(gateway):
    notify = gateway.rpc.notify
    notify.list_notifications.return_value = {
        "items": [NOTIFICATION, READ], "total": 2, "unread": 1, "page": 1, "page_size": 20
    }  # fmt: skip
    notify.notification_preferences.return_value = PREFERENCES
    notify.mark_notification_read.return_value = {**NOTIFICATION, "read": True, "read_at": READ["read_at"]}
    notify.mark_all_notifications_read.return_value = {"marked": 1, "unread": 0}
    return notify


def signed_in(web_session, preset: str) -> str:
    sign_in(web_session, preset)
    return csrf_of(web_session.get("/ui/profilo").text)


def test_the_inbox_shows_the_unread_count_and_each_notice(notify, web_session):
    sign_in(web_session, "patronato_operatore")
    page = web_session.get("/ui/notifiche")
    assert page.status_code == 200
    assert 'data-testid="non-lette" data-count="1"' in page.text
    assert NOTIFICATION["title"] in page.text and READ["title"] in page.text
    assert f'href="/ui/richieste/{REQUEST_ID}"' in page.text
    assert f'action="/ui/notifiche/{NOTIFICATION_ID}/letta"' in page.text
    assert f'action="/ui/notifiche/{READ["id"]}/letta"' not in page.text  # already read
    assert 'data-testid="segna-tutte"' in page.text
    assert '<option value="request_routed">Richiesta inoltrata alla sede</option>' in page.text


def test_the_inbox_filters_by_kind_and_unread(notify, web_session):
    sign_in(web_session, "azienda")
    web_session.get("/ui/notifiche?kind=request_routed&unread=true")
    assert notify.list_notifications.call_args.args[1] == {
        "kind": "request_routed",
        "unread": "true",
        "page": "1",
        "page_size": 20,
    }


def test_an_unknown_kind_is_shown_beside_the_filter(notify, web_session):
    sign_in(web_session, "patronato_operatore")
    page = web_session.get("/ui/notifiche?kind=qualsiasi")
    assert page.status_code == 422
    assert 'id="errore-kind"' in page.text and "Tipo di notifica non valido" in page.text
    notify.list_notifications.assert_not_called()


def test_marking_one_read_goes_back_to_the_inbox_as_it_was(notify, web_session):
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(
        f"/ui/notifiche/{NOTIFICATION_ID}/letta",
        data={"csrf": token, "kind": "request_routed", "unread": "", "page": "1"},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/notifiche?kind=request_routed&page=1"
    assert notify.mark_notification_read.call_args.args[1] == NOTIFICATION_ID


def test_marking_a_notice_that_is_not_ones_own_is_the_apis_404(notify, web_session):
    notify.mark_notification_read.side_effect = NotFound("notification_not_found", "Notifica non trovata.")
    token = signed_in(web_session, "patronato_operatore")
    answer = web_session.post(f"/ui/notifiche/{NOTIFICATION_ID}/letta", data={"csrf": token})
    assert answer.status_code == 404
    assert 'data-code="notification_not_found"' in answer.text


def test_marking_all_read(notify, web_session):
    token = signed_in(web_session, "intermediario")
    answer = web_session.post("/ui/notifiche/lette", data={"csrf": token}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/notifiche"
    notify.mark_all_notifications_read.assert_called_once()


@pytest.mark.parametrize("preset", ["sede_operatore", "direttore_sede", "admin"])
def test_who_has_no_inbox_gets_the_apis_403(notify, web_session, preset):
    token = signed_in(web_session, preset)
    assert web_session.get("/ui/notifiche").status_code == 403
    assert web_session.post("/ui/notifiche/lette", data={"csrf": token}).status_code == 403
    notify.list_notifications.assert_not_called()
    notify.mark_all_notifications_read.assert_not_called()


def test_the_menu_badge_shows_the_unread_count(notify, web_session):
    sign_in(web_session, "patronato_operatore")
    assert 'hx-get="/ui/notifiche/conteggio"' in web_session.get("/ui/profilo").text
    badge = web_session.get("/ui/notifiche/conteggio")
    assert badge.status_code == 200 and ">1<" in badge.text
    notify.list_notifications.return_value = {**notify.list_notifications.return_value, "unread": 0}
    assert "badge" not in web_session.get("/ui/notifiche/conteggio").text


def test_no_badge_and_no_question_for_a_user_without_an_inbox(notify, web_session):
    sign_in(web_session, "sede_operatore")
    assert "/ui/notifiche/conteggio" not in web_session.get("/ui/profilo").text
    assert "badge" not in web_session.get("/ui/notifiche/conteggio").text
    notify.list_notifications.assert_not_called()


# ---- profiles ------------------------------------------------------------------------------


def test_the_amministratore_grants_the_referente_profile(gateway, web_session):
    gateway.rpc.intake.set_referente_profile.return_value = {
        "operator": "op-7", "patronato": "001", "referente_regionale": True,
        "changed_at": "2026-03-16T09:00:00+00:00",
    }  # fmt: skip
    token = signed_in(web_session, "patronato_admin")
    assert web_session.get("/ui/profili").status_code == 200
    answer = web_session.post("/ui/profili", data={"csrf": token, "operator_id": "op-7", "grant": "true"})
    assert answer.status_code == 200
    assert "concesso a" in answer.text and "op-7" in answer.text
    assert gateway.rpc.intake.set_referente_profile.call_args.args[1:] == (
        "op-7",
        {"referente_regionale": True},
    )


def test_an_operator_id_out_of_bounds_is_refused_beside_the_field(gateway, web_session):
    token = signed_in(web_session, "patronato_admin")
    answer = web_session.post("/ui/profili", data={"csrf": token, "operator_id": "", "grant": "false"})
    assert answer.status_code == 422
    assert (
        'id="errore-operator_id"' in answer.text
        and "Identificativo dell&#39;operatore non valido" in answer.text
    )
    gateway.rpc.intake.set_referente_profile.assert_not_called()


@pytest.mark.parametrize(
    "preset", ["patronato_operatore", "patronato_referente", "azienda", "sede_operatore"]
)
def test_only_the_amministratore_sees_profiles(gateway, web_session, preset):
    token = signed_in(web_session, preset)
    assert web_session.get("/ui/profili").status_code == 403
    answer = web_session.post("/ui/profili", data={"csrf": token, "operator_id": "op-7", "grant": "true"})
    assert answer.status_code == 403
    gateway.rpc.intake.set_referente_profile.assert_not_called()
