"""The unrouted-request sweep: a request that should have been routed a few minutes after
its submission and was not (its ``request_submitted`` dead-lettered by routing, lost in an
outage, ...) gets its submission published again.

The new event has a new id (consumers' inboxes would drop the old one) and the request's
current facts; every consumer already treats a second ``request_submitted`` of a request
as nothing new (routing keeps its first decision, notify sends the protocol e-mail once,
reporting and agenda upsert). A request is re-sent at most once per sweep interval, and
not while an earlier ``request_submitted`` of it still waits in the outbox (pending or
parked: the relay keeps a request's events in order, so another copy would only queue up).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, or_, select

from services.intake.handlers import emit, submitted_payload
from services.intake.models import Request
from shared.db import OutboxMessage
from shared.events import REQUEST_SUBMITTED

SWEEP_INTERVAL_SECONDS = 60
DEFAULT_RESUBMIT_AFTER_SECONDS = 300
# the origins routing decides for (an outbound or contact-center message is never routed)
ROUTED_ORIGINS = ("patronato", "cassetto", "fax")
SWEEP_BATCH = 500


def _unrouted(now: datetime, after: timedelta):
    return and_(
        Request.routed_at.is_(None), Request.origin.in_(ROUTED_ORIGINS), Request.created_at <= now - after
    )


def resubmit_unrouted(
    session,
    clock,
    after: timedelta,
    every: timedelta = timedelta(seconds=SWEEP_INTERVAL_SECONDS),
    limit: int = SWEEP_BATCH,
) -> list[str]:
    """Re-send ``request_submitted`` (through the outbox) for requests unrouted ``after``
    their submission; returns their ids."""
    now = clock.now()
    submission_waiting = exists().where(
        OutboxMessage.aggregate_key == cast(Request.id, String),
        OutboxMessage.event_type == REQUEST_SUBMITTED,
        OutboxMessage.published_at.is_(None),
    )
    requests = session.scalars(
        select(Request)
        .where(
            _unrouted(now, after),
            or_(Request.resubmitted_at.is_(None), Request.resubmitted_at <= now - every),
            ~submission_waiting,
        )
        .order_by(Request.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for request in requests:
        emit(session, REQUEST_SUBMITTED, submitted_payload(request), None, clock)
        request.resubmitted_at = now
    return [str(request.id) for request in requests]


def unrouted_count(session, now: datetime, after: timedelta) -> int:
    return session.scalar(select(func.count()).select_from(Request).where(_unrouted(now, after)))
