"""Attachment downloads through the gateway: streamed with safe headers to whoever may read
the request, 404 for everyone else; archives holding a program refused at upload."""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest

from tests.e2e.helpers import api, request_body, token

pytestmark = pytest.mark.e2e

TEXT = b"Verbale dell'incontro: nessuna osservazione.\n" * 200


def upload(stack, tok, name, data, content_type="application/octet-stream"):
    return api(stack, "POST", "/api/v1/attachments", tok, files={"file": (name, data, content_type)})


def submit_with(stack, tok, attachment_id):
    body = request_body(f"dl-{uuid.uuid4().hex[:8]}@patronato.example", attachments=[attachment_id])
    created = api(stack, "POST", "/api/v1/requests", tok, json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_attachment_is_downloaded_through_the_gateway_with_safe_headers(stack):
    tok = token()
    uploaded = upload(stack, tok, "verbale è finale.txt", TEXT)
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    request_id = submit_with(stack, tok, attachment["id"])

    detail = api(stack, "GET", f"/api/v1/requests/{request_id}", tok).json()
    path = f"/api/v1/requests/{request_id}/attachments/{attachment['id']}"
    assert detail["attachments"][0]["download_url"] == path

    download = api(stack, "GET", path, tok)
    assert download.status_code == 200, download.text
    assert download.content == TEXT
    assert download.headers["Content-Type"] == "text/plain"
    assert download.headers["Content-Length"] == str(len(TEXT))
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"verbale e finale.txt\"; filename*=UTF-8''verbale%20e%20finale.txt"
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert "X-Amz" not in str(download.headers)  # nothing of the store's link reaches the client


def test_download_is_not_found_for_other_offices_and_other_requests(stack):
    tok = token()
    first = upload(stack, tok, "primo.txt", TEXT).json()
    second = upload(stack, tok, "secondo.txt", TEXT).json()
    first_request = submit_with(stack, tok, first["id"])
    submit_with(stack, tok, second["id"])

    path = f"/api/v1/requests/{first_request}/attachments/{first['id']}"
    other_office = api(stack, "GET", path, token(ufficio="0002"))
    assert other_office.status_code == 404
    assert other_office.headers["Content-Type"].startswith("application/problem+json")
    assert api(stack, "GET", path).status_code == 401
    another_requests = api(stack, "GET", f"/api/v1/requests/{first_request}/attachments/{second['id']}", tok)
    assert another_requests.status_code == 404
    assert another_requests.json()["code"] == "attachment_not_found"


def test_archive_holding_a_program_is_refused_at_upload(stack):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("documenti/domanda.pdf", b"%PDF-1.4\n")
        archive.writestr("documenti/leggimi.txt.js", "WScript.Echo('ciao')")
    refused = upload(stack, token(), "documenti.zip", buffer.getvalue(), "application/zip")
    assert refused.status_code == 422
    assert [e["code"] for e in refused.json()["errors"]] == ["file_type_not_allowed"]
