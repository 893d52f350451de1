"""The CRM view (msg 3813/2021: COMBIPAT "integrata nella piattaforma di Customer Relationship
Management [...] attraverso la quale può essere visualizzata l'interlocuzione in corso
dell'utente"): an official of any sede sees a read-only summary of a citizen's (codice
fiscale) or a company's (matricola) conversations across sedi — protocol, subject, state,
sede, dates, never a text — and every look-up is written to the audit log in the same
transaction, whatever it found. Administrators read the log.

Who may look is the access policy's (``shared.access.require_crm_lookup``, asked by the
entrypoint); the log is append-only (only ``record_lookup`` writes it; the database refuses
updates and deletes).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select

from services.intake.catalog import Catalog
from services.intake.models import CrmLookup, Request
from shared.access import Caller
from shared.clock import ROME
from shared.errors import InvalidInput, field_error
from shared.identifiers import IdentifierError, check_codice_fiscale_persona, check_matricola

MAX_SHOWN = 200  # a citizen's or a company's conversations: a page is enough to see where they are


def whose(query: dict) -> tuple[str, str]:
    """The data looked at: ("codice_fiscale" | "matricola", value checked), exactly one."""
    given = [(kind, query.get(kind)) for kind in ("codice_fiscale", "matricola") if query.get(kind)]
    if len(given) != 1:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "codice_fiscale",
                    "one_subject_required",
                    "Indicare il codice fiscale del cittadino oppure la matricola dell'azienda (uno solo).",
                )
            ]
        )
    kind, value = given[0]
    check = check_codice_fiscale_persona if kind == "codice_fiscale" else check_matricola
    try:
        return kind, check(value)
    except IdentifierError as exc:
        raise InvalidInput.from_errors([field_error(kind, exc.code, exc.detail)]) from None


def conversations(session, catalog: Catalog, caller: Caller, query: dict, now: datetime) -> dict:
    """The summary of the conversations of one citizen or company, in every sede; the look-up
    is recorded in the audit log in the same transaction."""
    kind, value = whose(query)
    column = Request.citizen_codice_fiscale if kind == "codice_fiscale" else Request.matricola
    rows = session.scalars(
        select(Request)
        .where(column == value)
        .order_by(Request.updated_at.desc(), Request.id)
        .limit(MAX_SHOWN)
    ).all()
    total = session.scalar(select(func.count()).select_from(Request).where(column == value))
    record_lookup(session, caller, kind, value, total, now)
    return {
        kind: value,
        "total": total,
        "items": [_summary(row, catalog) for row in rows],
    }


def _summary(request: Request, catalog: Catalog) -> dict:
    subject = catalog.find_version(request.catalog_version, request.subject_code)
    return {
        "protocol": request.protocol,
        "origin": request.origin,
        "channel": request.channel,
        "subject": {
            "code": request.subject_code,
            "label": subject.label if subject else request.subject_code,
        },
        "state": request.state,
        "sede": request.assigned_sede,
        "region": request.assigned_region,
        "submitted_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
        "closed_at": request.closed_at.isoformat() if request.closed_at else None,
    }


def record_lookup(session, caller: Caller, kind: str, value: str, results: int, now: datetime) -> None:
    """The one writer of the audit log: a new row, never a change to one."""
    session.add(
        CrmLookup(
            at=now,
            actor_sub=caller.sub,
            actor_role=caller.role,
            actor_sede=caller.sede,
            subject_kind=kind,
            subject_value=value,
            results=results,
        )
    )
    session.flush()


def audit_log(session, filters: dict) -> dict:
    """The look-ups, newest first, by who looked, whose data, and Rome days."""
    query = select(CrmLookup)
    if filters.get("actor"):
        query = query.where(CrmLookup.actor_sub == filters["actor"])
    looked_at = [filters[kind] for kind in ("codice_fiscale", "matricola") if filters.get(kind)]
    if looked_at:
        query = query.where(or_(*(CrmLookup.subject_value == value for value in looked_at)))
    if filters.get("from_"):
        query = query.where(CrmLookup.at >= datetime.combine(filters["from_"], time.min, tzinfo=ROME))
    if filters.get("to"):
        query = query.where(
            CrmLookup.at < datetime.combine(filters["to"] + timedelta(days=1), time.min, tzinfo=ROME)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, size = filters.get("page", 1), filters.get("page_size", 50)
    rows = session.scalars(
        query.order_by(CrmLookup.at.desc(), CrmLookup.id.desc()).offset((page - 1) * size).limit(size)
    ).all()
    return {
        "items": [
            {
                "at": row.at.isoformat(),
                "actor": row.actor_sub,
                "actor_role": row.actor_role,
                "actor_sede": row.actor_sede,
                "subject_kind": row.subject_kind,
                "subject_value": row.subject_value,
                "results": row.results,
            }
            for row in rows
        ],
        "page": page,
        "page_size": size,
        "total": total,
    }
