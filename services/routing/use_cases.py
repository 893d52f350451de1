"""Routing's use cases that record a decision: the two event handlers (a request submitted,
its subject changed) and an official's reassignment.

Each takes its ports (routing table, clock, session) as arguments; the nameko service runs
it inside one unit of work, so ``request_routed`` goes to the outbox in the same
transaction as the decision it announces. The read side is in ``views.py``.
"""

from __future__ import annotations

import uuid

from services.routing import projections
from services.routing.decision import store as decision_store
from services.routing.decision.overrides import manual_decision, reroute
from services.routing.decision.table import RoutingTable
from services.routing.decision.values import Decision, RequestFacts
from services.routing.models import RoutingDecision
from shared import access
from shared.access import Caller
from shared.clock import rome_date
from shared.consumer import RetryLater
from shared.contracts import ReassignmentInput, load
from shared.errors import Conflict, InvalidInput, field_error
from shared.events import REQUEST_ROUTED, make_event
from shared.outbox import add_event

PRODUCER = "routing"
SUBMITTED, SUBJECT_CHANGED, MANUAL = "request_submitted", "request_subject_changed", "manual"


def route_request(table: RoutingTable, clock, session, event) -> None:
    """Apply ``request_submitted``: decide, record the first decision, emit ``request_routed``.

    A request already decided is left alone (a second guard besides the inbox: the same
    request may arrive under another event id, e.g. replayed by hand).
    """
    request_id = event.payload["request_id"]
    decided_at = clock.now()
    decision = table.decide(event.payload, rome_date(decided_at))
    values = decision_store.decision_row(
        decision, request_id, 1, SUBMITTED, decided_at, event_id=event.event_id
    )
    if decision_store.record_first(session, values):
        _emit(session, decision, request_id, decided_at, event.correlation_id)


def reroute_on_subject_change(table: RoutingTable, clock, session, event) -> None:
    """Apply ``request_subject_changed``: decide again with the new subject and area.

    The decision is always recorded; ``request_routed`` goes out only when the structure
    or the work queue changed (an unchanged place is no news for anyone).
    """
    payload = event.payload
    current = decision_store.lock_latest(session, payload["request_id"])
    if current is None:
        raise RetryLater(f"request_subject_changed before any decision for {payload['request_id']}")
    facts = facts_after_subject_change(current.request, payload)
    decided_at = clock.now()
    decision = reroute(table, facts, _recorded(current), rome_date(decided_at))
    moved = not decision.assignment.same_place(current.assignment)
    values = decision_store.decision_row(
        decision,
        current.request_id,
        current.sequence + 1,
        SUBJECT_CHANGED,
        decided_at,
        previous=current.assignment,
        emitted=moved,
        event_id=event.event_id,
    )
    decision_store.record(session, values)
    if moved:
        _emit(
            session,
            decision,
            current.request_id,
            decided_at,
            event.correlation_id,
            previous=current.assignment,
        )


def facts_after_subject_change(recorded: dict, payload: dict) -> RequestFacts:
    """The facts to decide on again: those the event carries (intake sends them since the
    routing input could be blank), else those recorded with the current decision; with the
    new subject and area."""
    base = RequestFacts.from_payload(payload) if payload.get("channel") else RequestFacts.from_dict(recorded)
    return base._replace(subject=payload["new_subject"], area=payload["area"])


def reassign(table: RoutingTable, clock, session, caller: Caller, request_id, body) -> dict:
    """An official (or an administrator) moves a request to another sede, with a reason."""
    if not isinstance(body, dict):
        raise InvalidInput.from_errors(
            [field_error("body", "not_an_object", "Il corpo deve essere un oggetto JSON.")]
        )
    wanted = load(ReassignmentInput, body)
    key = decision_store.request_key(request_id)
    current = decision_store.lock_latest(session, key) if key else None
    if current is None:
        raise decision_store.decision_not_found(request_id)
    access.require_reassignment(caller, current.assignment)
    if projections.is_closed(session, current.request_id):
        raise Conflict("request_closed", "La richiesta è chiusa: non può essere riassegnata ad altra sede.")
    if wanted["sede"] == current.assignment.get("code"):
        raise Conflict(
            "already_assigned", f"La richiesta è già assegnata a {current.assignment.get('name')}."
        )
    decided_at = clock.now()
    facts = RequestFacts.from_dict(current.request)
    decision = manual_decision(
        table, facts, wanted["sede"], wanted["reason"], caller, _recorded(current), rome_date(decided_at)
    )
    if decision is None:
        detail = (
            f"Nessuna sede o CRIC in vigore con codice {wanted['sede']} "
            f"nei dati di riferimento {table.version}."
        )
        raise InvalidInput.from_errors([field_error("sede", "unknown_sede", detail)])
    values = decision_store.decision_row(
        decision, current.request_id, current.sequence + 1, MANUAL, decided_at, previous=current.assignment
    )
    decision_store.record(session, values)
    _emit(
        session,
        decision,
        current.request_id,
        decided_at,
        f"reassign-{uuid.uuid4()}",
        previous=current.assignment,
        manual=True,
    )
    return decision_store.decision_view(values)


def _emit(
    session, decision: Decision, request_id, decided_at, correlation_id, *, previous=None, manual=False
) -> None:
    payload = decision.routed_payload(request_id, decided_at, manual=manual, previous=previous)
    event = make_event(
        REQUEST_ROUTED, payload, producer=PRODUCER, correlation_id=correlation_id, occurred_at=decided_at
    )
    add_event(session, event)


def _recorded(row: RoutingDecision) -> dict:
    """What the overrides read of the current decision."""
    return {"rule": row.rule, "assignment": row.assignment, "inputs": row.inputs}
