"""The gateway's one place for errors (``ProblemHttpHandler.response_from_exception``):
every typed error becomes its RFC 9457 problem document, anything else a 500 that tells
nothing of itself. Like nameko-examples' ``gateway/test/unit/test_entrypoints.py``; over
HTTP, route by route, in tests/interface/test_gateway_routes.py."""

from __future__ import annotations

import json
import logging

import pytest
from werkzeug.exceptions import (
    BadRequest,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)

import gateway.service  # noqa: F401 - every error type the gateway can meet is defined once imported
from gateway.entrypoints import ProblemHttpHandler
from shared import errors
from shared.errors import ProblemError

PROBLEM_JSON = "application/problem+json"
EXPECTED_STATUS = {
    "ProblemError": 400,
    "InvalidInput": 422,
    "NotFound": 404,
    "Conflict": 409,
    "Forbidden": 403,
    "PayloadTooLarge": 413,
    "Unavailable": 503,
    "Unauthorized": 401,
}


def problem_classes(cls=ProblemError):
    yield cls
    for subclass in cls.__subclasses__():
        yield from problem_classes(subclass)


PROBLEMS = sorted(set(problem_classes()), key=lambda cls: cls.__name__)


def respond(exc):
    return ProblemHttpHandler("GET", "/api/v1/anything").response_from_exception(exc)


def document(response) -> dict:
    assert response.mimetype == PROBLEM_JSON
    return json.loads(response.get_data(as_text=True))


def test_every_error_type_of_the_platform_has_a_known_status():
    """A new error type must say here which status it answers."""
    assert {cls.__name__ for cls in PROBLEMS} == set(EXPECTED_STATUS)


@pytest.mark.parametrize("cls", PROBLEMS, ids=lambda cls: cls.__name__)
def test_each_error_type_is_its_problem_document(cls):
    fields = [{"field": "citizen.cap", "code": "unknown_cap", "detail": "CAP inesistente."}]
    exc = cls(
        "some_code", "Spiegazione per le persone.", fields, extra={"reminder_allowed_from": "2026-03-31"}
    )

    response = respond(exc)

    status = EXPECTED_STATUS[cls.__name__]
    assert response.status_code == status
    assert document(response) == {
        "type": "https://combid.inps.example/problems/some_code",
        "title": cls.title,
        "status": status,
        "code": "some_code",
        "detail": "Spiegazione per le persone.",
        "errors": fields,
        "reminder_allowed_from": "2026-03-31",
    }
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0  # an outage: try again later
    else:
        assert "Retry-After" not in response.headers


@pytest.mark.parametrize("cls", PROBLEMS, ids=lambda cls: cls.__name__)
def test_without_a_code_an_error_answers_its_default_one_and_no_errors_member(cls):
    problem = document(respond(cls(detail="Dettaglio.")))
    assert problem["code"] == cls.default_code
    assert "errors" not in problem


def test_invalid_input_names_every_field_at_fault():
    exc = errors.InvalidInput.from_errors(
        [
            errors.field_error("citizen.codice_fiscale", "invalid_checksum", "Codice fiscale errato."),
            errors.field_error("citizen.cap", "unknown_cap", "CAP inesistente."),
        ]
    )

    problem = document(respond(exc))

    assert problem["status"] == 422 and problem["code"] == "validation_failed"
    assert [error["field"] for error in problem["errors"]] == ["citizen.codice_fiscale", "citizen.cap"]
    assert "citizen.cap" in problem["detail"]


@pytest.mark.parametrize(
    "exc, status",
    [
        (BadRequest(), 400),
        (NotFound(), 404),
        (MethodNotAllowed(["GET"]), 405),
        (RequestEntityTooLarge(), 413),
    ],
    ids=lambda value: str(value) if isinstance(value, int) else type(value).__name__,
)
def test_http_errors_of_the_request_are_problem_documents_too(exc, status):
    response = respond(exc)

    assert response.status_code == status
    problem = document(response)
    assert problem["status"] == status and problem["code"] == f"http_{status}"


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("connection to postgresql://combid:s3cret@db/intake failed"),
        KeyError("password"),
        InternalServerError("stack: /srv/gateway/api/base.py line 42"),
    ],
    ids=["runtime error", "key error", "http 500"],
)
def test_an_unexpected_error_is_a_500_that_says_nothing_of_it(exc, caplog):
    with caplog.at_level(logging.ERROR, logger="gateway.entrypoints"):
        response = respond(exc)

    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    body = response.get_data(as_text=True)
    problem = document(response)
    assert problem["code"] == "internal_error" and problem["detail"]
    for internal in ("s3cret", "postgresql", "password", "/srv/", "RuntimeError", "KeyError"):
        assert internal not in body
    # the operator finds it in the log, with its traceback
    assert any(record.exc_info and record.exc_info[1] is exc for record in caplog.records)
