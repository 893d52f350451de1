"""Agenda projections and queries, as plain functions of a session."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert

from services.agenda.domain import booking_allowed
from services.agenda.models import BookingEligibility
from shared.errors import NotFound


def record_submitted(session, event) -> None:
    """``request_submitted``: a request the requester may later book an appointment from."""
    payload = event.payload
    statement = (
        insert(BookingEligibility)
        .values(
            request_id=payload["request_id"],
            requester=payload["requester"],
            origin=payload["origin"],
            submitted_at=payload["submitted_at"],
        )
        # The facts of a submission never change: a second copy has nothing to add.
        .on_conflict_do_nothing(index_elements=[BookingEligibility.request_id])
    )
    session.execute(statement)


def eligibility(session, request_id: str, now: datetime) -> dict:
    row = session.get(BookingEligibility, _request_key(request_id))
    if row is None:
        raise NotFound("request_not_found", "Richiesta non trovata.")
    allowed, reason_code, reason = booking_allowed(row, now)
    return {
        "request_id": str(row.request_id),
        "requester": row.requester,
        "origin": row.origin,
        "submitted_at": row.submitted_at.isoformat(),
        "first_answer_at": row.first_answer_at.isoformat() if row.first_answer_at else None,
        "interactions": row.interactions,
        "booking_enabled": row.booking_enabled,
        "allowed": allowed,
        "reason_code": reason_code,
        "reason": reason,
    }


def _request_key(request_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
