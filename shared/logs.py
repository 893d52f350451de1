"""Log lines as JSON objects, one a line, for a log collector (``LOG_FORMAT=json``).

Each service's ``config.yml`` declares two formatters, ``plain`` (the default) and
``json``, and its handler uses ``${LOG_FORMAT:plain}``. A JSON line holds::

    {"time": "...", "level": "INFO", "service": "routing", "logger": "...",
     "message": "...", "entrypoint": "on_request_submitted", "event_type": "request_submitted",
     "event_id": "...", "correlation_id": "...", "request_id": "...", "trace_id": "..."}

The ids come from the worker the line was written in (``shared.telemetry`` sets them when a
worker starts, ``bind``): the event's id, type and correlation id for an event handler, the
HTTP request's ``X-Request-ID`` at the gateway and in the RPC calls it makes. They are ids,
never personal data; the message is the same text the plain format prints (the project's
log lines carry codes and ids only, and the filters in ``shared.consumer`` and
``gateway.entrypoints`` already strip exception texts and query strings).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

# One context per worker: each nameko worker runs in its own green thread, and every
# green thread starts with an empty context (greenlet keeps a context per greenlet).
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("combid_log_context", default=None)

FIELDS = ("entrypoint", "event_type", "event_id", "correlation_id", "request_id", "trace_id", "span_id")


def bind(**fields) -> contextvars.Token:
    """Add ``fields`` (those of ``FIELDS`` with a value) to the current worker's log lines."""
    current = dict(_context.get() or {})
    current.update({key: str(value) for key, value in fields.items() if key in FIELDS and value})
    return _context.set(current)


def unbind(token: contextvars.Token) -> None:
    try:
        _context.reset(token)
    except ValueError:  # set in another context (a worker killed midway): nothing to undo
        pass


def current() -> dict:
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """``service``: the service's name, given in its config.yml."""

    def __init__(self, service: str = "-", **kwargs):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(current())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)
