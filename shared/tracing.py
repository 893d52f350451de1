"""OpenTelemetry traces across HTTP → RPC → events; off unless a collector is named.

``OTEL_EXPORTER_OTLP_ENDPOINT`` (in the environment, e.g. ``http://otel-collector:4318``)
turns tracing on: ``configure`` installs a tracer provider whose spans go out by OTLP over
HTTP in batches (the exporter reads the standard ``OTEL_*`` variables). Without it nothing
is started, no span is made and the envelopes do not change.

How the context travels (``shared.telemetry`` starts one span per worker):

- HTTP → gateway: the ``traceparent`` header of the request (W3C Trace Context), if any;
- gateway → service (RPC): nameko sends the worker's context data as AMQP headers, so the
  span's ``traceparent`` is put there and read back by the service's RPC worker;
- service → service (events): ``shared.events.make_event`` writes the current
  ``traceparent`` into the envelope (an optional field), which the outbox keeps with the
  event; the consumer's span is a child of it, however late the event is delivered.

Span names and attributes carry the service, the method or route template, the event type
and id: no personal data.
"""

from __future__ import annotations

import logging
import os
import re

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"
# version-traceid-spanid-flags, W3C Trace Context level 1
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\Z"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)

_propagator = TraceContextTextMapPropagator()
_state = {"enabled": False}


def enabled() -> bool:
    return _state["enabled"]


def configure(service: str, provider=None) -> bool:
    """Turn tracing on for this process if a collector is named (or a ``provider`` is given,
    as the tests do with an in-memory exporter). True if tracing is on."""
    if _state["enabled"]:
        return True
    if provider is None:
        if not os.environ.get(ENDPOINT_VARIABLE):
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": f"combid-{service}"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("tracing: spans exported by OTLP to %s", os.environ[ENDPOINT_VARIABLE])
    _state.update(enabled=True, provider=provider)
    return True


def disable() -> None:
    """Tests: back to no tracing."""
    _state.clear()
    _state["enabled"] = False


def tracer():
    return _state["provider"].get_tracer("combid")


def valid_traceparent(value) -> str | None:
    return value if isinstance(value, str) and _TRACEPARENT.match(value) else None


def extract(carrier) -> otel_context.Context | None:
    """The remote parent named by ``carrier``'s ``traceparent``, if it is well-formed."""
    if not carrier:
        return None
    value = valid_traceparent(carrier.get(TRACEPARENT))
    return _propagator.extract({TRACEPARENT: value}) if value else None


def current_traceparent() -> str | None:
    """The ``traceparent`` of the span running now, for an envelope or a call; None when
    tracing is off or no span runs."""
    if not _state["enabled"]:
        return None
    carrier: dict = {}
    _propagator.inject(carrier)
    return valid_traceparent(carrier.get(TRACEPARENT))


class WorkerSpan:
    """A span for one worker, made current in the worker's green thread until ``end``."""

    def __init__(self, name: str, kind: SpanKind, parent=None, attributes: dict | None = None):
        self.span = tracer().start_span(name, context=parent, kind=kind, attributes=attributes or {})
        self._token = otel_context.attach(trace.set_span_in_context(self.span))

    @property
    def ids(self) -> dict:
        context = self.span.get_span_context()
        return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}

    def end(self, error: str | None = None, status_code: int | None = None) -> None:
        if status_code is not None:
            self.span.set_attribute("http.response.status_code", status_code)
        if error:
            self.span.set_attribute("error.type", error)
            self.span.set_status(trace.Status(trace.StatusCode.ERROR))
        self.span.end()
        try:
            otel_context.detach(self._token)
        except Exception:  # another context (a worker killed midway): nothing to undo
            pass


def start_span(name: str, kind: SpanKind, parent_carrier=None, attributes: dict | None = None):
    """A ``WorkerSpan``, child of the parent named in ``parent_carrier``; None when off."""
    if not _state["enabled"]:
        return None
    return WorkerSpan(name, kind, extract(parent_carrier), attributes)
