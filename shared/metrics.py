"""Prometheus metrics of every service (prometheus-client).

The counters and histograms below are module-level: the shared wrappers record into them
(``shared.consumer`` the retries and dead letters, ``shared.outbox`` what the relay
published, ``shared.db`` the duplicate deliveries the inbox skipped, ``shared.telemetry``
every worker's outcome and latency, the gateway's HTTP routes). Gauges that describe a
database (outbox backlog, notify's deliveries) are read at scrape time by
``DatabaseGauges``. ``shared.telemetry.Telemetry`` serves them on ``/metrics``.

Labels are bounded: a service, an event type (the contract's list), a method or route
template, a status, a reason code. Never an id, never a value a person typed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

_service = {"name": "-"}


def set_service(name: str) -> None:
    """The service this process runs (one nameko container per process)."""
    _service["name"] = name


def service() -> str:
    return _service["name"]


# latencies from 2.5 ms to 30 s: a handler, an RPC or an HTTP request
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

EVENTS_CONSUMED = Counter(
    "combid_events_consumed",
    "Events handled by this service's event handlers, by type and outcome (ok, failed)",
    ["service", "event_type", "outcome"],
)
EVENT_HANDLER_SECONDS = Histogram(
    "combid_event_handler_seconds",
    "Time an event handler took, by event type",
    ["service", "event_type"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_DUPLICATE = Counter(
    "combid_events_duplicate",
    "Deliveries of an event this service had already applied (skipped by the inbox)",
    ["service", "event_type"],
)
EVENTS_RETRIED = Counter(
    "combid_events_retried",
    "Failed deliveries sent to a delay queue to be tried again, by event type",
    ["service", "event_type"],
)
EVENTS_DEAD_LETTERED = Counter(
    "combid_events_dead_lettered",
    "Deliveries moved to a dead-letter queue, by event type and reason",
    ["service", "event_type", "reason"],
)
EVENTS_PUBLISHED = Counter(
    "combid_events_published",
    "Events the outbox relay published and the broker confirmed, by type",
    ["service", "event_type"],
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "combid_outbox_publish_failures",
    "Outbox rows whose publish failed (the row is retried, then parked)",
    ["service", "event_type"],
)
RPC_SECONDS = Histogram(
    "combid_rpc_seconds",
    "Time an RPC method took, by method and outcome (ok, refused: an expected error, error)",
    ["service", "method", "outcome"],
    buckets=LATENCY_BUCKETS,
)
HTTP_SECONDS = Histogram(
    "combid_http_request_seconds",
    "Time the gateway took to answer, by route template, HTTP method and status",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)


def event_type_label(event_type) -> str:
    from shared.events import EVENT_TYPES

    return event_type if event_type in EVENT_TYPES else "unknown"


def dead_lettered(event_type, reason: str) -> None:
    EVENTS_DEAD_LETTERED.labels(service(), event_type_label(event_type), reason or "unknown").inc()


def retried(event_type) -> None:
    EVENTS_RETRIED.labels(service(), event_type_label(event_type)).inc()


def published(event_type) -> None:
    EVENTS_PUBLISHED.labels(service(), event_type_label(event_type)).inc()


def publish_failed(event_type) -> None:
    OUTBOX_PUBLISH_FAILURES.labels(service(), event_type_label(event_type)).inc()


def duplicate(event_type) -> None:
    EVENTS_DUPLICATE.labels(service(), event_type_label(event_type)).inc()


# ---- gauges read from a service's database at scrape time ---------------------------------

# reader(session, service) -> metric families; each runs in the same read-only transaction
Reader = Callable[[object, str], Iterable[Metric]]


class DatabaseGauges:
    """A prometheus collector: at each scrape, the ``readers`` on the service's database,
    bounded by ``timeout`` seconds; ``combid_metrics_database_up`` says whether it worked
    (a scrape never fails, and never hangs, because the database does)."""

    def __init__(self, service_name: str, sessions, readers: Iterable[Reader], timeout: float = 2.0):
        self.service_name = service_name
        self.sessions = sessions
        self.readers = tuple(readers)
        self.timeout = timeout

    def describe(self):
        return []  # no query at registration; names are not checked for duplicates

    def collect(self):
        import eventlet

        families, up = [], 1.0
        try:
            with eventlet.Timeout(self.timeout), self.sessions() as session:
                for reader in self.readers:
                    families += list(reader(session, self.service_name))
                session.rollback()
        except BaseException as exc:  # eventlet.Timeout is a BaseException
            if not isinstance(exc, (Exception, eventlet.Timeout)):
                raise
            log.warning("metrics: database not readable (%s)", type(exc).__name__)
            families, up = [], 0.0
        database_up = GaugeMetricFamily(
            "combid_metrics_database_up",
            "1 if the last scrape read the service's database, else 0",
            labels=["service"],
        )
        database_up.add_metric([self.service_name], up)
        yield from families
        yield database_up
