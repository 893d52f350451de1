"""End to end: every service as its own process, driven over HTTP through the gateway,
on the real broker, database, object store and SMTP sink."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import requests

from gateway.auth import LEEWAY
from shared.storage import ObjectStoreAccess, make_client
from tests.e2e.helpers import auth, mails_to, request_body, routed_detail, token
from tests.integration.helpers import publish_raw, scalar, wait_until

pytestmark = pytest.mark.e2e

VALID_CF = "RSSMRA85T10A562S"
PDF = b"%PDF-1.4\n% allegato di prova\n" + b"0" * 2048


def test_health_and_openapi(stack):
    assert requests.get(f"{stack.url}/health", timeout=5).json() == {"status": "ok"}
    document = requests.get(f"{stack.url}/api/v1/openapi.json", timeout=5).json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/requests" in document["paths"]
    assert "RequestSubmission" in document["components"]["schemas"]


def test_subjects_for_operatore_generico(stack):
    subjects = requests.get(f"{stack.url}/api/v1/subjects", headers=auth(token()), timeout=10).json()
    by_code = {s["code"]: s for s in subjects}
    assert set(by_code) == {"sollecito_domanda", "prestazione_in_corso_o_respinta", "requisiti_accesso"}
    assert by_code["sollecito_domanda"]["identifier_required"] is True
    assert by_code["requisiti_accesso"]["identifier_required"] is False


def test_request_is_stored_routed_to_roma_and_notified(stack, infra):
    tok = token()
    email = f"op-{uuid.uuid4().hex[:8]}@patronato.example"
    upload = requests.post(
        f"{stack.url}/api/v1/attachments",
        headers=auth(tok),
        files={"file": ("domanda.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()

    started = time.monotonic()
    created = requests.post(
        f"{stack.url}/api/v1/requests",
        headers=auth(tok),
        json=request_body(email, attachments=[attachment["id"]]),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    result = created.json()
    assert result["state"] == "open" and result["protocol"]
    assert created.headers["Location"] == f"/api/v1/requests/{result['id']}"

    detail = routed_detail(stack, tok, result["id"])
    print(f"submitted → routed visible through the gateway in {time.monotonic() - started:.3f} s")
    assert detail["assignment"]["kind"] == "sede"
    assert "Roma" in detail["assignment"]["name"]
    assert "00184" in detail["assignment"]["reason"]
    assert detail["state"] == "open"

    store = ObjectStoreAccess(
        make_client(infra.s3_endpoint, infra.s3_access_key, infra.s3_secret_key), infra.bucket
    )
    key = scalar(
        infra.database_url("intake"), "SELECT object_key FROM attachments WHERE id = :id", id=attachment["id"]
    )
    assert store.get(key) == PDF
    download_url = stack.url + detail["attachments"][0]["download_url"]  # the gateway's path, authorised
    download = requests.get(download_url, headers=auth(tok), timeout=10)
    assert download.status_code == 200 and download.content == PDF

    mails = wait_until(lambda: len(mails_to(infra, email)) >= 2 and mails_to(infra, email), timeout=15)
    bodies = " ".join(m.get_body(preferencelist=("plain",)).get_content() for m in mails)
    assert result["protocol"] in bodies
    assert "Roma" in bodies


BAD_INPUTS = [
    (
        "invalid codice fiscale",
        {"citizen": {"codice_fiscale": "RSSMRA85T10A562X", "cap": "00184"}},
        422,
        "citizen.codice_fiscale",
    ),
    ("unknown CAP", {"citizen": {"codice_fiscale": VALID_CF, "cap": "00000"}}, 422, "citizen.cap"),
    ("unknown subject", {"subject": "pettegolezzi"}, 422, "subject"),
    ("missing identifier", {"case_identifier": None}, 422, "case_identifier"),
    ("unknown field", {"colore": "blu"}, 422, "colore"),
    ("missing text", {"text": None}, 422, "text"),
]


@pytest.mark.parametrize("label, change, status, field", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_a_problem_document_naming_the_field_and_stores_nothing(
    stack, infra, label, change, status, field
):
    sub = f"bad-{uuid.uuid4().hex[:8]}"
    body = request_body("x@example.org")
    body.update(change)
    body = {k: v for k, v in body.items() if not (k == "text" and v is None)}
    response = requests.post(
        f"{stack.url}/api/v1/requests", headers=auth(token(sub=sub)), json=body, timeout=10
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["code"] and problem["detail"]
    assert field in {e["field"] for e in problem["errors"]}
    assert (
        scalar(
            infra.database_url("intake"), "SELECT count(*) FROM requests WHERE requester_sub = :sub", sub=sub
        )
        == 0
    )


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "missing_token"),
        ({"Authorization": "Bearer " + "x" * 20}, "invalid_token"),
        (None, "token_expired"),
    ],
)
def test_authentication_failures_are_401(stack, headers, code):
    if headers is None:  # expired longer ago than the gateway's leeway for clock skew
        headers = auth(token(lifetime=-(LEEWAY + timedelta(seconds=5))))
    response = requests.post(
        f"{stack.url}/api/v1/requests", headers=headers, json=request_body("x@example.org"), timeout=10
    )
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_request_submitted_while_routing_is_down_is_routed_once_when_it_returns(stack, infra):
    tok = token()
    stack.stop("routing")
    try:
        created = requests.post(
            f"{stack.url}/api/v1/requests",
            headers=auth(tok),
            json=request_body("down@example.org"),
            timeout=10,
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        time.sleep(1.5)
        detail = requests.get(
            f"{stack.url}/api/v1/requests/{request_id}", headers=auth(tok), timeout=10
        ).json()
        assert detail["assignment"] is None
    finally:
        stack.start("routing")
    assert routed_detail(stack, tok, request_id, timeout=60)["assignment"]["kind"] == "sede"
    routing_db = infra.database_url("routing")
    assert (
        scalar(routing_db, "SELECT count(*) FROM routing_decisions WHERE request_id = :id", id=request_id)
        == 1
    )
    assert (
        scalar(
            routing_db,
            "SELECT count(*) FROM outbox WHERE body->'payload'->>'request_id' = :id",
            id=request_id,
        )
        == 1
    )


def test_the_same_event_published_twice_changes_nothing(stack, infra):
    tok = token()
    email = f"dup-{uuid.uuid4().hex[:8]}@patronato.example"
    created = requests.post(
        f"{stack.url}/api/v1/requests", headers=auth(tok), json=request_body(email), timeout=10
    )
    request_id = created.json()["id"]
    routed_detail(stack, tok, request_id)
    wait_until(lambda: len(mails_to(infra, email)) >= 2, timeout=15)

    envelope = scalar(
        infra.database_url("intake"),
        "SELECT body FROM outbox"
        " WHERE event_type = 'request_submitted' AND body->'payload'->>'request_id' = :id",
        id=request_id,
    )
    publish_raw(infra.amqp_uri, "request_submitted", envelope)
    publish_raw(infra.amqp_uri, "request_submitted", envelope)
    time.sleep(3)

    routing_db = infra.database_url("routing")
    assert (
        scalar(routing_db, "SELECT count(*) FROM routing_decisions WHERE request_id = :id", id=request_id)
        == 1
    )
    assert (
        scalar(
            routing_db,
            "SELECT count(*) FROM outbox WHERE body->'payload'->>'request_id' = :id",
            id=request_id,
        )
        == 1
    )
    assert len(mails_to(infra, email)) == 2
    assert (
        scalar(
            infra.database_url("reporting"),
            "SELECT count(*) FROM request_facts WHERE request_id = :id",
            id=request_id,
        )
        == 1
    )
