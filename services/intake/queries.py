"""Reading requests: the detail with its whole thread, and the history/queue search,
always within the caller's scope."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import and_, false, func, or_, select

from services.intake import domain, lifecycle
from services.intake.catalog import Catalog
from services.intake.handlers import request_view
from services.intake.models import Request
from services.intake.workflow import facts_of, load_request
from shared.clock import ROME
from shared.errors import NotFound

MAX_PAGE_SIZE = 100


def get_request(session, store, clock, catalog: Catalog, caller: dict, request_id: str) -> dict:
    request = load_request(session, request_id, for_update=False)
    if not domain.can_read(caller, request_view(request)):
        raise NotFound("request_not_found", "Richiesta non trovata.")
    detail = summary(request, catalog)
    is_official = caller["role"] in ("sede_operatore", "direttore", "admin")
    detail.update(
        {
            "text": request.text,
            "case_identifier": request.case_identifier,
            "citizen": {"codice_fiscale": request.citizen_codice_fiscale, "cap": request.citizen_cap} if request.citizen_codice_fiscale else None,
            "patronato": {"ente": request.patronato_ente, "ufficio": request.patronato_ufficio} if request.patronato_ente else None,
            "parent_id": str(request.parent_id) if request.parent_id else None,
            "assignment": _assignment_for(request.assignment, is_official),
            "outcome": request.outcome,
            "booking_enabled": request.booking_enabled,
            "thread": [
                {"id": str(m.id), "kind": m.kind, "author": m.author, "author_role": m.author_role, "text": m.text, "at": m.at.isoformat()}
                for m in request.messages
            ],
            "state_history": [
                {"from_state": c.from_state, "to_state": c.to_state, "comment": c.comment, "actor": c.actor, "at": c.at.isoformat()}
                for c in request.state_changes
            ],
            "attachments": [
                {"id": str(a.id), "filename": a.filename, "content_type": a.content_type, "size": a.size, "download_url": store.download_url(a.object_key)}
                for a in request.attachments
                if a.bundled_into is None
            ],
            "next_actions": lifecycle.next_actions(facts_of(request), clock.now()),
        }
    )
    return detail


def _assignment_for(assignment: dict | None, is_official: bool) -> dict | None:
    """Requesters see where their request went and why; officials also see the routing rule queue."""
    if assignment is None or is_official:
        return assignment
    return {key: assignment[key] for key in ("kind", "code", "name", "reason") if key in assignment}


def summary(request: Request, catalog: Catalog) -> dict:
    subject = catalog.find_version(request.catalog_version, request.subject_code)
    return {
        "id": str(request.id),
        "protocol": request.protocol,
        "origin": request.origin,
        "channel": request.channel,
        "profile": request.profile,
        "subject": {
            "code": request.subject_code,
            "label": subject.label if subject else request.subject_code,
            "catalog_version": request.catalog_version,
            "sla_days": request.sla_days,
        },
        "state": request.state,
        "matricola": request.matricola,
        "consulente": request.consulente_codice_fiscale,
        "citizen_codice_fiscale": request.citizen_codice_fiscale,
        "assigned_sede": request.assigned_sede,
        "submitted_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
        "closed_at": request.closed_at.isoformat() if request.closed_at else None,
    }


def scope_condition(caller: dict):
    """The SQL twin of ``domain.can_read``: what a caller may list."""
    role = caller["role"]
    if role == "admin":
        return None
    if role in ("patronato_operatore", "patronato_referente", "patronato_admin"):
        if not caller.get("patronato") or not caller.get("ufficio"):
            return false()
        return and_(Request.patronato_ente == caller["patronato"], Request.patronato_ufficio == caller["ufficio"])
    if role in ("azienda", "intermediario"):
        clauses = []
        if caller.get("matricole"):
            clauses.append(Request.matricola.in_(caller["matricole"]))
        if caller.get("codice_fiscale"):
            clauses.append(Request.consulente_codice_fiscale == caller["codice_fiscale"])
        return or_(*clauses) if clauses else false()
    if role == "sede_operatore":
        lifecycle.require_official(caller)
        return Request.assigned_sede == caller["sede"]
    if role == "direttore":  # the SQL twin of domain.director_sees
        if caller.get("sede"):
            return Request.assigned_sede == caller["sede"]
        if caller.get("regione"):
            return Request.assignment["region"].astext == caller["regione"]
        return None
    return false()


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ROME)


def search(session, catalog: Catalog, caller: dict, filters: dict) -> dict:
    """History (requesters) and work queue (officials), newest update first, paginated."""
    query = select(Request)
    scope = scope_condition(caller)
    if scope is not None:
        query = query.where(scope)
    exact = {
        "matricola": Request.matricola,
        "subject": Request.subject_code,
        "state": Request.state,
        "origin": Request.origin,
        "codice_fiscale": Request.citizen_codice_fiscale,
        "consulente": Request.consulente_codice_fiscale,
    }
    for name, column in exact.items():
        if filters.get(name):
            query = query.where(column == filters[name])
    # date filters are calendar days in Rome, both ends included
    for name, column in (("opened", Request.created_at), ("updated", Request.updated_at)):
        if filters.get(f"{name}_from"):
            query = query.where(column >= _day_start(filters[f"{name}_from"]))
        if filters.get(f"{name}_to"):
            query = query.where(column < _day_start(filters[f"{name}_to"] + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, size = filters.get("page", 1), min(filters.get("page_size", 20), MAX_PAGE_SIZE)
    rows = session.scalars(query.order_by(Request.updated_at.desc(), Request.id).offset((page - 1) * size).limit(size)).all()
    return {"items": [summary(r, catalog) for r in rows], "page": page, "page_size": size, "total": total}
