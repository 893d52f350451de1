"""Routing use cases: each takes its ports (session, clock, routing table) as arguments.

The nameko service and the ``reference`` command call these inside one unit of work;
the ``request_routed`` event goes to the outbox in the same transaction as the decision.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timezone

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from services.routing import sedi as reference
from services.routing.domain import RoutingTable, Sede
from services.routing.models import ReferenceVersion, RoutingDecision, SedeRow
from shared.errors import NotFound
from shared.events import REQUEST_ROUTED, make_event
from shared.outbox import add_event

PRODUCER = "routing"


# ---- decisions --------------------------------------------------------------------------


def route_request(table: RoutingTable, clock, session, event) -> None:
    """Apply ``request_submitted``: decide, record the decision, emit ``request_routed``.

    A request already decided is left alone (a second guard besides the inbox: the same
    request may arrive under another event id, e.g. replayed by hand).
    """
    request_id = event.payload["request_id"]
    decision = table.decide(event.payload)
    decided_at = clock.now()
    recorded = session.execute(
        insert(RoutingDecision)
        .values(
            request_id=request_id,
            rule=decision.rule,
            inputs=decision.inputs,
            assignment=decision.assignment.as_dict(),
            reference_version=decision.reference_version,
            decided_at=decided_at,
        )
        .on_conflict_do_nothing()
        .returning(RoutingDecision.request_id)
    ).first()
    if recorded is None:
        return
    routed = make_event(
        REQUEST_ROUTED,
        decision.routed_payload(request_id, decided_at),
        producer=PRODUCER,
        correlation_id=event.correlation_id,
        occurred_at=decided_at,
    )
    add_event(session, routed)


def recorded_decision(session, request_id) -> dict:
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        key = None
    decision = session.get(RoutingDecision, key) if key else None
    if decision is None:
        raise NotFound("decision_not_found", f"Nessuna decisione di instradamento per la richiesta {request_id}.")
    return {
        "request_id": str(decision.request_id),
        "assignment": decision.assignment,
        "rule": decision.rule,
        "inputs": decision.inputs,
        "reference_version": decision.reference_version,
        "decided_at": decision.decided_at.isoformat(),
    }


# ---- the active reference version -------------------------------------------------------


def active_version_id(session) -> str | None:
    return session.scalar(select(ReferenceVersion.id).where(ReferenceVersion.active))


def version_sedi(session, version_id: str) -> list[Sede]:
    rows = session.scalars(select(SedeRow).where(SedeRow.version_id == version_id).order_by(SedeRow.code))
    return [
        Sede(row.code, row.name, row.type, row.parent_code, row.region, row.province, row.email) for row in rows
    ]


def load_routing_table(session, version_id: str | None) -> RoutingTable:
    if version_id is None:
        return RoutingTable.empty()
    return RoutingTable(version_id, version_sedi(session, version_id))


def list_sedi(session) -> dict:
    version_id = active_version_id(session)
    sedi = version_sedi(session, version_id) if version_id else []
    return {"reference_version": version_id, "sedi": [sede.as_dict() for sede in sedi]}


# ---- loading a new version --------------------------------------------------------------


@dataclass
class LoadOutcome:
    version_id: str | None
    previous_version_id: str | None = None
    problems: list[reference.Problem] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return self.version_id is not None


def apply_reference(session, clock, dataset: reference.ReferenceDataset, provinces: dict) -> LoadOutcome:
    """Store ``dataset`` as a new version and make it active, unless a check fails: then
    nothing is written and the problems are returned."""
    problems = dataset.problems or reference.check_sedi(dataset.sedi, provinces)
    if problems:
        return LoadOutcome(None, problems=problems)
    # Two loads at once would both try to become active: the second waits for the first.
    session.execute(text("LOCK TABLE reference_versions IN SHARE ROW EXCLUSIVE MODE"))
    previous = active_version_id(session)
    loaded_at = clock.now()
    version_id = new_version_id(dataset, loaded_at)
    session.add(
        ReferenceVersion(id=version_id, loaded_at=loaded_at, source=dataset.source, active=False, checksum=dataset.checksum)
    )
    session.flush()
    session.execute(insert(SedeRow), [{"version_id": version_id, **sede.as_dict()} for sede in dataset.sedi])
    # Deactivate before activating: the partial unique index allows one active row.
    session.execute(update(ReferenceVersion).where(ReferenceVersion.active).values(active=False))
    session.execute(update(ReferenceVersion).where(ReferenceVersion.id == version_id).values(active=True))
    return LoadOutcome(version_id, previous_version_id=previous)


def new_version_id(dataset: reference.ReferenceDataset, loaded_at) -> str:
    kind = "sample" if dataset.is_sample else "import"
    return f"{kind}-{loaded_at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}"
