"""The gateway's edge rules that need no broker: correlation ids, access log lines."""

from __future__ import annotations

import logging

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.api.base import JSON_BODY_MAX_BYTES, GatewayBase, correlation_id
from gateway.entrypoints import DropQueryStrings, problem_response
from shared.errors import PayloadTooLarge, ProblemError
from shared.events import clean_correlation_id


def request(headers=None, data=None, content_type="application/json") -> Request:
    return Request(
        EnvironBuilder(
            method="POST", headers=headers or {}, data=data, content_type=content_type
        ).get_environ()
    )


@pytest.mark.parametrize(
    "given, kept",
    [
        ("portale-123.abc_DEF", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("x" * 300, False),
        ("con spazio", False),
        ("àccento", False),
        ("", False),
    ],
)
def test_request_ids_are_kept_only_when_short_and_plain(given, kept):
    result = correlation_id(request({"X-Request-ID": given}))
    assert (result == given) is kept
    assert clean_correlation_id(result) == result  # whatever comes out fits an AMQP property


def test_json_bodies_are_bounded():
    assert GatewayBase._json_body(request(data=b'{"a": 1}')) == {"a": 1}
    with pytest.raises(PayloadTooLarge):
        GatewayBase._json_body(request(data=b'{"a": "' + b"x" * JSON_BODY_MAX_BYTES + b'"}'))
    with pytest.raises(ProblemError) as invalid:
        GatewayBase._json_body(request(data=b"\xff\xfe"))
    assert invalid.value.code == "invalid_json"


def test_unavailable_answers_carry_retry_after():
    response = problem_response({"status": 503, "code": "database_unavailable"})
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "Retry-After" not in problem_response({"status": 422, "code": "validation_failed"}).headers


def test_access_log_lines_lose_their_query_strings():
    line = (
        '127.0.0.1 - - [30/Nov/2026 10:00:00] "GET /api/v1/requests?codice_fiscale=RSSMRA85T10A562S HTTP/1.1"'
        " 200 10 0.1"
    )
    record = logging.LogRecord("nameko.web.server", logging.INFO, __file__, 1, line, None, None)
    assert DropQueryStrings().filter(record) is True
    assert "RSSMRA85T10A562S" not in record.getMessage()
    assert '"GET /api/v1/requests HTTP/1.1" 200' in record.getMessage()
