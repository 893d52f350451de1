"""Other services' decisions about intake's requests, applied to them: routing's
``request_routed`` puts a request in a sede's (or triage's) queue."""

from __future__ import annotations

from services.intake.unit_of_work import UnitOfWork
from shared.consumer import RetryLater
from shared.events import Event


def record_assignment(uow: UnitOfWork, event: Event) -> None:
    payload = event.payload
    request = uow.requests.get(payload["request_id"])
    if request is None:
        # the request is committed before its request_submitted is published: a decision
        # about a request not stored yet came too early (or from elsewhere), so wait for it
        raise RetryLater(f"request_routed prima della richiesta {payload['request_id']}")
    request.record_routing(payload["assignment"], payload["decided_at"])
    uow.commit()
