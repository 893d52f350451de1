"""Tokens, bodies and waits for the end-to-end tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

import requests

from gateway.auth import issue_token
from shared.config import LOCAL_DEFAULTS
from tests.integration.helpers import wait_until

VALID_CF = "RSSMRA85T10A562S"


def token(role="patronato_operatore", lifetime=timedelta(hours=1), **claims):
    if role.startswith("patronato_") and role != "patronato_admin":
        claims.setdefault("patronato", "001")
        claims.setdefault("ufficio", "0001")
    return issue_token(
        LOCAL_DEFAULTS["JWT_SECRET"],
        sub=claims.pop("sub", f"op-{uuid.uuid4().hex[:8]}"),
        role=role,
        lifetime=lifetime,
        **claims,
    )


def auth(tok):
    return {"Authorization": f"Bearer {tok}"}


def request_body(email, **overrides):
    body = {
        "subject": "sollecito_domanda",
        "text": "Si sollecita la definizione della domanda di pensione.",
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
        "contacts": {"email": email},
    }
    body.update(overrides)
    return body


def mails_to(infra, address):
    return [m for m in infra.mails() if m["To"] == address]


def routed_detail(stack, tok, request_id, timeout=15.0):
    def assigned():
        detail = requests.get(
            f"{stack.url}/api/v1/requests/{request_id}", headers=auth(tok), timeout=10
        ).json()
        return detail if detail.get("assignment") else None

    return wait_until(assigned, timeout=timeout, interval=0.1)


def api(stack, method, path, tok=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if tok:
        headers.update(auth(tok))
    return requests.request(method, f"{stack.url}{path}", headers=headers, timeout=15, **kwargs)
