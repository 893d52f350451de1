"""The read side: a request's detail with its whole thread, one attachment's download, and
the history/queue search.

Views read the stored rows and present them; they decide nothing about access. Whoever
calls one has already checked, with the access policy (shared/access.py), that the
caller may read the request, or passes the scope (``access.require_some_scope``) a search
is limited to.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from services.intake import search as search_module
from services.intake.catalog import Catalog
from services.intake.models import Attachment, Request
from services.intake.rules.conversation import facts_of, next_actions
from services.intake.rules.visibility import assignment_shown
from shared import access
from shared.access import Caller
from shared.errors import NotFound
from shared.vocabulary import ORIGIN_CONTACT_CENTER, ORIGIN_SEDE

MAX_PAGE_SIZE = search_module.MAX_PAGE_SIZE
MAX_CHAINED = 200  # replies to one request shown in its detail (a conversation, not a feed)
# Clients download through the gateway, which asks ``attachment_download`` each time (see there).
DOWNLOAD_PATH = "/api/v1/requests/{request_id}/attachments/{attachment_id}"
# The gateway fetches at once, server-side: a link it lost is useless a minute later.
STORE_LINK_LIFETIME = timedelta(seconds=60)


def find_request(session, request_id) -> Request:
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
    request = session.get(Request, key, with_for_update=False)
    if request is None:
        raise NotFound("request_not_found", "Richiesta non trovata.")
    return request


def detail(
    request: Request,
    catalog: Catalog,
    now: datetime,
    reader: Caller,
    chain: dict | None = None,
) -> dict:
    """Everything about a request ``reader`` may read; ``chain`` is its place among chained
    requests (``chain_of``), when the caller looked it up."""
    shown = summary(request, catalog)
    shown.update(chain or {"parent": None, "chained": []})
    shown.update(
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
            "cric_section": request.cric_section,
            "assignment": assignment_shown(request.assignment, reader),
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
                    "step": c.step,
                    "comment": c.comment,
                    "subject_change": _subject_change(c.details, request, catalog),
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
            "next_actions": next_actions(facts_of(request, catalog.rules_for(request.channel)), now),
        }
    )
    return shown


# Who wrote a chained request, by its origin: the requester's reply, or the office's
# ("comunicazioni concatenate", msg 1986/2011: both directions).
CHAIN_DIRECTIONS = {
    ORIGIN_SEDE: "from_sede",
    ORIGIN_CONTACT_CENTER: "from_contact_center",
}


def chain_of(session, request: Request, catalog: Catalog, scope: access.Scope) -> dict:
    """The request it replies to and the requests that reply to it (the requester's chained
    requests and the sede's communications linked to it), each shown only if ``scope``
    (the reader's, from the access policy) covers it."""
    visible = scope_condition(scope)
    parent = None
    if request.parent_id is not None:
        parent = session.scalars(select(Request).where(Request.id == request.parent_id, visible)).first()
    children = session.scalars(
        select(Request)
        .where(Request.parent_id == request.id, visible)
        .order_by(Request.created_at, Request.id)
        .limit(MAX_CHAINED)
    ).all()
    return {
        "parent": _chain_link(parent, catalog) if parent is not None else None,
        "chained": [_chain_link(child, catalog) for child in children],
    }


def _chain_link(request: Request, catalog: Catalog) -> dict:
    subject = catalog.find_version(request.catalog_version, request.subject_code)
    return {
        "id": str(request.id),
        "protocol": request.protocol,
        "origin": request.origin,
        "direction": CHAIN_DIRECTIONS.get(request.origin, "from_requester"),
        "subject": {
            "code": request.subject_code,
            "label": subject.label if subject else request.subject_code,
        },
        "state": request.state,
        "submitted_at": request.created_at.isoformat(),
    }


def _subject_change(details: dict | None, request: Request, catalog: Catalog) -> dict | None:
    """The subjects of a change of subject, with their labels (same channel as the request)."""
    if not details or "new_subject" not in details:
        return None

    def labelled(code: str) -> dict:
        subject = next((s for s in catalog.subjects if s.code == code and s.channel == request.channel), None)
        return {"code": code, "label": subject.label if subject else code}

    return {"old": labelled(details["old_subject"]), "new": labelled(details["new_subject"])}


def _shown_attachments(request: Request) -> list[Attachment]:
    """Single files bundled into a cassetto archive are shown (and served) as the archive."""
    return [a for a in request.attachments if a.bundled_into is None]


def attachment_download(request: Request, store, attachment_id: str) -> dict:
    """What the gateway needs to serve one attachment of a request the caller may read.

    Downloads go through the gateway rather than to presigned links on a public endpoint of
    the object store: such a link works for whoever holds it (a proxy log, the browser
    history, a forwarded e-mail), even after the caller lost access, needs the store on the
    internet, and answers with the store's headers. Here every download is authorised by
    the access policy at that moment, and the store stays internal. The link returned is
    presigned on the internal endpoint for a minute; the gateway, which holds no storage
    credentials, streams from it and never shows it.
    """
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


def scope_condition(scope: access.Scope):
    """The requests of ``scope`` as SQL: the same facts ``access.can_read`` checks."""
    return search_module.scope_condition(scope)


def search(session, catalog: Catalog, scope: access.Scope, filters: dict) -> dict:
    """History (requesters) and work queue (officials) within ``scope``, newest update
    first: a page by number or after a cursor (services/intake/search.py)."""
    return search_module.search(session, catalog, scope, filters, summary)
