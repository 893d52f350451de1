"""Reporting projections and queries, as plain functions of a session.

Events may arrive in any order (different queues, retries), so every projection is an
upsert keyed by request id: whichever event comes first creates the row, the other fills
in its own columns and leaves the rest alone.
"""
from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert

from services.reporting.models import RequestFact
from shared.errors import NotFound

STATE_OPEN = "open"
KNOWN_STATES = ("open", "in_progress", "closed")


def record_submitted(session, event) -> None:
    """``request_submitted``: the request's own facts; the state starts ``open``."""
    payload = event.payload
    facts = {
        "protocol": payload["protocol"],
        "subject": payload["subject"],
        "origin": payload["origin"],
        "channel": payload["channel"],
        "sla_days": payload["sla_days"],
        "area": payload["area"],
        "submitted_at": payload["submitted_at"],
    }
    statement = insert(RequestFact).values(request_id=payload["request_id"], state=STATE_OPEN, **facts)
    table = RequestFact.__table__
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.request_id],
        # A row created by an earlier-arriving later event keeps the state that event set.
        set_={**{name: statement.excluded[name] for name in facts}, "state": func.coalesce(table.c.state, STATE_OPEN)},
    )
    session.execute(statement)


def record_routed(session, event) -> None:
    """``request_routed``: where the request went; an older decision never overwrites a newer one."""
    payload = event.payload
    assignment = payload["assignment"]
    routing = {
        "assignment_kind": assignment["kind"],
        "sede_code": assignment["code"],
        "sede_name": assignment["name"],
        "routed_at": payload["decided_at"],
    }
    statement = insert(RequestFact).values(request_id=payload["request_id"], **routing)
    table = RequestFact.__table__
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.request_id],
        set_={name: statement.excluded[name] for name in routing},
        where=or_(table.c.routed_at.is_(None), table.c.routed_at <= statement.excluded.routed_at),
    )
    session.execute(statement)


def request_fact(session, request_id: str) -> dict:
    fact = session.get(RequestFact, _request_key(request_id))
    if fact is None:
        raise NotFound("request_not_found", "Richiesta non trovata nei dati di reporting.")
    return fact_view(fact)


def count_by_state(session) -> dict[str, int]:
    """Requests per state; rows still waiting for their submission (state NULL) are not counted."""
    counts = dict.fromkeys(KNOWN_STATES, 0)
    rows = session.execute(
        select(RequestFact.state, func.count()).where(RequestFact.state.is_not(None)).group_by(RequestFact.state)
    )
    for state, count in rows:
        counts[state] = count
    return counts


def fact_view(fact: RequestFact) -> dict:
    def instant(value):
        return value.isoformat() if value else None

    return {
        "request_id": str(fact.request_id),
        "protocol": fact.protocol,
        "subject": fact.subject,
        "origin": fact.origin,
        "channel": fact.channel,
        "sla_days": fact.sla_days,
        "area": fact.area,
        "assignment_kind": fact.assignment_kind,
        "sede_code": fact.sede_code,
        "sede_name": fact.sede_name,
        "state": fact.state,
        "submitted_at": instant(fact.submitted_at),
        "routed_at": instant(fact.routed_at),
        "closed_at": instant(fact.closed_at),
    }


def _request_key(request_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata nei dati di reporting.") from None
