"""Reading requests: the detail with its whole thread, and the history/queue search,
always within the caller's scope."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from services.intake import lifecycle
from services.intake.catalog import Catalog
from services.intake.handlers import OWNERSHIP_COLUMNS, ownership
from services.intake.models import Attachment, Request
from services.intake.workflow import facts_of, load_request
from shared import access
from shared.access import Caller
from shared.clock import ROME
from shared.errors import NotFound

MAX_PAGE_SIZE = 100
# Clients download through the gateway, which asks ``attachment_download`` each time (see there).
DOWNLOAD_PATH = "/api/v1/requests/{request_id}/attachments/{attachment_id}"
# The gateway fetches at once, server-side: a link it lost is useless a minute later.
STORE_LINK_LIFETIME = timedelta(seconds=60)


def readable_request(session, caller: Caller, request_id) -> Request:
    """The request, if the caller may see it; otherwise the answer for a missing one."""
    request = load_request(session, request_id, for_update=False)
    access.require_read(caller, ownership(request))
    return request


def get_request(session, clock, catalog: Catalog, caller: Caller, request_id: str) -> dict:
    request = readable_request(session, caller, request_id)
    detail = summary(request, catalog)
    is_official = caller.role in ("sede_operatore", "direttore", "admin")
    detail.update(
        {
            "text": request.text,
            "case_identifier": request.case_identifier,
            "citizen": {"codice_fiscale": request.citizen_codice_fiscale, "cap": request.citizen_cap}
            if request.citizen_codice_fiscale
            else None,
            "patronato": {"ente": request.patronato_ente, "ufficio": request.patronato_ufficio}
            if request.patronato_ente
            else None,
            "parent_id": str(request.parent_id) if request.parent_id else None,
            "assignment": _assignment_for(request.assignment, is_official),
            "outcome": request.outcome,
            "booking_enabled": request.booking_enabled,
            "thread": [
                {
                    "id": str(m.id),
                    "kind": m.kind,
                    "author": m.author,
                    "author_role": m.author_role,
                    "text": m.text,
                    "at": m.at.isoformat(),
                }
                for m in request.messages
            ],
            "state_history": [
                {
                    "from_state": c.from_state,
                    "to_state": c.to_state,
                    "comment": c.comment,
                    "actor": c.actor,
                    "at": c.at.isoformat(),
                }
                for c in request.state_changes
            ],
            "attachments": [
                {
                    "id": str(a.id),
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "download_url": DOWNLOAD_PATH.format(request_id=request.id, attachment_id=a.id),
                }
                for a in _shown_attachments(request)
            ],
            "next_actions": lifecycle.next_actions(facts_of(request), clock.now()),
        }
    )
    return detail


def _shown_attachments(request: Request) -> list[Attachment]:
    """Single files bundled into a cassetto archive are shown (and served) as the archive."""
    return [a for a in request.attachments if a.bundled_into is None]


def attachment_download(session, store, caller: Caller, request_id: str, attachment_id: str) -> dict:
    """What the gateway needs to serve one attachment to a caller who may read its request.

    Downloads go through the gateway rather than to presigned links on a public endpoint of
    the object store: such a link works for whoever holds it (a proxy log, the browser
    history, a forwarded e-mail), even after the caller lost access, needs the store on the
    internet, and answers with the store's headers. Here every download is authorised by
    the access policy at that moment, and the store stays internal. The link returned is
    presigned on the internal endpoint for a minute; the gateway, which holds no storage
    credentials, streams from it and never shows it.
    """
    request = readable_request(session, caller, request_id)
    try:
        wanted = uuid.UUID(str(attachment_id))
    except ValueError:
        wanted = None
    attachment = next((a for a in _shown_attachments(request) if a.id == wanted), None)
    if attachment is None:
        raise NotFound("attachment_not_found", "Allegato non trovato.")
    return {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "store_url": store.download_url(attachment.object_key, expires=STORE_LINK_LIFETIME),
    }


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


def scope_condition(caller: Caller):
    """What a caller may list: the same scope ``access.can_read`` checks, as SQL."""
    return access.sql_condition(access.require_some_scope(caller), OWNERSHIP_COLUMNS)


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ROME)


def search(session, catalog: Catalog, caller: Caller, filters: dict) -> dict:
    """History (requesters) and work queue (officials), newest update first, paginated."""
    query = select(Request).where(scope_condition(caller))
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
    rows = session.scalars(
        query.order_by(Request.updated_at.desc(), Request.id).offset((page - 1) * size).limit(size)
    ).all()
    return {"items": [summary(r, catalog) for r in rows], "page": page, "page_size": size, "total": total}
