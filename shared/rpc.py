"""``rpc``: the RPC entrypoint every service uses (instead of nameko's ``rpc``).

- ``ProblemError`` and its subclasses are expected: the caller gets the same type, and
  the service logs one warning line, without a traceback.
- A database or broker outage while the method runs (``shared.outages``) is nobody's
  fault in the call: the caller gets ``Unavailable`` (503, code ``database_unavailable``,
  ``broker_unavailable`` or, for a bare network error, ``service_unavailable``) instead of
  an unexpected error, and may retry.
- A reply that cannot be published (the broker went away meanwhile) is logged and
  dropped: the caller times out. nameko would let that error escape the worker thread,
  and ``ServiceContainer._handle_thread_exited`` kills the whole container for it.

Usage: ``@rpc`` or ``@rpc(expected_exceptions=...)`` (ProblemError is always expected).
"""

from __future__ import annotations

import functools
import inspect
import logging

from nameko.rpc import Rpc as NamekoRpc

from shared.errors import ProblemError, Unavailable
from shared.outages import (
    BROKER_UNAVAILABLE,
    DATABASE_UNAVAILABLE,
    DEPENDENCY_UNAVAILABLE,
    describe,
    outage_code,
)

log = logging.getLogger(__name__)

UNAVAILABLE_DETAIL = {
    DATABASE_UNAVAILABLE: "Il database del servizio {service} non è raggiungibile. Riprovare tra poco.",
    BROKER_UNAVAILABLE: "Il servizio {service} non raggiunge il broker dei messaggi. Riprovare tra poco.",
    DEPENDENCY_UNAVAILABLE: "Il servizio {service} non raggiunge un componente necessario. "
    "Riprovare tra poco.",
}


class _ExpectedWithoutTraceback(logging.Filter):
    """nameko logs an expected error with its traceback (containers.py, ``_run_worker``);
    an expected error is an answer, not a fault: keep the line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("(expected) error handling worker"):
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("nameko.containers").addFilter(_ExpectedWithoutTraceback())


class Rpc(NamekoRpc):
    def __init__(self, expected_exceptions=(), **kwargs):
        if not isinstance(expected_exceptions, tuple):
            expected_exceptions = (expected_exceptions,)
        super().__init__(expected_exceptions=(ProblemError, *expected_exceptions), **kwargs)

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except Exception as exc:
            log.error(
                "rpc %s.%s: reply not sent, dropped (the caller will time out): %s",
                self.container.service_name,
                self.method_name,
                describe(exc),
                exc_info=outage_code(exc) is None and not isinstance(exc, OSError),
            )
            self._ack_quietly(message)
            return result, exc_info

    def _ack_quietly(self, message) -> None:
        # the request is done: if its channel still lives, do not leave it unacked (it would
        # hold a prefetch slot); if the channel died, the broker has reclaimed it already
        try:
            self.rpc_consumer.consumer.ack_message(message)
        except Exception as exc:
            log.debug("rpc %s: ack after a lost reply failed: %r", self.method_name, exc)


def _answer_unavailable(method, service_method_name: str):
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ProblemError:
            raise
        except Exception as exc:
            code = outage_code(exc)
            if code is None:
                raise
            service = getattr(self, "name", "richiesto")
            log.warning("rpc %s.%s: %s (%s)", service, service_method_name, code, describe(exc))
            raise Unavailable(code, UNAVAILABLE_DETAIL[code].format(service=service)) from None

    # nameko checks the caller's arguments against the method's own signature
    guarded.__signature__ = inspect.signature(method)
    return guarded


def rpc(method=None, **options):
    """``@rpc`` or ``@rpc(expected_exceptions=...)``."""

    def decorate(method):
        return Rpc.decorator(**options)(_answer_unavailable(method, method.__name__))

    return decorate(method) if method is not None else decorate
