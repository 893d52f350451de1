"""Routing use cases: each takes its ports (session, clock, routing table) as arguments.

The nameko service and the ``reference`` command call these inside one unit of work;
a ``request_routed`` event goes to the outbox in the same transaction as the decision.
Reference data reading/writing is in ``reference_store.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from services.routing.domain import (
    MANUAL_KEPT_RULE,
    MANUAL_RULE,
    Decision,
    RequestFacts,
    RoutingTable,
    manual_decision,
    reroute,
)
from services.routing.models import RoutingDecision
from services.routing.reference_store import (  # noqa: F401 - part of the use cases' surface
    LoadOutcome,
    active_version_id,
    apply_reference,
    list_versions,
    load_routing_table,
    version_exists,
)
from services.routing.schemas import ExplainQuery, ReassignmentInput, SediQuery
from services.routing.structures import PROVINCIAL_TYPES
from shared import access
from shared.access import Caller
from shared.clock import rome_date
from shared.contracts import load
from shared.errors import Conflict, InvalidInput, NotFound, field_error
from shared.events import REQUEST_ROUTED, make_event
from shared.outbox import add_event

PRODUCER = "routing"
SUBMITTED, SUBJECT_CHANGED, MANUAL = "request_submitted", "request_subject_changed", "manual"


class DecisionNotYetTaken(LookupError):
    """A re-routing arrived before the first decision: the consumer retries it later."""


# ---- deciding ---------------------------------------------------------------------------------


def route_request(table: RoutingTable, clock, session, event) -> None:
    """Apply ``request_submitted``: decide, record the first decision, emit ``request_routed``.

    A request already decided is left alone (a second guard besides the inbox: the same
    request may arrive under another event id, e.g. replayed by hand).
    """
    request_id = event.payload["request_id"]
    decided_at = clock.now()
    decision = table.decide(event.payload, rome_date(decided_at))
    values = _decision_row(decision, request_id, 1, SUBMITTED, decided_at, event_id=event.event_id)
    recorded = session.execute(
        insert(RoutingDecision).values(**values).on_conflict_do_nothing().returning(RoutingDecision.id)
    ).first()
    if recorded is not None:
        _emit(session, decision, request_id, decided_at, event.correlation_id)


def reroute_on_subject_change(table: RoutingTable, clock, session, event) -> None:
    """Apply ``request_subject_changed``: decide again with the new subject and area.

    The decision is always recorded; ``request_routed`` goes out only when the structure
    or the work queue changed (an unchanged place is no news for anyone).
    """
    payload = event.payload
    current = _lock_current(session, payload["request_id"])
    if current is None:
        raise DecisionNotYetTaken(f"request_subject_changed before any decision for {payload['request_id']}")
    facts = RequestFacts.from_dict(
        {**current.request, "subject": payload["new_subject"], "area": payload["area"]}
    )
    decided_at = clock.now()
    decision = reroute(table, facts, _as_dict(current), rome_date(decided_at))
    moved = not decision.assignment.same_place(current.assignment)
    values = _decision_row(
        decision,
        current.request_id,
        current.sequence + 1,
        SUBJECT_CHANGED,
        decided_at,
        previous=current.assignment,
        emitted=moved,
        event_id=event.event_id,
    )
    session.execute(insert(RoutingDecision).values(**values))
    if moved:
        _emit(
            session,
            decision,
            current.request_id,
            decided_at,
            event.correlation_id,
            previous=current.assignment,
        )


def reassign(table: RoutingTable, clock, session, caller: Caller, request_id, body) -> dict:
    """An official (or an administrator) moves a request to another sede, with a reason."""
    if not isinstance(body, dict):
        raise InvalidInput.from_errors(
            [field_error("body", "not_an_object", "Il corpo deve essere un oggetto JSON.")]
        )
    wanted = load(ReassignmentInput, body)
    key = _request_key(request_id)
    current = _lock_current(session, key) if key else None
    if current is None:
        raise _not_found(request_id)
    access.require_reassignment(caller, current.assignment)
    if wanted["sede"] == current.assignment.get("code"):
        raise Conflict(
            "already_assigned", f"La richiesta è già assegnata a {current.assignment.get('name')}."
        )
    decided_at = clock.now()
    facts = RequestFacts.from_dict(current.request)
    decision = manual_decision(
        table, facts, wanted["sede"], wanted["reason"], caller, _as_dict(current), rome_date(decided_at)
    )
    if decision is None:
        detail = f"Nessuna sede o CRIC in vigore con codice {wanted['sede']} nei dati di riferimento {table.version}."
        raise InvalidInput.from_errors([field_error("sede", "unknown_sede", detail)])
    values = _decision_row(
        decision, current.request_id, current.sequence + 1, MANUAL, decided_at, previous=current.assignment
    )
    session.execute(insert(RoutingDecision).values(**values))
    _emit(
        session,
        decision,
        current.request_id,
        decided_at,
        f"reassign-{uuid.uuid4()}",
        previous=current.assignment,
        manual=True,
    )
    return decision_view(values)


def explain(table: RoutingTable, clock, caller: Caller, query) -> dict:
    """A dry run: what routing would decide for these facts on that day; stores nothing."""
    access.require_routing_consultation(caller)
    if not isinstance(query, dict):
        raise InvalidInput.from_errors([field_error("query", "not_an_object", "Parametri non validi.")])
    facts = load(ExplainQuery, query)
    day = facts.pop("on") or rome_date(clock.now())
    decision = table.decide_facts(RequestFacts(**facts), day)
    return {"dry_run": True, **decision.as_dict()}


def _decision_row(
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


def _emit(
    session, decision: Decision, request_id, decided_at, correlation_id, *, previous=None, manual=False
) -> None:
    payload = decision.routed_payload(request_id, decided_at, manual=manual, previous=previous)
    event = make_event(
        REQUEST_ROUTED, payload, producer=PRODUCER, correlation_id=correlation_id, occurred_at=decided_at
    )
    add_event(session, event)


def _lock_current(session, request_id) -> RoutingDecision | None:
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


def _as_dict(row: RoutingDecision) -> dict:
    return {"rule": row.rule, "assignment": row.assignment, "inputs": row.inputs}


# ---- reading decisions -------------------------------------------------------------------------


def _request_key(request_id) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        return None


def _not_found(request_id) -> NotFound:
    return NotFound(
        "decision_not_found", f"Nessuna decisione di instradamento per la richiesta {request_id}."
    )


def decision_history(session, request_id) -> list[dict]:
    key = _request_key(request_id)
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
        raise _not_found(request_id)
    return [decision_view({column: getattr(row, column) for column in _COLUMNS}) for row in rows]


_COLUMNS = tuple(RoutingDecision.__table__.columns.keys())


def recorded_decision(session, request_id) -> dict:
    """The current decision of a request (the latest)."""
    return decision_history(session, request_id)[-1]


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


def explain_recorded(session, caller: Caller, request_id, tables_for_version) -> dict:
    """Every decision of a request as recorded, each replayed on the reference version it
    used: the explanation rests on what was stored, and the replay shows it still holds."""
    history = decision_history(session, request_id)
    access.require_decision_history(caller, [decision["assignment"] for decision in history])
    for decision in history:
        decision["replay"] = _replay(session, decision, tables_for_version)
    return {"request_id": history[-1]["request_id"], "current": history[-1], "history": history}


def _replay(session, decision: dict, tables_for_version) -> dict | None:
    if decision["rule"] in (MANUAL_RULE, MANUAL_KEPT_RULE) or not decision["effective_day"]:
        return None  # a person decided: the recorded reason is the explanation
    table = tables_for_version(session, decision["reference_version"])
    if table is None:
        return {"reference_version": decision["reference_version"], "available": False}
    day = datetime.fromisoformat(decision["effective_day"]).date()
    again = table.decide_facts(RequestFacts.from_dict(decision["request"]), day)
    return {
        "reference_version": decision["reference_version"],
        "available": True,
        "rule": again.rule,
        "assignment": again.assignment.as_dict(),
        "same_decision": again.rule == decision["rule"]
        and again.assignment.same_place(decision["assignment"]),
    }


# ---- the reference data in force ---------------------------------------------------------------


def list_sedi(table: RoutingTable, clock, caller: Caller, query) -> dict:
    access.require_routing_consultation(caller)
    wanted = load(SediQuery, query if isinstance(query, dict) else {})
    day = wanted["on"] or rome_date(clock.now())
    if not table.loaded:
        return {"reference_version": None, "on": day.isoformat(), "sedi": [], "cric": []}
    view = table.view(day)
    covered = {}
    for codice, sede in view.local_sede.items():
        covered.setdefault(sede.code, []).append(codice)
    # a provincial sede covers its province but the comuni listed for local sedi
    sedi = [
        {
            **_jsonable(sede.as_dict()),
            "province_wide": sede.type in PROVINCIAL_TYPES,
            "comuni": sorted(covered.get(sede.code, [])),
        }
        for sede in sorted(view.sedi.values(), key=lambda s: s.code)
        if (wanted["region"] in (None, sede.region)) and (wanted["type"] in (None, sede.type))
    ]
    cric = [
        _jsonable(c.as_dict())
        for c in sorted(view.cric.values(), key=lambda c: c.code)
        if wanted["region"] in (None, c.region)
    ]
    return {"reference_version": table.version, "on": day.isoformat(), "sedi": sedi, "cric": cric}


def _jsonable(row: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}


def reference_versions(session, caller: Caller) -> dict:
    access.require_routing_consultation(caller)
    return {"active": active_version_id(session), "versions": list_versions(session)}
