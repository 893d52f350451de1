"""Agenda projections and queries, as plain functions of a session.

Events may arrive in any order (different queues, retries), so every projection is an
upsert keyed by request id whose columns merge independently of arrival order: earliest
answer and closing time, highest count of interactions, booking once enabled stays enabled.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, func

from services.agenda.models import BookingEligibility
from services.agenda.rules.eligibility import booking_allowed, booking_possible_from, is_closed
from shared.errors import NotFound
from shared.upsert import merge_row

ROWS = BookingEligibility.__table__


def _upsert(session, request_id, values: dict, merge) -> None:
    """Insert ``values`` as a new row, or set ``merge(incoming)`` on the existing one (built
    from column names only: ``shared.upsert.merge_row``)."""
    merge_row(session, ROWS, {"request_id": request_id}, values, merge)


def _earliest(name: str, incoming):
    return func.least(ROWS.c[name], incoming[name])  # LEAST/GREATEST skip NULLs


def record_submitted(session, event) -> None:
    """``request_submitted``: a request the requester may later book an appointment from,
    with the facts that say who may see it (shared.access.Ownership)."""
    payload = event.payload
    submission = {
        name: payload[name] for name in ("requester", "origin", "submitted_at", "matricola", "area")
    }
    patronato = payload.get("patronato") or {}
    citizen = payload.get("citizen") or {}
    submission.update(
        patronato_ente=patronato.get("ente"),
        patronato_ufficio=patronato.get("ufficio"),
        codice_fiscale=citizen.get("codice_fiscale"),
    )
    _upsert(
        session,
        payload["request_id"],
        submission,
        lambda incoming: {name: incoming[name] for name in submission},
    )


def record_routed(session, event) -> None:
    """``request_routed``: the sede the request is assigned to (a company books at the sede
    di competenza of its matricola). The latest decision wins, whatever the arrival order."""
    payload = event.payload
    assignment = payload["assignment"]
    sede = assignment["code"] if assignment["kind"] != "triage" else None
    values = {
        "assigned_sede": sede,
        "assigned_region": assignment.get("region"),
        "routed_at": payload["decided_at"],
    }
    _upsert(
        session,
        payload["request_id"],
        values,
        lambda incoming: {
            name: case(
                (ROWS.c.routed_at.is_(None) | (ROWS.c.routed_at < incoming.routed_at), incoming[name]),
                else_=ROWS.c[name],
            )
            for name in values
        },
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
    values = {"interactions": payload["interactions_used"]}
    if payload.get("reopened"):
        values["reopened_at"] = payload["at"]
    _upsert(
        session,
        payload["request_id"],
        values,
        lambda incoming: {
            "interactions": func.greatest(ROWS.c.interactions, incoming.interactions),
            "reopened_at": func.greatest(ROWS.c.reopened_at, incoming.reopened_at),
        },
    )


def record_closed(session, event) -> None:
    """``request_closed``: closed, and whether the official enabled booking on closing. The
    latest closing counts: a request reopened by a follow-up may be closed again."""
    payload = event.payload
    _upsert(
        session,
        payload["request_id"],
        {"closed_at": payload["at"], "booking_enabled": payload["booking_enabled"]},
        lambda incoming: {
            "closed_at": func.greatest(ROWS.c.closed_at, incoming.closed_at),
            "booking_enabled": ROWS.c.booking_enabled | incoming.booking_enabled,
        },
    )


def eligibility(session, request_id: str, now: datetime) -> dict:
    row = session.get(BookingEligibility, _request_key(request_id))
    if row is None or row.submitted_at is None:
        # a row built only from later events: who asked, and when, is not known yet
        raise NotFound("request_not_found", "Richiesta non trovata.")
    allowed, reason_code, reason = booking_allowed(row, now)
    possible_from = booking_possible_from(row, now)
    return {
        "request_id": str(row.request_id),
        "requester": row.requester,
        "origin": row.origin,
        "submitted_at": row.submitted_at.isoformat(),
        "first_answer_at": _instant(row.first_answer_at),
        "interactions": row.interactions,
        "booking_enabled": row.booking_enabled,
        "closed_at": _instant(row.closed_at) if is_closed(row) else None,
        "allowed": allowed,
        "reason_code": reason_code,
        "reason": reason,
        "booking_possible_from": possible_from.isoformat() if possible_from else None,
    }


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _request_key(request_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
