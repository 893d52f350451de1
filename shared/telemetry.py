"""``Telemetry``: what an operator sees of one service process, in one line of the service::

    telemetry = Telemetry()                      # notify: Telemetry(deliveries_gauges)

- **metrics**: every worker's outcome and latency (event handlers by event type, RPC
  methods, the gateway's HTTP routes by template and status) into ``shared.metrics``;
  ``METRICS_PORT`` (config or environment; off when unset or 0) serves them on
  ``http://METRICS_HOST:METRICS_PORT/metrics`` (host 127.0.0.1 unless said), with the
  gauges read from the service's database at scrape time (outbox backlog and the age of
  its oldest row, and the ``readers`` given, e.g. notify's deliveries by channel and status);
- **probes** on the same port, for Kubernetes: ``/livez`` answers while the process and its
  container run; ``/readyz`` answers 200 when this process reaches the broker and its own
  ``health`` RPC method, run here in this process (not through the broker, which would
  ask any replica), passes: database, storage. 503 with the failing part otherwise;
- **logs**: the worker's ids (event id and type, correlation id, the HTTP request id) bound
  to every line it writes (``shared.logs``, shown by the JSON format);
- **traces**: a span per worker when tracing is on (``shared.tracing``).

Timers get no span and no log ids (they run every fraction of a second): their own work
(the outbox relay's publishes) is counted by the shared code that does it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable

import eventlet
import eventlet.wsgi
from eventlet.event import Event as Outcome
from nameko import config
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY, make_wsgi_app

from shared import logs, metrics, tracing
from shared.consumer import EventHandler
from shared.errors import ProblemError
from shared.outbox import outbox_gauges

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 4.0
BROKER_TIMEOUT_SECONDS = 2.0
# the readiness answer is kept this long: a probe and a scrape together cost one check
READY_CACHE_SECONDS = 2.0
# the X-Request-ID the gateway keeps (gateway.api.base.correlation_id: the same rule)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


def _setting(key: str, default=None):
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key)
    return default if value in (None, "") else value


def metrics_address() -> tuple[str, int] | None:
    """(host, port) to serve /metrics and the probes on, or None when off."""
    port = int(_setting("METRICS_PORT", 0))
    return (str(_setting("METRICS_HOST", "127.0.0.1")), port) if port else None


class Telemetry(DependencyProvider):
    def __init__(self, *readers: metrics.Reader):
        self.readers = readers
        self._workers: dict = {}
        self._server = None
        self._socket = None
        self._collector = None
        self._engine = None
        self._ready_cache: tuple[float, int, dict] | None = None

    # ---- container lifecycle ---------------------------------------------------------------

    def setup(self):
        service = self.container.service_name
        metrics.set_service(service)
        tracing.configure(service)
        address = metrics_address()
        if address is None:
            return
        # bound now: a port already taken stops the service at start, where it shows
        self._socket = eventlet.listen(address)
        if config.get("DATABASE_URL"):
            from sqlalchemy.orm import sessionmaker

            from shared.db import cooperative_psycopg, make_engine

            cooperative_psycopg()
            self._engine = make_engine(config["DATABASE_URL"], pool_size=1)
            self._collector = metrics.DatabaseGauges(
                service,
                sessionmaker(self._engine),
                (outbox_gauges, *self.readers),
            )
            REGISTRY.register(self._collector)

    def start(self):
        if self._socket is not None:
            self._server = eventlet.spawn(self._serve)

    def _serve(self):
        eventlet.wsgi.server(self._socket, self.wsgi_app, log_output=False, debug=False)

    def stop(self):
        if self._server is not None:
            self._server.kill()
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._collector is not None:
            REGISTRY.unregister(self._collector)
            self._collector = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    kill = stop

    # ---- the HTTP endpoints ----------------------------------------------------------------

    def wsgi_app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return make_wsgi_app(REGISTRY)(environ, start_response)
        if path == "/livez":
            return _json(start_response, 200, {"status": "ok", "service": self.container.service_name})
        if path == "/readyz":
            status, body = self.readiness()
            return _json(start_response, status, body)
        return _json(start_response, 404, {"status": "not_found"})

    def readiness(self) -> tuple[int, dict]:
        now = time.monotonic()
        if self._ready_cache and now - self._ready_cache[0] < READY_CACHE_SECONDS:
            return self._ready_cache[1], self._ready_cache[2]
        checks = {"broker": _failure_or_ok(self._check_broker)}
        health = self._health_entrypoint()
        if health is not None:
            checks["health"] = _failure_or_ok(lambda: self._run_locally(health))
        failing = {name: reason for name, reason in checks.items() if reason != "ok"}
        if failing:
            log.warning("readiness: failing %s", failing)
        body = {
            "status": "ready" if not failing else "not_ready",
            "service": self.container.service_name,
            "checks": {name: "ok" if reason == "ok" else "failing" for name, reason in checks.items()},
        }
        status = 503 if failing else 200
        self._ready_cache = (now, status, body)
        return status, body

    def _check_broker(self) -> None:
        from kombu import Connection

        with Connection(config["AMQP_URI"], connect_timeout=BROKER_TIMEOUT_SECONDS) as connection:
            with eventlet.Timeout(BROKER_TIMEOUT_SECONDS + 1):
                connection.connect()

    def _health_entrypoint(self):
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, Rpc) and entrypoint.method_name == "health":
                return entrypoint
        return None

    def _run_locally(self, entrypoint) -> None:
        """The service's ``health`` method in a worker of this process; raise if it fails."""
        outcome = Outcome()

        def handle_result(worker_ctx, result, exc_info):
            outcome.send((result, exc_info))
            return result, exc_info

        self.container.spawn_worker(entrypoint, (), {}, handle_result=handle_result)
        with eventlet.Timeout(READY_TIMEOUT_SECONDS):
            _, exc_info = outcome.wait()
        if exc_info is not None:
            raise exc_info[1]

    # ---- workers ---------------------------------------------------------------------------

    def get_dependency(self, worker_ctx):
        return self

    def worker_setup(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, EventHandler):
            event = worker_ctx.args[0]
            fields = {
                "event_type": event.type,
                "event_id": event.event_id,
                "correlation_id": event.correlation_id,
            }
            span = tracing.start_span(
                f"{event.type} process",
                SpanKind.CONSUMER,
                {tracing.TRACEPARENT: event.traceparent},
                {
                    "messaging.operation": "process",
                    "combid.event_type": event.type,
                    "combid.event_id": event.event_id,
                },
            )
        elif isinstance(entrypoint, HttpRequestHandler):
            request = worker_ctx.args[0]
            request_id = _request_id(request)
            worker_ctx.data["request_id"] = request_id  # nameko sends it along with each RPC call
            fields = {"request_id": request_id}
            route = _route(worker_ctx)
            span = tracing.start_span(
                f"{entrypoint.method} {route}",
                SpanKind.SERVER,
                request.headers,
                {"http.request.method": entrypoint.method, "http.route": route},
            )
        elif isinstance(entrypoint, Rpc):
            fields = {"request_id": worker_ctx.data.get("request_id")}
            span = tracing.start_span(
                f"{worker_ctx.service_name}.{entrypoint.method_name}",
                SpanKind.SERVER,
                worker_ctx.data,
                {"rpc.system": "nameko", "rpc.method": entrypoint.method_name},
            )
        else:
            return  # timers: see the module's doc
        if span is not None:
            fields.update(span.ids)
            # what this worker calls by RPC continues the trace (nameko sends context data)
            worker_ctx.data[tracing.TRACEPARENT] = tracing.current_traceparent()
        fields["entrypoint"] = entrypoint.method_name
        self._workers[worker_ctx] = (time.perf_counter(), span, logs.bind(**fields))

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._workers.get(worker_ctx)
        if started is None:
            return
        elapsed = time.perf_counter() - started[0]
        entrypoint, service, status = worker_ctx.entrypoint, worker_ctx.service_name, None
        error = exc_info[0].__name__ if exc_info else None
        if isinstance(entrypoint, EventHandler):
            event_type = metrics.event_type_label(entrypoint.event_type)
            metrics.EVENTS_CONSUMED.labels(service, event_type, "failed" if exc_info else "ok").inc()
            metrics.EVENT_HANDLER_SECONDS.labels(service, event_type).observe(elapsed)
        elif isinstance(entrypoint, HttpRequestHandler):
            status = getattr(result, "status_code", 500 if exc_info else 200)
            metrics.HTTP_SECONDS.labels(_route(worker_ctx), entrypoint.method, str(status)).observe(elapsed)
            error = error or (str(status) if status >= 500 else None)
        elif isinstance(entrypoint, Rpc):
            if exc_info is None:
                outcome = "ok"
            elif issubclass(exc_info[0], ProblemError):
                outcome, error = "refused", None  # an answer, not a fault
            else:
                outcome = "error"
            metrics.RPC_SECONDS.labels(service, entrypoint.method_name, outcome).observe(elapsed)
        if started[1] is not None:
            started[1].end(error, status)

    def worker_teardown(self, worker_ctx):
        started = self._workers.pop(worker_ctx, None)
        if started is not None:
            logs.unbind(started[2])


def _route(worker_ctx) -> str:
    """The route's template as the OpenAPI document writes it (``/api/v1/requests/{request_id}``,
    from the gateway's ``route`` declaration), else nameko's URL rule."""
    handler = getattr(type(getattr(worker_ctx, "service", None)), worker_ctx.entrypoint.method_name, None)
    declared = getattr(handler, "route", None)
    return getattr(declared, "path", None) or worker_ctx.entrypoint.url


def _request_id(request) -> str:
    """The request's ``X-Request-ID`` if it is one the gateway keeps, else a new one,
    written back into the request so that the events' correlation id (which the gateway
    takes from that header), the logs and the RPC calls all carry the same."""
    given = request.headers.get("X-Request-ID") or ""
    request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
    request.environ["HTTP_X_REQUEST_ID"] = request_id
    return request_id


def _failure_or_ok(check) -> str:
    try:
        check()
    except BaseException as exc:
        if not isinstance(exc, (Exception, eventlet.Timeout)):
            raise
        return f"{exc.__class__.__name__}: {exc}"[:200]
    return "ok"


def _json(start_response, status: int, body: dict) -> Iterable[bytes]:
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    data = json.dumps(body).encode()
    start_response(
        f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
