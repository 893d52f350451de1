"""Reporting queries over the read model, as plain functions of a session."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from services.reporting import rules
from services.reporting.models import RequestFact
from shared.clock import parse_instant
from shared.errors import InvalidInput, NotFound, field_error
from shared.vocabulary import ORIGINS, STATES


def request_fact(session, request_id: str) -> dict:
    fact = session.get(RequestFact, _request_key(request_id))
    if fact is None:
        raise NotFound("request_not_found", "Richiesta non trovata nei dati di reporting.")
    return fact_view(fact)


def count_by_state(session) -> dict[str, int]:
    """Requests per state; rows still waiting for their submission are not counted."""
    counts = dict.fromkeys(STATES, 0)
    rows = session.execute(
        select(RequestFact.state, func.count())
        .where(RequestFact.state.is_not(None), RequestFact.submitted_at.is_not(None))
        .group_by(RequestFact.state)
    )
    for state, count in rows:
        counts[state] = count
    return counts


def sla_snapshot(session, now: datetime, sede: str | None = None, origin: str | None = None) -> dict:
    """Threshold indicator, backlog index and average closing time per subject, at ``now``,
    for one sede (else all) and one origin (else all)."""
    query = select(
        RequestFact.subject,
        RequestFact.sla_days,
        RequestFact.state,
        RequestFact.submitted_at,
        RequestFact.closed_at,
    ).where(RequestFact.submitted_at.is_not(None))
    if sede is not None:
        query = query.where(RequestFact.sede_code == sede)
    if origin is not None:
        query = query.where(RequestFact.origin == _known_origin(origin))
    figures = rules.sla_snapshot(session.execute(query).all(), now)
    return {"as_of": now.isoformat(), "sede": sede, "origin": origin, **figures}


def as_of(now_iso: str | None, clock) -> datetime:
    """The instant a snapshot is taken at: the one asked for, else the clock's now."""
    if now_iso is None:
        return clock.now()
    try:
        return parse_instant(now_iso)
    except (TypeError, ValueError):
        raise InvalidInput.from_errors(
            [field_error("now", "invalid_instant", "Indicare data e ora ISO 8601 con fuso orario.")]
        ) from None


def fact_view(fact: RequestFact) -> dict:
    def instant(value):
        return value.isoformat() if value else None

    return {
        "request_id": str(fact.request_id),
        "protocol": fact.protocol,
        "subject": fact.subject,
        "catalog_version": fact.catalog_version,
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
        "taken_at": instant(fact.taken_at),
        "first_answer_at": instant(fact.first_answer_at),
        "answers": fact.answers,
        "followups": fact.followups,
        "reminders": fact.reminders,
        "subject_changed_at": instant(fact.subject_changed_at),
        "closed_at": instant(fact.closed_at),
        "outcome": fact.outcome,
        "booking_enabled": fact.booking_enabled,
        "last_event_at": instant(fact.last_event_at),
    }


def _known_origin(origin: str) -> str:
    if origin not in ORIGINS:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "origin",
                    "unknown_origin",
                    f"Provenienza sconosciuta: usare una tra {', '.join(ORIGINS)}.",
                )
            ]
        )
    return origin


def _request_key(request_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata nei dati di reporting.") from None
