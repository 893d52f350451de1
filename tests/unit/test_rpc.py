"""shared.rpc and shared.outages: which errors are outages, and what the caller gets."""

from __future__ import annotations

import inspect
import logging
import struct

import psycopg2
import pytest
from amqp.exceptions import ConnectionForced, NotFound
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import exc as sa_exc

from shared.errors import InvalidInput, Unavailable
from shared.errors import NotFound as NotFoundProblem
from shared.outages import describe, outage_code
from shared.rpc import rpc


def db_error(cls=sa_exc.OperationalError, invalidated=False):
    driver_error = psycopg2.OperationalError("connection refused")
    return cls("SELECT 1", {}, driver_error, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error, code",
    [
        (db_error(), "database_unavailable"),
        (db_error(sa_exc.InterfaceError), "database_unavailable"),
        (db_error(sa_exc.DBAPIError, invalidated=True), "database_unavailable"),
        (sa_exc.TimeoutError("QueuePool limit"), "database_unavailable"),
        (psycopg2.OperationalError("server closed the connection"), "database_unavailable"),
        (KombuOperationalError("connection refused"), "broker_unavailable"),
        (ConnectionForced("shutdown"), "broker_unavailable"),
        (ConnectionRefusedError(111, "refused"), "service_unavailable"),
        (TimeoutError("timed out"), "service_unavailable"),
    ],
)
def test_outages_are_recognised(error, code):
    assert outage_code(error) == code


@pytest.mark.parametrize(
    "error",
    [
        db_error(sa_exc.IntegrityError),
        db_error(sa_exc.DBAPIError, invalidated=False),
        struct.error("ubyte format requires 0 <= number <= 255"),
        NotFound("no exchange"),
        ValueError("bad"),
        FileNotFoundError("catalog.yml"),
    ],
)
def test_other_errors_are_not_outages(error):
    assert outage_code(error) is None


def test_describe_keeps_the_driver_line_and_no_parameters():
    error = sa_exc.OperationalError(
        "SELECT * FROM requests WHERE cf = %(cf)s",
        {"cf": "RSSMRA85T10A562S"},
        psycopg2.OperationalError('connection to server at "127.0.0.1", port 1 failed: refused\n\tIs it up?'),
        hide_parameters=True,
    )
    text = describe(error)
    assert text.startswith("sqlalchemy.exc.OperationalError: connection to server")
    assert "RSSMRA85T10A562S" not in text and "Is it up" not in text


class Service:
    name = "demo"

    def __init__(self, error=None):
        self.error = error

    @rpc
    def plain(self, request_id, limit=10):
        if self.error:
            raise self.error
        return {"request_id": request_id, "limit": limit}

    @rpc(expected_exceptions=KeyError)
    def with_options(self):
        raise KeyError("x")


def test_database_outage_reaches_the_caller_as_unavailable():
    with pytest.raises(Unavailable) as raised:
        Service(db_error()).plain("r1")
    assert raised.value.code == "database_unavailable"
    assert raised.value.status == 503
    assert "demo" in raised.value.detail


def test_broker_outage_reaches_the_caller_as_unavailable():
    with pytest.raises(Unavailable) as raised:
        Service(KombuOperationalError("gone")).plain("r1")
    assert raised.value.code == "broker_unavailable"


@pytest.mark.parametrize("error", [InvalidInput("validation_failed", "no"), ValueError("bug")])
def test_other_errors_pass_unchanged(error):
    with pytest.raises(type(error)) as raised:
        Service(error).plain("r1")
    assert raised.value is error


def test_signature_is_the_methods_own_so_nameko_still_checks_arguments():
    assert Service(None).plain("r1", limit=3) == {"request_id": "r1", "limit": 3}
    inspect.getcallargs(Service.plain, None, "r1")
    with pytest.raises(TypeError):
        inspect.getcallargs(Service.plain, None, "r1", 3, 4)


def test_problem_errors_are_always_expected():
    (plain,) = Service.plain.nameko_entrypoints
    (with_options,) = Service.with_options.nameko_entrypoints
    assert issubclass(NotFoundProblem, plain.expected_exceptions)
    assert KeyError in with_options.expected_exceptions
    assert any(issubclass(NotFoundProblem, cls) for cls in with_options.expected_exceptions)


def test_expected_errors_are_logged_without_traceback(caplog):
    logger = logging.getLogger("nameko.containers")
    try:
        raise NotFoundProblem("request_not_found", "Richiesta non trovata.")
    except NotFoundProblem as exc:
        with caplog.at_level(logging.WARNING, logger="nameko.containers"):
            logger.warning("(expected) error handling worker %s: %s", "w", exc, exc_info=True)
            logger.error("error handling worker %s: %s", "w", exc, exc_info=True)
    expected, unexpected = caplog.records
    assert expected.exc_info is None and "request_not_found" in expected.getMessage()
    assert unexpected.exc_info is not None
