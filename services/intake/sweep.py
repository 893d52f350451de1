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

from services.intake.repository import SqlRequests
from services.intake.unit_of_work import SqlUnitOfWork

SWEEP_INTERVAL_SECONDS = 60
DEFAULT_RESUBMIT_AFTER_SECONDS = 300
SWEEP_BATCH = 500


def resubmit_unrouted(
    uow: SqlUnitOfWork,
    after: timedelta,
    every: timedelta = timedelta(seconds=SWEEP_INTERVAL_SECONDS),
    limit: int = SWEEP_BATCH,
) -> list[str]:
    """Re-send ``request_submitted`` (through the outbox) for requests unrouted ``after``
    their submission; returns their ids."""
    now = uow.clock.now()
    requests = uow.requests.unrouted(now, after, every, limit)
    for request in requests:
        request.resubmit(now)
    uow.commit()
    return [str(request.id) for request in requests]


def unrouted_count(session, now: datetime, after: timedelta) -> int:
    return SqlRequests(session).count_unrouted(now, after)
