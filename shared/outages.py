"""Which errors mean that a dependency (database, broker) is unreachable.

Such an error is nobody's fault in the request at hand: an RPC answers it as
``Unavailable`` (503, the caller may retry), the outbox relay waits instead of counting it
against the row it was publishing. Everything else is a real failure of that request or row.
"""

from __future__ import annotations

import socket

import psycopg2
from amqp.exceptions import ConnectionError as AmqpConnectionError
from amqp.exceptions import MessageNacked
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import exc as sa_exc

DATABASE_UNAVAILABLE = "database_unavailable"
BROKER_UNAVAILABLE = "broker_unavailable"
# a bare network error or timeout: which dependency is not known
DEPENDENCY_UNAVAILABLE = "service_unavailable"

# psycopg2's OperationalError covers lost connections, refused connections, a server
# shutting down, deadlocks and serialization failures: all worth a retry by the caller.
_DATABASE_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no free connection in the pool within its timeout
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)
_BROKER_ERRORS = (
    KombuOperationalError,
    AmqpConnectionError,  # includes RecoverableConnectionError, ConnectionForced
    MessageNacked,
)
_NETWORK_ERRORS = (ConnectionError, socket.timeout, socket.gaierror)


def outage_code(exc: BaseException) -> str | None:
    """``database_unavailable`` / ``broker_unavailable`` / ``service_unavailable`` for an
    outage, else None (the error is the request's or the row's own)."""
    if isinstance(exc, _DATABASE_ERRORS):
        return DATABASE_UNAVAILABLE
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return DATABASE_UNAVAILABLE
    if isinstance(exc, _BROKER_ERRORS):
        return BROKER_UNAVAILABLE
    if isinstance(exc, _NETWORK_ERRORS):
        return DEPENDENCY_UNAVAILABLE
    return None


def error_class(exc: BaseException) -> str:
    """``struct.error``, ``kombu.exceptions.OperationalError``; builtins by their bare name."""
    cls = exc.__class__
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def describe(exc: BaseException) -> str:
    """Error class and the driver's first line, for logs: no SQL parameters (engines hide
    them), no payload. ``(psycopg2.OperationalError) connection to server ... refused``."""
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0][:200]
    return f"{error_class(exc)}: {first_line}" if first_line else error_class(exc)
