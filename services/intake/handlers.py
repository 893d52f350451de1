"""Intake use cases: each takes its ports (session, object store, clock) as arguments.

The nameko service calls these inside one unit of work; events go to the outbox in the
same transaction as the state change.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select

from services.intake import domain
from services.intake.catalog import Catalog
from services.intake.models import Attachment, Request, StateChange, protocol_sequence
from shared.errors import InvalidInput, NotFound, field_error
from shared.events import REQUEST_SUBMITTED, make_event
from shared.outbox import add_event

PRODUCER = "intake"


def store_attachment(session, store, clock, caller: dict, filename: str, data: bytes) -> dict:
    content_type, safe_name = domain.check_attachment(filename, data)
    attachment_id = uuid.uuid4()
    key = f"attachments/{attachment_id}/{safe_name}"
    store.put(key, data, content_type)
    attachment = Attachment(
        id=attachment_id,
        owner_sub=caller["sub"],
        filename=safe_name,
        content_type=content_type,
        size=len(data),
        object_key=key,
        created_at=clock.now(),
    )
    session.add(attachment)
    return {"id": str(attachment_id), "filename": safe_name, "content_type": content_type, "size": len(data)}


def _claim_attachments(session, caller: dict, valid: domain.ValidSubmission) -> list[Attachment]:
    if not valid.attachment_ids:
        return []
    wanted = [uuid.UUID(a) for a in valid.attachment_ids]
    found = session.scalars(
        select(Attachment).where(Attachment.id.in_(wanted)).with_for_update()
    ).all()
    usable = {a.id: a for a in found if a.owner_sub == caller["sub"] and a.request_id is None}
    missing = [str(a) for a in wanted if a not in usable]
    if missing:
        raise InvalidInput.from_errors(
            [field_error("attachments", "unknown_attachment", f"Allegato non trovato o già utilizzato: {', '.join(missing)}.")]
        )
    domain.check_attachments_total(valid.channel, [a.size for a in usable.values()])
    return [usable[a] for a in wanted]


def _check_parent(session, caller: dict, parent_id: str | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Request, uuid.UUID(parent_id))
    if parent is None or not domain.can_read(caller, request_view(parent)):
        raise InvalidInput.from_errors(
            [field_error("parent_id", "unknown_parent", "La richiesta a cui si risponde non esiste o non è accessibile.")]
        )


def next_protocol(session, clock) -> str:
    number = session.execute(protocol_sequence.next_value()).scalar_one()
    return f"COMBID.{clock.now().year}.{number:08d}"


def submit_request(session, clock, catalog: Catalog, caller: dict, submission: dict, correlation_id: str | None = None) -> dict:
    valid = domain.validate_submission(caller, submission, catalog)
    attachments = _claim_attachments(session, caller, valid)
    _check_parent(session, caller, valid.parent_id)

    now = clock.now()
    request = Request(
        id=uuid.uuid4(),
        protocol=next_protocol(session, clock),
        origin=valid.channel.origin,
        channel=valid.channel.name,
        profile=valid.channel.profile,
        subject_code=valid.subject.code,
        catalog_version=valid.subject.catalog_version,
        area=valid.subject.area,
        sla_days=valid.subject.sla_days,
        text=valid.text,
        case_identifier=valid.case_identifier,
        citizen_codice_fiscale=(valid.citizen or {}).get("codice_fiscale"),
        citizen_cap=(valid.citizen or {}).get("cap"),
        matricola=valid.matricola,
        patronato_ente=(valid.patronato or {}).get("ente"),
        patronato_ufficio=(valid.patronato or {}).get("ufficio"),
        contacts=valid.contacts,
        parent_id=uuid.UUID(valid.parent_id) if valid.parent_id else None,
        requester_sub=caller["sub"],
        requester_name=caller.get("name") or "",
        state=domain.STATE_OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    for attachment in attachments:
        attachment.request_id = request.id
    session.add(StateChange(request_id=request.id, from_state=None, to_state=domain.STATE_OPEN, comment=None, actor=caller["sub"], at=now))

    add_event(
        session,
        make_event(
            REQUEST_SUBMITTED,
            {
                "request_id": request.id,
                "protocol": request.protocol,
                "origin": request.origin,
                "channel": request.channel,
                "profile": request.profile,
                "subject": request.subject_code,
                "catalog_version": request.catalog_version,
                "area": request.area,
                "sla_days": request.sla_days,
                "citizen": valid.citizen,
                "matricola": request.matricola,
                "patronato": valid.patronato,
                "case_identifier": valid.case_identifier,
                "contacts": {"email": valid.contacts.get("email"), "sms": valid.contacts.get("sms")},
                "parent_id": request.parent_id,
                "requester": caller["sub"],
                "submitted_at": now,
            },
            producer=PRODUCER,
            correlation_id=correlation_id,
            occurred_at=now,
        ),
    )
    return {"id": str(request.id), "protocol": request.protocol, "state": request.state}


def record_assignment(session, event) -> None:
    """Apply ``request_routed``: the request now sits in a sede's (or triage's) queue."""
    payload = event.payload
    request = session.get(Request, payload["request_id"], with_for_update=True)
    if request is None:
        # routed before we could see it is impossible (we emitted it); a foreign id is a bug upstream
        raise LookupError(f"request_routed for unknown request {payload['request_id']}")
    if request.routed_at is not None and request.routed_at > payload["decided_at"]:
        return  # an older decision arriving late does not overwrite a newer one
    request.assignment = dict(payload["assignment"])
    request.assigned_sede = payload["assignment"]["code"] if payload["assignment"]["kind"] != "triage" else None
    request.routed_at = payload["decided_at"]
    request.updated_at = max(request.updated_at, payload["decided_at"])


def request_view(request: Request) -> dict:
    """The fields visibility rules look at."""
    return {
        "matricola": request.matricola,
        "patronato": {"ente": request.patronato_ente, "ufficio": request.patronato_ufficio} if request.patronato_ente else None,
        "assignment": request.assignment,
        "requester_sub": request.requester_sub,
    }


def get_request(session, store, catalog: Catalog, caller: dict, request_id: str) -> dict:
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
    request = session.get(Request, key)
    if request is None or not domain.can_read(caller, request_view(request)):
        raise NotFound("request_not_found", "Richiesta non trovata.")
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
        "text": request.text,
        "case_identifier": request.case_identifier,
        "citizen": {"codice_fiscale": request.citizen_codice_fiscale, "cap": request.citizen_cap} if request.citizen_codice_fiscale else None,
        "matricola": request.matricola,
        "patronato": {"ente": request.patronato_ente, "ufficio": request.patronato_ufficio} if request.patronato_ente else None,
        "parent_id": str(request.parent_id) if request.parent_id else None,
        "state": request.state,
        "assignment": request.assignment,
        "state_history": [
            {"from_state": c.from_state, "to_state": c.to_state, "comment": c.comment, "actor": c.actor, "at": c.at.isoformat()}
            for c in request.state_changes
        ],
        "attachments": [
            {
                "id": str(a.id),
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "download_url": store.download_url(a.object_key),
            }
            for a in request.attachments
        ],
        "submitted_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
    }
