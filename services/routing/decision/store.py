"""The decisions as recorded in ``routing_decisions``: one row per decision of a request
(``sequence`` 1, 2, …), never changed afterwards; the latest is the request's current one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text

from services.routing.decision.values import Decision
from services.routing.models import RoutingDecision
from shared.errors import NotFound
from shared.upsert import insert  # cached compiled SQL (shared/upsert.py)

_COLUMNS = tuple(RoutingDecision.__table__.columns.keys())


def decision_row(
    decision: Decision,
    request_id,
    sequence: int,
    trigger: str,
    decided_at: datetime,
    *,
    previous=None,
    emitted=True,
    event_id=None,
) -> dict:
    recorded = decision.as_dict()
    return {
        "id": uuid.uuid4(),
        "request_id": request_id,
        "sequence": sequence,
        "trigger": trigger,
        "rule": recorded["rule"],
        "inputs": recorded["inputs"],
        "assignment": recorded["assignment"],
        "reference_version": recorded["reference_version"],
        "decided_at": decided_at,
        "request": recorded["request"],
        "rule_chain": recorded["rule_chain"],
        "effective_day": decision.effective_day,
        "previous": previous,
        "emitted": emitted,
        "event_id": uuid.UUID(str(event_id)) if event_id else None,
    }


_DECISIONS = RoutingDecision.__table__
# Built once (the values travel as parameters): every request's first decision comes here.
_RECORD_FIRST = insert(_DECISIONS).on_conflict_do_nothing().returning(_DECISIONS.c.id)
_RECORD = insert(_DECISIONS)


def record_first(session, values: dict) -> bool:
    """Record a request's first decision; False when it already has one."""
    return session.execute(_RECORD_FIRST, values).first() is not None


def record(session, values: dict) -> None:
    session.execute(_RECORD, values)


def lock_latest(session, request_id) -> RoutingDecision | None:
    """The latest decision of a request, with the request locked until the transaction
    ends: two re-routings of one request run one after the other, never both on the same
    "current"."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"routing:{request_id}"})
    return session.scalars(
        select(RoutingDecision)
        .where(RoutingDecision.request_id == request_id)
        .order_by(RoutingDecision.sequence.desc())
        .limit(1)
    ).first()


def request_key(request_id) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        return None


def decision_not_found(request_id) -> NotFound:
    return NotFound(
        "decision_not_found", f"Nessuna decisione di instradamento per la richiesta {request_id}."
    )


def decision_history(session, request_id) -> list[dict]:
    """Every decision of a request, oldest first, as ``decision_view``s."""
    key = request_key(request_id)
    rows = (
        session.scalars(
            select(RoutingDecision)
            .where(RoutingDecision.request_id == key)
            .order_by(RoutingDecision.sequence)
        ).all()
        if key
        else []
    )
    if not rows:
        raise decision_not_found(request_id)
    return [decision_view({column: getattr(row, column) for column in _COLUMNS}) for row in rows]


def decision_view(values: dict) -> dict:
    return {
        "id": str(values["id"]),
        "request_id": str(values["request_id"]),
        "sequence": values["sequence"],
        "trigger": values["trigger"],
        "rule": values["rule"],
        "assignment": values["assignment"],
        "inputs": values["inputs"],
        "reference_version": values["reference_version"],
        "decided_at": values["decided_at"].isoformat(),
        "effective_day": values["effective_day"].isoformat() if values["effective_day"] else None,
        "request": values["request"],
        "rule_chain": values["rule_chain"],
        "previous": values["previous"],
        "emitted": values["emitted"],
    }
