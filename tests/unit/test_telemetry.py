"""shared.telemetry's worker hooks, shared.tracing and shared.logs, without a broker: one trace
across HTTP → RPC → event (spans kept by an in-memory exporter), the metrics each worker
records, the ids on the log lines, and nothing at all when tracing is off."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from deploy.local.stack import instance_names, parse_scale, service_of
from gateway.entrypoints import ProblemHttpHandler
from shared import logs, metrics, tracing
from shared.consumer import EventHandler
from shared.errors import ProblemError
from shared.events import make_event, parse_event
from shared.outbox import outbox_gauges
from shared.rpc import Rpc
from shared.telemetry import Telemetry


class Worker:
    """What the hooks read of a nameko WorkerContext."""

    def __init__(self, service_name, entrypoint, args=(), data=None):
        self.service_name, self.entrypoint, self.args = service_name, entrypoint, args
        self.data = data if data is not None else {}


def bound(entrypoint, method_name):
    entrypoint.method_name = method_name
    return entrypoint


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def exporter():
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.disable()
    tracing.configure("test", provider=provider)
    yield spans
    tracing.disable()


def reminded(request_id):
    return {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "actor": "sistema",
        "actor_role": "sistema",
        "at": datetime.now(UTC).isoformat(),
        "days_waited": 15,
    }


def test_one_trace_from_http_through_rpc_to_the_event_consumer(exporter):
    telemetry = Telemetry()
    request_id = str(uuid.uuid4())
    http_request = Request(
        EnvironBuilder(path="/api/v1/requests", headers={"X-Request-ID": "req-42"}).get_environ()
    )
    http = Worker("gateway", bound(ProblemHttpHandler("POST", "/api/v1/requests"), "submit"), (http_request,))
    telemetry.worker_setup(http)
    # what nameko sends along with an RPC call: the HTTP worker's context data
    assert http.data["request_id"] == "req-42"
    call = Worker("intake", bound(Rpc(), "submit_request"), data=dict(http.data))
    telemetry.worker_setup(call)
    assert logs.current()["request_id"] == "req-42"
    event = make_event("request_reminded", reminded(request_id), producer="intake", correlation_id="req-42")
    telemetry.worker_result(call, result={"id": request_id})
    telemetry.worker_teardown(call)
    telemetry.worker_result(http, result=Response(status=201))
    telemetry.worker_teardown(http)

    # the envelope carries the trace context through the outbox and the broker
    received = parse_event(json.loads(json.dumps(event.to_message())))
    assert received.traceparent == event.traceparent
    consumer = Worker("reporting", EventHandler("request_reminded"), (received,))
    telemetry.worker_setup(consumer)
    assert logs.current()["event_id"] == event.event_id
    telemetry.worker_result(consumer)
    telemetry.worker_teardown(consumer)

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"POST /api/v1/requests", "intake.submit_request", "request_reminded process"}
    http_span, rpc_span, consumer_span = (
        spans["POST /api/v1/requests"],
        spans["intake.submit_request"],
        spans["request_reminded process"],
    )
    assert len({span.context.trace_id for span in spans.values()}) == 1
    assert http_span.parent is None and http_span.kind == SpanKind.SERVER
    assert rpc_span.parent.span_id == http_span.context.span_id
    assert consumer_span.parent.span_id == rpc_span.context.span_id
    assert consumer_span.kind == SpanKind.CONSUMER
    assert http_span.attributes["http.response.status_code"] == 201
    assert consumer_span.attributes["combid.event_id"] == event.event_id
    assert logs.current() == {}  # every worker's ids are gone with it


def test_a_traceparent_header_from_the_caller_is_the_parent(exporter):
    outside = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    request = Request(EnvironBuilder(path="/health", headers={"traceparent": outside}).get_environ())
    worker = Worker("gateway", bound(ProblemHttpHandler("GET", "/health"), "health"), (request,))
    telemetry = Telemetry()
    telemetry.worker_setup(worker)
    telemetry.worker_result(worker, result=Response(status=200))
    telemetry.worker_teardown(worker)
    (span,) = exporter.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"


def test_without_a_collector_nothing_is_traced_and_the_envelope_is_unchanged(monkeypatch):
    tracing.disable()
    monkeypatch.delenv(tracing.ENDPOINT_VARIABLE, raising=False)
    assert tracing.configure("test") is False
    worker = Worker("intake", bound(Rpc(), "submit_request"), data={"traceparent": "garbage"})
    telemetry = Telemetry()
    telemetry.worker_setup(worker)
    event = make_event("request_reminded", reminded(str(uuid.uuid4())), producer="intake")
    telemetry.worker_result(worker)
    telemetry.worker_teardown(worker)
    assert event.traceparent is None and "traceparent" not in event.to_message()
    assert "trace_id" not in logs.current()


def test_an_envelope_with_a_malformed_traceparent_is_refused():
    message = make_event("request_reminded", reminded(str(uuid.uuid4())), producer="intake").to_message()
    message["traceparent"] = "00-not-a-trace"
    with pytest.raises(Exception, match="invalid_envelope"):
        parse_event(message)


def test_workers_are_counted_by_kind_outcome_and_label():
    metrics.set_service("unit")
    telemetry = Telemetry()
    labels = {"service": "unit", "event_type": "request_routed"}
    ok_before = sample("combid_events_consumed_total", outcome="ok", **labels)
    failed_before = sample("combid_events_consumed_total", outcome="failed", **labels)
    histogram_before = sample("combid_event_handler_seconds_count", **labels)
    event = make_event(
        "request_reminded", reminded(str(uuid.uuid4())), producer="intake"
    )  # any parsed event: the handler's type labels it
    for exc_info in (None, (RuntimeError, RuntimeError(), None)):
        worker = Worker("unit", EventHandler("request_routed"), (event,))
        telemetry.worker_setup(worker)
        telemetry.worker_result(worker, exc_info=exc_info)
        telemetry.worker_teardown(worker)
    assert sample("combid_events_consumed_total", outcome="ok", **labels) == ok_before + 1
    assert sample("combid_events_consumed_total", outcome="failed", **labels) == failed_before + 1
    assert sample("combid_event_handler_seconds_count", **labels) == histogram_before + 2

    refused_before = sample("combid_rpc_seconds_count", service="unit", method="decide", outcome="refused")
    worker = Worker("unit", bound(Rpc(), "decide"))
    telemetry.worker_setup(worker)
    telemetry.worker_result(worker, exc_info=(ProblemError, ProblemError("x", "y"), None))
    telemetry.worker_teardown(worker)
    assert sample("combid_rpc_seconds_count", service="unit", method="decide", outcome="refused") == (
        refused_before + 1
    )

    route = "/api/v1/requests/<uuid:request_id>"
    http_before = sample("combid_http_request_seconds_count", route=route, method="GET", status="404")
    request = Request(EnvironBuilder(path="/api/v1/requests/x").get_environ())
    worker = Worker("gateway", bound(ProblemHttpHandler("GET", route), "detail"), (request,))
    telemetry.worker_setup(worker)
    telemetry.worker_result(worker, result=Response(status=404))
    telemetry.worker_teardown(worker)
    assert sample("combid_http_request_seconds_count", route=route, method="GET", status="404") == (
        http_before + 1
    )
    # a request without a usable X-Request-ID gets one, which the gateway then reads
    assert uuid.UUID(request.headers["X-Request-ID"])


def test_json_lines_carry_the_worker_ids_and_nothing_else():
    formatter = logs.JsonFormatter(service="routing")
    token = logs.bind(
        event_id="e-1", event_type="request_submitted", correlation_id="c-1", codice_fiscale="X"
    )
    try:
        record = logging.LogRecord("routing", logging.WARNING, __file__, 1, "routed %s", ("ok",), None)
        line = json.loads(formatter.format(record))
    finally:
        logs.unbind(token)
    assert line["service"] == "routing" and line["message"] == "routed ok" and line["level"] == "WARNING"
    assert (line["event_id"], line["event_type"], line["correlation_id"]) == (
        "e-1",
        "request_submitted",
        "c-1",
    )
    assert "codice_fiscale" not in line  # only the known id fields are ever bound
    assert logs.current() == {}


def test_database_gauges_say_when_the_database_cannot_be_read():
    def unreachable():
        raise ConnectionError("no database")

    families = list(metrics.DatabaseGauges("unit", unreachable, [outbox_gauges]).collect())
    assert [family.name for family in families] == ["combid_metrics_database_up"]
    assert families[0].samples[0].value == 0.0


def test_scale_names_the_extra_instances():
    scale = parse_scale("routing=2, notify=3")
    assert instance_names(["intake", "routing", "notify"], scale) == [
        "intake",
        "routing",
        "notify",
        "routing-2",
        "notify-2",
        "notify-3",
    ]
    assert service_of("notify-3") == "notify" and service_of("gateway") == "gateway"
    for wrong in ("routing", "routing=0", "nobody=2", "routing=99"):
        with pytest.raises(ValueError):
            parse_scale(wrong)
