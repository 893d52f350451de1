"""Sending queued deliveries: lease, send, record; transient failures retried with backoff.

An event's handler only *queues* its deliveries (rows with the whole text, in the event's
unit of work). Sending happens here, outside any transaction:

1. **lease** due rows (``FOR UPDATE SKIP LOCKED``, then ``next_attempt_at`` pushed a lease
   ahead and ``attempts`` counted) in a short transaction of its own, so two notify
   instances never send the same row at once and no connection is held across a send;
2. **send** each through its channel's adapter;
3. **record** the outcome: ``sent``, ``failed`` with the reason (a permanent refusal, or
   transient ones for longer than the retry window), or still ``queued`` with the next
   attempt backed off. The record is retried through a short database outage, so a send
   that went through is almost never sent again; if the process dies in between, the lease
   runs out and the row is sent again with the same delivery id, hence the same e-mail
   ``Message-ID``, which the receiving side deduplicates.

An event's handler leases its own rows in the event's transaction and sends them right after
the commit (low latency, one transaction fewer); a timer picks up everything else that is
due (retries, rows left by a crash).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from services.notify.channels import Envelope, PermanentDeliveryError, attachments_from_json
from services.notify.models import STATUS_FAILED, STATUS_QUEUED, STATUS_SENT, STATUS_SKIPPED, Delivery
from services.notify.sms import NO_SMS_PROVIDER

log = logging.getLogger(__name__)

ERROR_MAX = 500  # characters of an error message kept on the row
NO_PROVIDER = {"sms": NO_SMS_PROVIDER, "email": "server di posta non configurato"}


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_seconds: float = 5.0
    max_delay_seconds: float = 60.0
    # transient failures for longer than this (from the delivery's creation) fail it for good
    give_up_after_seconds: float = 3600.0
    # a leased row not recorded within this time (the sender died) is due again
    lease_seconds: float = 120.0
    # how long the outcome of a send is retried against the database before giving up on it
    record_for_seconds: float = 60.0

    @classmethod
    def from_config(cls, values) -> RetryPolicy:
        return cls(
            first_delay_seconds=float(values.get("DELIVERY_FIRST_RETRY_SECONDS", 5)),
            max_delay_seconds=float(values.get("DELIVERY_MAX_RETRY_SECONDS", 60)),
            give_up_after_seconds=float(values.get("DELIVERY_GIVE_UP_SECONDS", 3600)),
            lease_seconds=float(values.get("DELIVERY_LEASE_SECONDS", 120)),
        )

    def delay_after(self, attempts: int) -> timedelta:
        """5 s, 10 s, 20 s, 40 s, then every minute (with the defaults)."""
        seconds = self.first_delay_seconds * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.max_delay_seconds))

    def exhausted(self, created_at: datetime, now: datetime) -> bool:
        return now - created_at >= timedelta(seconds=self.give_up_after_seconds)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | failed | queued (to be tried again)
    at: datetime
    error: str | None = None
    next_attempt_at: datetime | None = None


def outcome_of(error: Exception | None, delivery: Delivery, now: datetime, policy: RetryPolicy) -> Outcome:
    """What a send's result means for the row (a plain rule: tested without a server)."""
    if error is None:
        return Outcome(STATUS_SENT, now)
    if isinstance(error, PermanentDeliveryError):
        return Outcome(STATUS_FAILED, now, str(error)[:ERROR_MAX])
    reason = _describe(error)
    if policy.exhausted(delivery.created_at, now):
        return Outcome(STATUS_FAILED, now, f"tentativi esauriti dopo {delivery.attempts}: {reason}")
    return Outcome(STATUS_QUEUED, now, reason, now + policy.delay_after(delivery.attempts))


def lease_due(session, now: datetime, policy: RetryPolicy, ids=None, limit: int = 50) -> list[Delivery]:
    """Take the due queued rows (all, or among ``ids``) for one sender: attempts counted, the
    next attempt pushed a lease ahead. The caller commits before sending."""
    query = (
        select(Delivery)
        .where(Delivery.status == STATUS_QUEUED, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:  # ids, or the rows themselves
        query = query.where(Delivery.id.in_([uuid.UUID(str(getattr(key, "id", key))) for key in ids]))
    rows = session.scalars(query).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=policy.lease_seconds)
    return rows


def lease_new(rows: list[Delivery], now: datetime, policy: RetryPolicy) -> list[Delivery]:
    """Rows an event's handler is about to insert, leased to this process already: nobody
    else can see them before the commit, so no lock and no extra statement is needed."""
    for row in rows:
        row.attempts = 1
        row.next_attempt_at = now + timedelta(seconds=policy.lease_seconds)
    return rows


def envelope_of(delivery: Delivery) -> Envelope:
    return Envelope(
        delivery_id=str(delivery.id),
        to=delivery.recipient or "",
        subject=delivery.subject_line,
        body=delivery.body or "",
        attachments=attachments_from_json(delivery.attachments),
        html=delivery.html or "",
    )


class Dispatcher:
    """Leases, sends and records, with the service's sessions, channel adapters and clock."""

    def __init__(self, sessions, channels: dict, clock, policy: RetryPolicy, sleep=time.sleep):
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.policy = policy
        self.sleep = sleep

    def dispatch(self, ids=None, limit: int = 50) -> int:
        """Send what is due (among ``ids`` if given); returns how many rows were tried."""
        if ids is not None and not ids:
            return 0
        with self.sessions.begin() as session:
            leased = lease_due(session, self.clock.now(), self.policy, ids, limit)
            session.flush()
            session.expunge_all()  # plain values from here on: sent without a session open
        self.send_leased(leased)
        return len(leased)

    def send_leased(self, leased: list[Delivery]) -> None:
        """Send rows this process leased (by ``dispatch``, or in an event's own transaction)."""
        for delivery in leased:
            self._send(delivery)

    def _send(self, delivery: Delivery) -> None:
        adapter = self.channels.get(delivery.channel)
        if adapter is None or getattr(adapter, "configured", True) is False:
            # no provider for the channel (no SMS gateway configured): said, not pretended
            reason = NO_PROVIDER.get(delivery.channel, f"canale {delivery.channel} non configurato")
            self._record(delivery.id, Outcome(STATUS_SKIPPED, self.clock.now(), reason))
            return
        error: Exception | None = None
        try:
            adapter.send(envelope_of(delivery))
        except Exception as exc:  # classified by outcome_of: permanent or to be retried
            error = exc
        outcome = outcome_of(error, delivery, self.clock.now(), self.policy)
        if outcome.status == STATUS_QUEUED:
            log.info(
                "consegna %s (%s) non riuscita, tentativo %d, nuovo tentativo alle %s: %s",
                delivery.id,
                delivery.channel,
                delivery.attempts,
                outcome.next_attempt_at.isoformat(),
                type(error).__name__,
            )
        elif outcome.status == STATUS_FAILED:
            log.warning("consegna %s (%s) fallita: %s", delivery.id, delivery.channel, type(error).__name__)
        self._record(delivery.id, outcome)

    def _record(self, delivery_id, outcome: Outcome) -> None:
        """Write the outcome; through a short database outage, try again rather than lose it
        (a lost "sent" would send the message again when the lease runs out)."""
        deadline = time.monotonic() + self.policy.record_for_seconds
        pause = 0.2
        while True:
            try:
                with self.sessions.begin() as session:
                    record_outcome(session, delivery_id, outcome)
                return
            except Exception as exc:
                if time.monotonic() + pause > deadline:
                    log.error(
                        "esito della consegna %s non registrato (%s): sarà ritentata allo scadere del lease",
                        delivery_id,
                        type(exc).__name__,
                    )
                    return
                self.sleep(pause)
                pause = min(pause * 2, 5.0)


def record_outcome(session, delivery_id, outcome: Outcome) -> None:
    # only a row still queued: a late record must not undo another sender's outcome
    changes = {"status": outcome.status, "error": outcome.error}
    if outcome.status == STATUS_SENT:
        changes.update(sent_at=outcome.at, next_attempt_at=None, error=None)
    elif outcome.status in (STATUS_FAILED, STATUS_SKIPPED):
        changes.update(next_attempt_at=None)
    else:
        changes.update(next_attempt_at=outcome.next_attempt_at)
    table = Delivery.__table__  # a plain Core statement: no ORM bookkeeping on the hot path
    session.execute(
        update(table).where(table.c.id == delivery_id, table.c.status == STATUS_QUEUED).values(**changes)
    )


def queued_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == STATUS_QUEUED))


def _describe(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:ERROR_MAX]
