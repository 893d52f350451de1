"""End to end: routing's endpoints through the gateway — explain, sedi, versions, and a
request reassigned by an official, explained afterwards from what was recorded. Who may
call them is part of the authorisation matrix (test_authorization_matrix.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.helpers import api, request_body, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

ROMA, RIETI = "0704", "0703"


def official(sede):
    return token("sede_operatore", sede=sede, groups=["APP_FEA_COMBID"])


def test_explain_is_a_dry_run_for_officials_only(stack):
    query = {
        "channel": "combipat",
        "profile": "referente_regionale",
        "subject": "chiarimento_normativo",
        "ente": "001",
        "ufficio": "0058",
    }

    explained = api(stack, "GET", "/api/v1/routing/explain", official(ROMA), params=query)
    refused = api(stack, "GET", "/api/v1/routing/explain", token(), params=query)
    invalid = api(stack, "GET", "/api/v1/routing/explain", official(ROMA), params=dict(query, cap="001"))

    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["dry_run"] is True and body["rule"] == "referente_regionale_cric"
    assert body["assignment"]["name"] == "CRIC Lazio – sezione Pensioni"
    assert [step["rule"] for step in body["rule_chain"]] == ["referente_regionale_cric"]
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith(
        "application/problem+json"
    )
    assert invalid.status_code == 422 and [e["field"] for e in invalid.json()["errors"]] == ["cap"]


def test_sedi_and_reference_versions(stack):
    national = token("direttore", scope="national")
    sedi = api(stack, "GET", "/api/v1/routing/sedi", national, params={"region": "Lazio"}).json()
    versions = api(stack, "GET", "/api/v1/routing/versions", token("admin")).json()

    assert "Direzione provinciale di Roma" in [sede["name"] for sede in sedi["sedi"]]
    assert [cric["name"] for cric in sedi["cric"]] == ["CRIC Lazio"]
    assert versions["active"] == sedi["reference_version"]
    assert versions["versions"][0]["counts"]["sedi"] == 127


def test_an_official_reassigns_a_request_and_the_decisions_explain_it(stack):
    requester = token()
    created = api(
        stack,
        "POST",
        "/api/v1/requests",
        requester,
        json=request_body(f"r-{uuid.uuid4().hex[:8]}@patronato.example"),
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert routed_detail(stack, requester, request_id)["assignment"]["code"] == ROMA
    path = f"/api/v1/requests/{request_id}/assignment"
    body = {"sede": RIETI, "reason": "Il cittadino risiede a Rieti"}

    elsewhere = api(stack, "POST", path, official("0908"), json=body)
    moved = api(stack, "POST", path, official(ROMA), json=body)

    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "not_competent"
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignment"]["name"] == "Direzione provinciale di Rieti"

    def reassigned():
        detail = api(stack, "GET", f"/api/v1/requests/{request_id}", requester).json()
        return detail["assignment"]["code"] == RIETI and detail

    wait_until(reassigned, timeout=15)
    explained = api(stack, "GET", f"/api/v1/routing/decisions/{request_id}", official(RIETI)).json()
    assert [(d["rule"], d["assignment"]["code"]) for d in explained["history"]] == [
        ("operatore_generico_cap", ROMA),
        ("manual_reassignment", RIETI),
    ]
    assert explained["history"][0]["replay"]["same_decision"] is True
    assert explained["current"]["inputs"]["reason"] == "Il cittadino risiede a Rieti"
