"""Transactional outbox.

A service adds its events with ``add_event(session, event)`` inside the same transaction
as its state change: both commit or neither does. ``relay_pending`` (run by each
service's ``OutboxRelay`` on a short timer) publishes unpublished rows in creation order
with publisher confirms and ``mandatory`` set (an event no queue is bound for raises
instead of vanishing), then marks them published. A crash between publish and mark
republishes: consumers dedupe.

The relay never stalls:

- a broker or database outage stops the round and counts against no row: the next tick
  tries again, and the relay resumes by itself when the dependency is back;
- any other failure is the row's own (e.g. a ``correlation_id`` over 255 bytes that AMQP
  cannot carry): the row's attempts grow, and after ``OUTBOX_MAX_ATTEMPTS`` (5) it is
  *parked* (kept, with its error and ``parked_at``), while the relay goes on with the
  rows after it;
- a request's events keep their order: rows with the same ``aggregate_key`` (the
  payload's ``request_id``, else the event's own id) wait while an earlier one is parked
  or failed in this round.

One relay per service database works at a time (a transaction-scoped advisory lock):
several instances of a service may run, the others skip the tick, so no instance
publishes a request's later event while another still holds its earlier one.

Latency: a transaction that added events wakes its process's relay as soon as it commits
(``add_event`` hooks the session's ``after_commit``), so an event leaves about a
millisecond after its commit instead of half a timer interval later on average; the
service's timer stays as the safety net (a wake-up lost to a crash, rows of a process
that died, a round that met an outage). Within a process rounds never overlap (a lock),
and a woken round that finds another instance holding the database's lock tries again
shortly, so its rows do not wait for the next tick.

Parked rows are listed and put back in the queue by hand, once the cause is fixed::

    python -m shared.outbox list  [--service intake] [--event-id ID ...]
    python -m shared.outbox retry [--service intake] [--event-id ID ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import eventlet
from eventlet.event import Event as Signal
from eventlet.semaphore import Semaphore
from nameko import config
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import aliased, sessionmaker

from shared import metrics
from shared.db import OutboxMessage, cooperative_psycopg, make_engine
from shared.events import Event
from shared.messaging import events_exchange
from shared.outages import BROKER_UNAVAILABLE, describe, error_class, outage_code

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5
BATCH_SIZE = 200
# the services' relay timer: only the safety net now that a commit wakes the relay (an idle
# round is a few statements; five services polling five times a second cost a busy machine)
RELAY_INTERVAL_SECONDS = 1.0
# pg advisory lock key of the relay (any constant: each service has its own database)
RELAY_LOCK_KEY = 0x636F6D626964  # "combid"


def aggregate_key(event: Event) -> str:
    return str(event.payload.get("request_id") or event.event_id)


# relays of this process by database URL, woken when a transaction that added events commits
_relays: dict[str, list[OutboxRelay]] = {}
_WAKE_HOOKED = "combid_outbox_wake"


def _wake_relays(session) -> None:
    bind = session.info.pop(_WAKE_HOOKED, None)
    for relay in _relays.get(bind, ()):
        relay.wake()


def add_event(session, event: Event) -> None:
    if _relays and _WAKE_HOOKED not in session.info:
        session.info[_WAKE_HOOKED] = str(session.get_bind().url)
        sa_event.listen(session, "after_commit", _wake_relays, once=True)
    session.add(
        OutboxMessage(
            event_id=uuid.UUID(event.event_id),
            event_type=event.type,
            body=event.to_message(),
            created_at=event.occurred_at,
            attempts=0,
            aggregate_key=aggregate_key(event),
        )
    )


def event_publisher(amqp_uri: str) -> Publisher:
    return Publisher(
        amqp_uri, use_confirms=True, mandatory=True, serializer="json", declare=[events_exchange]
    )


def publish_envelope(publisher: Publisher, body: dict) -> None:
    publisher.publish(
        body,
        exchange=events_exchange,
        routing_key=body["type"],
        message_id=body["event_id"],
        correlation_id=body["correlation_id"],
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0  # rows whose publish failed this round (parked ones included)
    parked: int = 0
    held: int = 0  # rows left for later behind an earlier row of their request
    outage: str | None = None  # broker_unavailable when the round stopped on an outage
    skipped: bool = False  # another instance holds the relay lock


def _publishable():
    """Unpublished, unparked rows with no parked row of the same request, oldest first."""
    parked = aliased(OutboxMessage)
    blocked = exists().where(
        parked.aggregate_key == OutboxMessage.aggregate_key,
        parked.published_at.is_(None),
        parked.parked_at.is_not(None),
    )
    return (
        select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None), OutboxMessage.parked_at.is_(None), ~blocked)
        .order_by(OutboxMessage.created_at, OutboxMessage.event_id)
    )


# A round's statements, built once: at moderate rates a commit wakes a round for one or two
# events, and building these each time cost more CPU than running them.
_RELAY_LOCK = select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))
_NEXT_BATCH = _publishable().limit(bindparam("batch_size")).with_for_update(skip_locked=True)
_OUTBOX = OutboxMessage.__table__
_MARK_PUBLISHED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.event_id.in_(bindparam("published_ids", expanding=True)))
    .values(published_at=bindparam("published_at"))
)


def relay_pending(
    sessions: sessionmaker,
    publisher: Publisher,
    batch_size: int = BATCH_SIZE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> RelayResult:
    """Publish up to ``batch_size`` pending events (see the module's docstring)."""
    result = RelayResult()
    with sessions.begin() as session:
        if not session.scalar(_RELAY_LOCK):
            result.skipped = True
            return result
        rows = session.scalars(_NEXT_BATCH, {"batch_size": batch_size}).all()
        stopped_keys: set[str] = set()
        published_ids = []
        for row in rows:
            key = row.aggregate_key or str(row.event_id)
            if key in stopped_keys:
                result.held += 1
                continue
            try:
                publish_envelope(publisher, row.body)
            except Exception as exc:
                if outage_code(exc) or isinstance(exc, OSError):
                    # every row would fail the same way: stop, blame no row, retry next tick
                    result.outage = BROKER_UNAVAILABLE
                    break
                stopped_keys.add(key)
                metrics.publish_failed(row.event_type)
                result.failed += 1
                result.parked += _record_failure(row, exc, max_attempts)
                continue
            published_ids.append(row.event_id)
            metrics.published(row.event_type)
            result.published += 1
        if published_ids:
            # one statement for the round, not an UPDATE per row
            session.execute(_MARK_PUBLISHED, {"published_ids": published_ids, "published_at": _now()})
    return result


def _record_failure(row: OutboxMessage, exc: Exception, max_attempts: int) -> int:
    """Count a failed publish against the row; park it at ``max_attempts``. 1 if parked."""
    row.attempts += 1
    # the database keeps the full error for `list`; logs get the class and the ids only
    row.last_error = f"{error_class(exc)}: {exc}"[:1000]
    if row.attempts >= max_attempts:
        row.parked_at = _now()
        log.error(
            "outbox: event %s (%s) parked after %s failed publishes: %s",
            row.event_id,
            row.event_type,
            row.attempts,
            error_class(exc),
        )
        return 1
    log.warning(
        "outbox: publish of event %s (%s) failed, attempt %s of %s: %s",
        row.event_id,
        row.event_type,
        row.attempts,
        max_attempts,
        error_class(exc),
    )
    return 0


# ---- status and operators' commands -------------------------------------------------------


def _age_seconds(instant: datetime | None, now: datetime) -> float | None:
    return None if instant is None else round(max(0.0, (now - instant).total_seconds()), 1)


def outbox_summary(session, now: datetime | None = None) -> dict:
    """Backlog and parked rows: counts and the age of the oldest of each."""
    now = now or _now()
    unpublished = OutboxMessage.published_at.is_(None)
    parked_at = OutboxMessage.parked_at
    pending, oldest_pending = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(unpublished, parked_at.is_(None))
    ).one()
    parked, oldest_parked = session.execute(
        select(func.count(), func.min(parked_at)).where(unpublished, parked_at.is_not(None))
    ).one()
    return {
        "pending": pending,
        "oldest_pending_age_seconds": _age_seconds(oldest_pending, now),
        "parked": parked,
        "oldest_parked_age_seconds": _age_seconds(oldest_parked, now),
    }


def outbox_gauges(session, service: str) -> list[GaugeMetricFamily]:
    """The backlog for Prometheus, read at scrape time (``shared.metrics.DatabaseGauges``)."""
    summary = outbox_summary(session)
    families = []
    for name, key, text in (
        ("combid_outbox_pending", "pending", "Outbox rows not yet published (parked ones apart)"),
        (
            "combid_outbox_oldest_pending_age_seconds",
            "oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none)",
        ),
        ("combid_outbox_parked", "parked", "Outbox rows set aside after too many failed publishes"),
    ):
        family = GaugeMetricFamily(name, text, labels=["service"])
        family.add_metric([service], float(summary[key] or 0))
        families.append(family)
    return families


def _parked_filter(event_ids):
    condition = [OutboxMessage.published_at.is_(None), OutboxMessage.parked_at.is_not(None)]
    if event_ids:
        condition.append(OutboxMessage.event_id.in_([uuid.UUID(str(e)) for e in event_ids]))
    return condition


def parked_rows(session, event_ids=None) -> list[OutboxMessage]:
    return session.scalars(
        select(OutboxMessage).where(*_parked_filter(event_ids)).order_by(OutboxMessage.created_at)
    ).all()


def unpark(session, event_ids=None) -> list[str]:
    """Put parked rows back in the relay's queue (attempts start again); returns their ids."""
    statement = (
        update(OutboxMessage)
        .where(*_parked_filter(event_ids))
        .values(parked_at=None, attempts=0)
        .returning(OutboxMessage.event_id)
    )
    return [str(event_id) for event_id in session.scalars(statement).all()]


class OutboxRelay(DependencyProvider):
    """Owns its own engine and publisher; the service calls ``self.outbox.relay()`` from a timer.

    An outage is logged once when it starts and once when it ends, not on every tick.
    """

    # a woken round that met another instance's round tries again this often, this many times
    LOCKED_RETRY_SECONDS = 0.02
    LOCKED_RETRIES = 10

    def __init__(self, url_key: str = "DATABASE_URL"):
        self.url_key = url_key
        self.outage: str | None = None
        self._wanted = None
        self._round = None
        self._url = None

    def setup(self):
        cooperative_psycopg()
        self.engine = make_engine(config[self.url_key], pool_size=2)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.publisher = event_publisher(config["AMQP_URI"])
        self.max_attempts = int(config.get("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
        self._wanted, self._round = Signal(), Semaphore()
        self._url = str(self.engine.url)

    def start(self):
        _relays.setdefault(self._url, []).append(self)
        self.container.spawn_managed_thread(self._relay_when_woken, identifier="outbox_relay_on_commit")

    def stop(self):
        relays = _relays.get(self._url, [])
        if self in relays:
            relays.remove(self)
        self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def wake(self) -> None:
        """A transaction with events committed: run a round soon, off the committing worker."""
        if self._wanted is not None and not self._wanted.ready():
            self._wanted.send()

    def _relay_when_woken(self):
        while True:
            self._wanted.wait()
            self._wanted.reset()
            try:
                for _ in range(self.LOCKED_RETRIES):
                    result = self.relay()
                    if result.skipped:
                        eventlet.sleep(self.LOCKED_RETRY_SECONDS)
                    elif result.published + result.held + result.failed < BATCH_SIZE:
                        break
            except Exception:  # the timer's round will report it; this thread must live on
                log.exception("outbox: relay after commit failed")
                eventlet.sleep(1.0)

    def relay(self) -> RelayResult:
        with self._round:
            return self._relay_round()

    def _relay_round(self) -> RelayResult:
        try:
            result = relay_pending(self.sessions, self.publisher, max_attempts=self.max_attempts)
        except Exception as exc:
            code = outage_code(exc)
            if code is None:
                raise
            self._outage_started(code, describe(exc))
            return RelayResult(outage=code)
        if result.outage:
            self._outage_started(result.outage, "publish failed")
        elif self.outage:
            log.info("outbox: relay resumed after %s", self.outage)
            self.outage = None
        return result

    def _outage_started(self, code: str, detail: str) -> None:
        if self.outage != code:
            log.warning("outbox: relay waiting, %s (%s)", code, detail)
        self.outage = code


# ---- command ------------------------------------------------------------------------------


def _database_urls(services: list[str]) -> dict[str, str]:
    from shared.migrations import database_url

    return {service: database_url(service) for service in services}


def _events(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _print_list(service: str, session, event_ids) -> None:
    summary = outbox_summary(session)
    rows = parked_rows(session, event_ids)
    print(
        f"{service}: {_events(summary['parked'], 'evento parcheggiato', 'eventi parcheggiati')}, "
        f"{summary['pending']} in attesa di pubblicazione"
    )
    for row in rows:
        key = row.aggregate_key or str(row.event_id)
        about = "nessuna richiesta" if key == str(row.event_id) else f"richiesta {key}"
        print(
            f"  {row.event_id}  {row.event_type}  {about}  "
            f"tentativi {row.attempts}  parcheggiato il {row.parked_at.isoformat(timespec='seconds')}"
        )
        print(f"      errore: {row.last_error}")


def _retry(service: str, session, event_ids) -> bool:
    ids = unpark(session, event_ids)
    if ids:
        moved = _events(len(ids), "evento rimesso", "eventi rimessi")
        print(f"{service}: {moved} in coda, il relay del servizio pubblicherà a breve")
    else:
        print(f"{service}: nessun evento parcheggiato da rimettere in coda")
    missing = sorted({str(e) for e in event_ids or []} - set(ids))
    if missing and event_ids:
        print(f"{service}: non parcheggiati (o già pubblicati): {', '.join(missing)}")
    return not missing


def main(argv: list[str] | None = None) -> int:
    from shared.migrations import SERVICES_WITH_DATABASE

    parser = argparse.ArgumentParser(
        prog="python -m shared.outbox",
        description="Eventi dell'outbox che il relay non è riuscito a pubblicare",
    )
    parser.add_argument("action", choices=["list", "retry"], help="list: elenca; retry: rimette in coda")
    parser.add_argument(
        "--service", choices=SERVICES_WITH_DATABASE, action="append", help="servizio (ripetibile)"
    )
    parser.add_argument("--event-id", action="append", help="solo questi eventi (ripetibile)")
    args = parser.parse_args(argv)
    for event_id in args.event_id or []:
        try:
            uuid.UUID(event_id)
        except ValueError:
            parser.error(f"identificativo di evento non valido: {event_id}")
    services = args.service or list(SERVICES_WITH_DATABASE)
    if args.event_id and len(services) > 1:
        parser.error("con --event-id indicare anche --service")
    ok = True
    for service, url in _database_urls(services).items():
        engine = make_engine(url, pool_size=1)
        try:
            with sessionmaker(engine).begin() as session:
                if args.action == "list":
                    _print_list(service, session, args.event_id)
                else:
                    ok = _retry(service, session, args.event_id) and ok
        except Exception as exc:
            if outage_code(exc) is None:
                raise
            print(f"{service}: database non raggiungibile ({exc.__class__.__name__})", file=sys.stderr)
            ok = False
        finally:
            engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
