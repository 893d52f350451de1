"""The console's frame (gateway/ui): sign-in, session cookie, form token, error pages, static
files, the identity header of production — over HTTP, the services stood in for."""

from __future__ import annotations

import re

import pytest
from nameko import config

from gateway.ui import static
from tests.interface.helpers import bearer, console_routes

HTML = "text/html; charset=utf-8"


def sign_in(web_session, preset: str, **fields):
    answer = web_session.post("/ui/accesso", data={"preset": preset, **fields}, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    return answer


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', html).group(1)


def test_a_page_without_a_session_sends_to_the_sign_in_page_and_back(gateway, web_session):
    answer = web_session.get("/ui/profilo?vista=breve", allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/ui/accesso?next=/ui/profilo%3Fvista%3Dbreve")


def test_the_sign_in_page_lists_the_profiles_with_the_console_headers(gateway, web_session):
    answer = web_session.get("/ui/accesso")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == HTML
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert 'value="sede_operatore"' in answer.text
    assert "<label" in answer.text


def test_signing_in_sets_a_strict_http_only_cookie_and_goes_home(gateway, web_session):
    answer = sign_in(web_session, "direttore_regionale")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    home = web_session.get("/ui", allow_redirects=False)
    assert home.status_code == 303
    assert home.headers["Location"] == "/ui/cruscotto"


def test_the_home_of_each_role_is_its_first_screen(gateway, web_session):
    sign_in(web_session, "sede_operatore")
    assert web_session.get("/ui", allow_redirects=False).headers["Location"] == "/ui/sede/coda"
    sign_in(web_session, "patronato_operatore")
    assert web_session.get("/ui", allow_redirects=False).headers["Location"] == "/ui/richieste/nuova"
    sign_in(web_session, "admin")
    assert web_session.get("/ui", allow_redirects=False).headers["Location"] == "/ui/cruscotto"


def test_the_menu_shows_only_what_the_role_may_use(gateway, web_session):
    sign_in(web_session, "patronato_admin")
    page = web_session.get("/ui/profilo").text
    assert 'href="/ui/profili"' in page and 'href="/ui/notifiche"' in page
    assert 'href="/ui/sede/coda"' not in page and 'href="/ui/cruscotto"' not in page


def test_the_next_page_is_only_a_console_page(gateway, web_session):
    answer = sign_in(web_session, "admin", next="//evil.example/ui")
    assert answer.headers["Location"] == "/ui"
    answer = sign_in(web_session, "admin", next="/ui/report?mese=2026-11")
    assert answer.headers["Location"] == "/ui/report?mese=2026-11"


def test_a_post_without_the_form_token_is_refused_with_a_page(gateway, web_session):
    sign_in(web_session, "admin")
    answer = web_session.post("/ui/esci", data={}, allow_redirects=False)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == HTML
    assert 'data-code="csrf_invalid"' in answer.text
    token_value = csrf_of(web_session.get("/ui/profilo").text)
    answer = web_session.post("/ui/esci", data={"csrf": token_value}, allow_redirects=False)
    assert answer.status_code == 303
    assert "combid_sessione=;" in answer.headers["Set-Cookie"]


def test_an_invalid_scope_is_refused_naming_the_field(gateway, web_session):
    answer = web_session.post("/ui/accesso", data={"preset": "sede_operatore", "sede": "70A"})
    assert answer.status_code == 422
    assert "sede" in answer.text
    answer = web_session.post("/ui/accesso", data={"preset": "superuser"})
    assert answer.status_code == 422
    assert 'data-code="invalid_preset"' in answer.text


def test_a_forged_or_expired_session_sends_back_to_the_sign_in_page(gateway, web_session):
    web_session.cookies.set("combid_sessione", "not-a-jwt", path="/ui")
    answer = web_session.get("/ui/profilo", allow_redirects=False)
    assert answer.status_code == 303
    assert "motivo=invalid_token" in answer.headers["Location"]


def test_static_files_are_served_by_name_from_the_table_only(gateway, web_session):
    answer = web_session.get(static.url("vendor/htmx/htmx.min.js"))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert "max-age" in answer.headers["Cache-Control"]
    assert web_session.get(static.url("../render.py")).status_code == 404
    assert web_session.get(static.url("vendor/nothing.js")).status_code == 404


@pytest.fixture
def production(gateway_config):  # after gateway_config, which sets development
    with config.patch({"COMBID_ENV": "production", "CONSOLE_IDENTITY_HEADER": "X-Forwarded-Access-Token"}):
        yield


def test_in_production_no_development_sign_in_and_the_identity_header_is_read(
    production, gateway, web_session
):
    assert web_session.post("/ui/accesso", data={"preset": "admin"}).status_code == 404
    assert "SPID" in web_session.get("/ui/accesso").text
    signed = bearer({"sub": "direttore-1", "role": "direttore", "scope": "national"})["Authorization"]
    header = {"X-Forwarded-Access-Token": signed}
    answer = web_session.get("/ui/profilo", headers=header)
    assert answer.status_code == 200
    assert "direttore" in answer.text


# pages anyone may open: the sign-in page and its form, the static files
CONSOLE_PUBLIC = {
    ("GET", "/ui/accesso"),
    ("POST", "/ui/accesso"),
    ("GET", "/ui/static/<string:version>/<path:name>"),
}
CONSOLE_SECURED = [route for route in console_routes() if (route.method, route.url) not in CONSOLE_PUBLIC]


def test_the_console_declares_its_pages():
    declared = {(route.method, route.url) for route in console_routes()}
    assert CONSOLE_PUBLIC <= declared
    assert CONSOLE_SECURED


@pytest.mark.parametrize("route", CONSOLE_SECURED, ids=str)
def test_every_console_page_without_a_session_reaches_no_service(gateway, web_session, route):
    answer = web_session.request(route.method, route.path(), data={}, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/ui/accesso?next=")
    assert gateway.rpc.mock_calls == []


@pytest.mark.parametrize("route", [r for r in CONSOLE_SECURED if r.method == "POST"], ids=str)
def test_every_console_form_without_its_token_is_refused_before_any_service(gateway, web_session, route):
    sign_in(web_session, "sede_operatore")
    answer = web_session.request(route.method, route.path(), data={}, allow_redirects=False)
    assert answer.status_code == 403
    assert 'data-code="csrf_invalid"' in answer.text
    assert gateway.rpc.mock_calls == []
