"""Authentication at every route, over HTTP: a request without a valid token never reaches
a service, and the claims of a valid one reach it as the typed Caller.

The token rules themselves (lifetime, issuer, audience, secrets) are unit-tested in
tests/unit/test_gateway_auth.py; here, that every route applies them. Routes are read from the
gateway service class, so a route added later is checked too (a new public route must be
named in PUBLIC).
"""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from tests.interface.helpers import SECRET, assert_problem, bearer, declared_routes

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/docs/<string:filename>"),
}
SECURED = [route for route in declared_routes() if (route.method, route.url) not in PUBLIC]
AZIENDA = dict(sub="u1", role="azienda", matricole=["7012345678"])


def header(value: str) -> dict:
    return {"Authorization": value}


BAD_TOKENS = {
    "no token": ({}, 401, "missing_token"),
    "not a bearer token": (header("Basic dXNlcjpwYXNz"), 401, "missing_token"),
    "not a JWT": (header("Bearer not-a-jwt"), 401, "invalid_token"),
    "another secret": (bearer(AZIENDA, secret="another-secret-also-at-least-32-bytes"), 401, "invalid_token"),
    "expired": (bearer(AZIENDA, lifetime=timedelta(minutes=-5)), 401, "token_expired"),
    "without exp": (
        header("Bearer " + jwt.encode({"sub": "u1", "role": "azienda"}, SECRET, algorithm="HS256")),
        401,
        "invalid_token",
    ),
    "lives too long": (bearer(AZIENDA, lifetime=timedelta(hours=48)), 401, "token_lifetime_too_long"),
    "groups not a list": (
        bearer(dict(sub="u1", role="sede_operatore", sede="0704", groups="APP_FEA_COMBID")),
        401,
        "invalid_claims",
    ),
    "unknown role": (bearer(dict(sub="u1", role="superuser")), 403, "unknown_role"),
}


def test_every_route_but_the_public_ones_is_secured():
    assert SECURED, "no secured route found on the gateway service class"
    assert {(route.method, route.url) for route in declared_routes()} >= PUBLIC


@pytest.mark.parametrize("token", BAD_TOKENS)
@pytest.mark.parametrize("route", SECURED, ids=str)
def test_a_request_without_a_valid_token_reaches_no_service(gateway, web_session, route, token):
    headers, status, code = BAD_TOKENS[token]

    response = web_session.request(route.method, route.path(), headers=headers, json={})

    assert_problem(response, status, code)
    assert gateway.rpc.mock_calls == []


@pytest.mark.parametrize("route", sorted(PUBLIC), ids=" ".join)
def test_public_routes_need_no_token(gateway, web_session, route):
    method, url = route
    path = next(r for r in declared_routes() if (r.method, r.url) == route).path(filename="init.js")
    gateway.rpc.intake.health.call_async.return_value.result.return_value = {"service": "intake"}

    response = web_session.request(method, path)

    assert response.status_code in (200, 503), response.text  # /ready: 503 when a service is not ok
    assert response.status_code != 401


def test_the_token_claims_reach_the_service_as_the_typed_caller(gateway, web_session):
    gateway.rpc.routing.list_versions.return_value = {"active": None, "versions": []}
    token = bearer(
        dict(
            sub="off-7",
            role="sede_operatore",
            name="Grace",
            sede="0704",
            groups=["APP_FEA_COMBID", "ALTRO", "APP_FEA_COMBID"],  # repeated: kept once
            aree=["pensioni", "pensioni"],
            regione="",  # empty: as if missing
            matricole=[],
            department="IT",  # a claim the platform does not read: dropped
        )
    )

    response = web_session.get("/api/v1/routing/versions", headers=token)

    assert response.status_code == 200, response.text
    gateway.rpc.routing.list_versions.assert_called_once_with(
        {
            "sub": "off-7",
            "role": "sede_operatore",
            "name": "Grace",
            "email": None,
            "codice_fiscale": None,
            "matricole": [],
            "patronato": None,
            "ufficio": None,
            "sede": "0704",
            "regione": None,
            "scope": None,
            "groups": ["APP_FEA_COMBID", "ALTRO"],
            "aree": ["pensioni"],
        }
    )


def test_a_body_cannot_widen_the_caller(gateway, web_session):
    """Whatever the body says about who sends it, the service gets the token's caller."""
    gateway.rpc.intake.add_reminder.return_value = {"id": "x", "reminders": 1}
    operator = dict(sub="op-1", role="patronato_operatore", patronato="001", ufficio="0001")

    response = web_session.post(
        "/api/v1/requests/3f2b8c1e-9a4d-4e6b-8c2f-1a2b3c4d5e6f/reminders",
        headers=bearer(operator),
        json={"role": "admin", "sub": "admin-1"},
    )

    assert_problem(response, 422, "validation_failed")  # fields the step does not know
    assert gateway.rpc.mock_calls == []
