"""Hostile headers, claims, parameters and bodies, through the gateway: each answers a clear
4xx problem document (never a 5xx), stores nothing, and stops nobody else's events.

Findings 1, 4 and 11 of the hardening issue, each reproduced as it was found.
"""

from __future__ import annotations

import json
import uuid

import pytest

from shared.contact_center import ContactCenterPublisher
from shared.contracts import FIRST_DAY
from tests.e2e.helpers import api, request_body, routed_detail, token
from tests.integration.helpers import scalar, wait_until

pytestmark = pytest.mark.e2e


def problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    document = response.json()
    if code:
        assert document["code"] == code, document
    return document


def count_requests(infra, sub: str) -> int:
    return scalar(
        infra.database_url("intake"), "SELECT count(*) FROM requests WHERE requester_sub = :s", s=sub
    )


# ---- finding 1: one header stopped every event of intake --------------------------------------


@pytest.mark.parametrize("request_id", ["x" * 300, "x" * 201, "é" * 60, "a b", "id\x7f"])
def test_an_unusable_request_id_is_replaced_and_the_request_is_routed(stack, infra, request_id):
    tok = token()
    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        tok,
        json=request_body("op@patronato.example"),
        headers={"X-Request-ID": request_id.encode("utf-8")},
    )
    assert created.status_code == 201, created.text
    request = created.json()["id"]

    assert routed_detail(stack, tok, request, timeout=20)["assignment"]["kind"] == "sede"
    correlation = scalar(
        infra.database_url("intake"),
        "SELECT body->>'correlation_id' FROM outbox WHERE body->'payload'->>'request_id' = :r "
        "AND event_type = 'request_submitted'",
        r=request,
    )
    assert correlation != request_id and len(correlation) <= 64


def test_a_plain_request_id_becomes_the_correlation_id(stack, infra):
    tok = token()
    request_id = f"portale-{uuid.uuid4().hex}"
    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        tok,
        json=request_body("op@patronato.example"),
        headers={"X-Request-ID": request_id},
    )
    assert created.status_code == 201, created.text
    correlation = scalar(
        infra.database_url("intake"),
        "SELECT body->>'correlation_id' FROM outbox WHERE body->'payload'->>'request_id' = :r",
        r=created.json()["id"],
    )
    assert correlation == request_id


# ---- finding 4: 500 instead of 4xx --------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"opened_to": "9999-12-31"}, "opened_to"),
        ({"updated_from": "0001-01-01"}, "updated_from"),
        ({"page": "99999999999999999999"}, "page"),
        ({"page": "10001"}, "page"),
        ({"page": "501"}, "page"),  # past the first 10,000 results: a cursor goes there
        ({"cursor": "x" * 5000}, "cursor"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": "WzEsIjk5OTktMTItMzFUMDA6MDA6MDArMDA6MDAiLCInOyBEUk9QIFRBQkxFIHJlcXVlc3RzIl0"}, "cursor"),
        ({"matricola": "70\x0012345678"}, "matricola"),
        ({"codice_fiscale": "x" * 5000}, "codice_fiscale"),
    ],
)
def test_search_parameters_out_of_bounds_are_422(stack, params, field):
    document = problem(
        api(stack, "GET", "/api/v1/requests", token(), params=params), 422, "validation_failed"
    )
    assert [error["field"] for error in document["errors"]] == [field]


def test_a_first_valid_day_is_accepted(stack):
    response = api(stack, "GET", "/api/v1/requests", token(), params={"opened_from": FIRST_DAY.isoformat()})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "field, value",
    [
        ("text", "Testo con un NUL \x00 nel mezzo"),
        ("text", "campanello \x07"),
        ("subject", "sollecito\x00domanda"),
    ],
)
def test_control_characters_are_refused_and_nothing_is_stored(stack, infra, field, value):
    sub = f"op-{uuid.uuid4().hex[:8]}"
    tok = token(sub=sub)
    document = problem(
        api(
            stack,
            "POST",
            "/api/v1/requests",
            tok,
            json=request_body("op@patronato.example", **{field: value}),
        ),
        422,
        "validation_failed",
    )
    assert field in [error["field"] for error in document["errors"]]
    assert count_requests(infra, sub) == 0


def test_newlines_and_tabs_are_fine_in_texts(stack):
    body = request_body("op@patronato.example", text="Prima riga\n\tseconda riga\r\nterza")
    assert api(stack, "POST", "/api/v1/requests", token(), json=body).status_code == 201


def test_a_body_over_one_megabyte_is_413(stack, infra):
    sub = f"op-{uuid.uuid4().hex[:8]}"
    body = request_body("op@patronato.example", text="x" * (1024 * 1024))
    document = problem(
        api(stack, "POST", "/api/v1/requests", token(sub=sub), json=body), 413, "body_too_large"
    )
    assert "KB" in document["detail"]
    assert count_requests(infra, sub) == 0


def test_a_chunked_body_over_one_megabyte_is_413(stack):
    def chunks():
        yield b'{"subject": "requisiti_accesso", "text": "'
        for _ in range(130):
            yield b"x" * 8192
        yield b'"}'

    response = api(
        stack,
        "POST",
        "/api/v1/requests",
        token(),
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    problem(response, 413, "body_too_large")


def test_an_upload_over_the_limit_is_413(stack):
    response = api(
        stack,
        "POST",
        "/api/v1/attachments",
        token(),
        files={"file": ("grande.pdf", b"%PDF-1.4\n" + b"0" * (7 * 1024 * 1024), "application/pdf")},
    )
    problem(response, 413, "file_too_large")


def test_deeply_nested_json_is_a_400(stack):
    response = api(
        stack,
        "POST",
        "/api/v1/requests",
        token(),
        data="[" * 100000 + "]" * 100000,
        headers={"Content-Type": "application/json"},
    )
    problem(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "path, params",
    [
        (
            "/api/v1/routing/explain",
            {"channel": "combipat\x00", "profile": "operatore_generico", "subject": "x"},
        ),
        (
            "/api/v1/routing/explain",
            {"channel": "combipat", "profile": "operatore_generico", "subject": "x", "on": "9999-12-31"},
        ),
        ("/api/v1/routing/sedi", {"on": "0001-01-01"}),
        ("/api/v1/routing/sedi", {"region": "L" * 5000}),
    ],
)
def test_routing_parameters_out_of_bounds_are_422(stack, path, params):
    official = token("sede_operatore", sede="0704", groups=["APP_FEA_COMBID"])
    problem(api(stack, "GET", path, official, params=params), 422, "validation_failed")


# ---- finding 11: column sizes below schema limits ------------------------------------------------


def test_a_token_sub_longer_than_the_column_is_401(stack):
    problem(api(stack, "GET", "/api/v1/subjects", token(sub="u" * 101)), 401, "invalid_claims")
    assert api(stack, "GET", "/api/v1/subjects", token(sub="u" * 100)).status_code == 200


def test_an_outbound_recipient_office_code_longer_than_the_column_is_422(stack):
    official = token("sede_operatore", sede="0704", groups=["APP_FEA_COMBID"])
    body = {
        "recipient": {"kind": "patronato", "patronato": {"ente": "E" * 21, "ufficio": "0001"}},
        "subject": "Convocazione",
        "text": "Testo",
    }
    document = problem(api(stack, "POST", "/api/v1/outbound", official, json=body), 422, "validation_failed")
    assert [error["field"] for error in document["errors"]] == ["recipient.patronato.ente"]


def test_a_referente_grant_for_an_operator_id_longer_than_the_column_is_422(stack):
    admin = token("patronato_admin", patronato="001")
    problem(
        api(
            stack,
            "PUT",
            f"/api/v1/patronato/operators/{'o' * 101}/profile",
            admin,
            json={"referente_regionale": True},
        ),
        422,
        "validation_failed",
    )


@pytest.mark.parametrize("sender_length", [97, 200])
def test_a_fax_from_a_long_sender_name_joins_the_history(stack, infra, sender_length):
    matricola = "70" + "".join(str(int(c, 16) % 10) for c in uuid.uuid4().hex[:8])
    sender = ("Studio Associato " * 20)[:sender_length]
    with ContactCenterPublisher(infra.amqp_uri) as publisher:
        publisher.publish(
            kind="fax_inbound", matricola=matricola, sender=sender, subject="Invio DM10", text="DM10"
        )
    company = token("azienda", sub=f"az-{matricola}", matricole=[matricola])

    def history():
        return (
            api(stack, "GET", "/api/v1/requests", company, params={"matricola": matricola}).json()["items"]
            or None
        )

    (item,) = wait_until(history, timeout=20)
    assert item["origin"] == "fax"


def test_problem_documents_for_hostile_json_shapes(stack):
    tok = token()
    for body in ("null", "[]", "42", '"text"', json.dumps({"subject": ["a"], "text": {"x": 1}})):
        response = api(
            stack, "POST", "/api/v1/requests", tok, data=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
