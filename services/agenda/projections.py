"""Agenda projections and queries, as plain functions of a session.

Events may arrive in any order (different queues, retries), so every projection is an
upsert keyed by request id whose columns merge independently of arrival order: earliest
answer and closing time, highest count of interactions, booking once enabled stays enabled.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from services.agenda.models import BookingEligibility
from services.agenda.rules import booking_allowed
from shared.errors import NotFound

ROWS = BookingEligibility.__table__


def _upsert(session, request_id, values: dict, merge) -> None:
    """Insert ``values`` as a new row, or set ``merge(incoming)`` on the existing one."""
    statement = insert(BookingEligibility).values(request_id=request_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[ROWS.c.request_id], set_=merge(statement.excluded)
    )
    session.execute(statement)


def _earliest(name: str, incoming):
    return func.least(ROWS.c[name], incoming[name])  # LEAST/GREATEST skip NULLs


def record_submitted(session, event) -> None:
    """``request_submitted``: a request the requester may later book an appointment from."""
    payload = event.payload
    submission = {name: payload[name] for name in ("requester", "origin", "submitted_at")}
    _upsert(
        session,
        payload["request_id"],
        submission,
        lambda incoming: {name: incoming[name] for name in submission},
    )


def record_answered(session, event) -> None:
    """``request_answered``: the first answer is the earliest one, whichever arrives first."""
    payload = event.payload
    _upsert(
        session,
        payload["request_id"],
        {"first_answer_at": payload["at"]},
        lambda incoming: {"first_answer_at": _earliest("first_answer_at", incoming)},
    )


def record_followup_added(session, event) -> None:
    """``request_followup_added``: further interactions used so far (the event counts them)."""
    payload = event.payload
    _upsert(
        session,
        payload["request_id"],
        {"interactions": payload["interactions_used"]},
        lambda incoming: {"interactions": func.greatest(ROWS.c.interactions, incoming.interactions)},
    )


def record_closed(session, event) -> None:
    """``request_closed``: closed, and whether the official enabled booking on closing."""
    payload = event.payload
    _upsert(
        session,
        payload["request_id"],
        {"closed_at": payload["at"], "booking_enabled": payload["booking_enabled"]},
        lambda incoming: {
            "closed_at": _earliest("closed_at", incoming),
            "booking_enabled": ROWS.c.booking_enabled | incoming.booking_enabled,
        },
    )


def eligibility(session, request_id: str, now: datetime) -> dict:
    row = session.get(BookingEligibility, _request_key(request_id))
    if row is None or row.submitted_at is None:
        # a row built only from later events: who asked, and when, is not known yet
        raise NotFound("request_not_found", "Richiesta non trovata.")
    allowed, reason_code, reason = booking_allowed(row, now)
    return {
        "request_id": str(row.request_id),
        "requester": row.requester,
        "origin": row.origin,
        "submitted_at": row.submitted_at.isoformat(),
        "first_answer_at": _instant(row.first_answer_at),
        "interactions": row.interactions,
        "booking_enabled": row.booking_enabled,
        "closed_at": _instant(row.closed_at),
        "allowed": allowed,
        "reason_code": reason_code,
        "reason": reason,
    }


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _request_key(request_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
