"""Intake use cases for submission: attachments, requests, routing decisions, grants.

Each takes its ports (session, object store, clock) as arguments; the nameko service runs
it inside one unit of work, so events go to the outbox in the same transaction as the
state change they describe.
"""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import timedelta

from sqlalchemy import select

from services.intake import domain
from services.intake.catalog import Catalog
from services.intake.lifecycle import STATE_OPEN
from services.intake.models import Attachment, ReferenteGrant, Request, StateChange, protocol_sequence
from shared.errors import Forbidden, InvalidInput, field_error
from shared.events import REQUEST_SUBMITTED, make_event
from shared.outbox import add_event

PRODUCER = "intake"
STAGED_ATTACHMENT_LIFETIME = timedelta(hours=24)


def emit(session, event_type: str, payload: dict, correlation_id: str | None, clock) -> None:
    add_event(session, make_event(event_type, payload, producer=PRODUCER, correlation_id=correlation_id, occurred_at=clock.now()))


# ---- attachments ---------------------------------------------------------------------


def store_attachment(session, store, clock, caller: dict, filename: str, data: bytes) -> dict:
    """Check and stage one uploaded file; it joins a request when the request names it."""
    content_type, safe_name = domain.check_attachment(filename, data)
    attachment_id = uuid.uuid4()
    key = f"attachments/{attachment_id}/{safe_name}"
    store.put(key, data, content_type)
    session.add(
        Attachment(
            id=attachment_id,
            owner_sub=caller["sub"],
            filename=safe_name,
            content_type=content_type,
            size=len(data),
            object_key=key,
            created_at=clock.now(),
        )
    )
    return {"id": str(attachment_id), "filename": safe_name, "content_type": content_type, "size": len(data)}


def _claim_attachments(session, caller: dict, valid: domain.ValidSubmission) -> list[Attachment]:
    if not valid.attachment_ids:
        return []
    domain.check_attachment_count(valid.channel, len(set(valid.attachment_ids)))
    wanted = list(dict.fromkeys(uuid.UUID(a) for a in valid.attachment_ids))
    found = session.scalars(select(Attachment).where(Attachment.id.in_(wanted)).with_for_update()).all()
    usable = {a.id: a for a in found if a.owner_sub == caller["sub"] and a.request_id is None}
    missing = [str(a) for a in wanted if a not in usable]
    if missing:
        raise InvalidInput.from_errors(
            [field_error("attachments", "unknown_attachment", f"Allegato non trovato o già utilizzato: {', '.join(missing)}.")]
        )
    domain.check_attachments_total(valid.channel, [a.size for a in usable.values()])
    return [usable[a] for a in wanted]


def _bundle_cassetto_attachments(session, store, clock, request: Request, files: list[Attachment]) -> None:
    """Cassetto files are kept together as one compressed archive (messaggio 1986/2011)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        names = set()
        for attachment in files:
            name = attachment.filename
            while name in names:  # two files with the same name stay distinct
                name = f"{uuid.uuid4().hex[:4]}-{name}"
            names.add(name)
            archive.writestr(name, store.get(attachment.object_key))
    archive_id = uuid.uuid4()
    filename = f"allegati-{request.protocol.replace('.', '-')}.zip"
    key = f"requests/{request.id}/{filename}"
    data = buffer.getvalue()
    store.put(key, data, "application/zip")
    session.add(
        Attachment(
            id=archive_id, request_id=request.id, owner_sub=request.requester_sub, filename=filename,
            content_type="application/zip", size=len(data), object_key=key, created_at=clock.now(),
        )
    )
    for attachment in files:
        attachment.bundled_into = archive_id


def purge_attachments(session, store, clock) -> int:
    """Remove files nobody needs: uploads never used by a request within a day (a refused
    or abandoned submission keeps nothing), and single files already bundled in an archive."""
    stale_before = clock.now() - STAGED_ATTACHMENT_LIFETIME
    abandoned = session.scalars(
        select(Attachment).where(Attachment.request_id.is_(None), Attachment.created_at < stale_before).limit(200)
    ).all()
    bundled = session.scalars(
        select(Attachment).where(Attachment.bundled_into.is_not(None), Attachment.purged_at.is_(None)).limit(200)
    ).all()
    for attachment in abandoned:
        store.delete(attachment.object_key)
        session.delete(attachment)
    for attachment in bundled:
        store.delete(attachment.object_key)
        attachment.purged_at = clock.now()
    return len(abandoned) + len(bundled)


# ---- submission ----------------------------------------------------------------------


def referente_granted(session, caller: dict) -> bool:
    if caller["role"] != "patronato_operatore" or not caller.get("patronato"):
        return False
    grant = session.get(ReferenteGrant, (caller["patronato"], caller["sub"]))
    return bool(grant and grant.granted)


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


def submit_request(session, store, clock, catalog: Catalog, caller: dict, submission: dict, correlation_id: str | None = None) -> dict:
    valid = domain.validate_submission(caller, submission, catalog, referente_granted(session, caller))
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
        requester_role=caller["role"],
        consulente_codice_fiscale=caller.get("codice_fiscale") if valid.channel.name == "cassetto" else None,
        state=STATE_OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    for attachment in attachments:
        attachment.request_id = request.id
    if attachments and valid.channel.name == "cassetto":
        _bundle_cassetto_attachments(session, store, clock, request, attachments)
    session.add(StateChange(request_id=request.id, from_state=None, to_state=STATE_OPEN, comment=None, actor=caller["sub"], at=now))
    emit(session, REQUEST_SUBMITTED, submitted_payload(request), correlation_id, clock)
    return {"id": str(request.id), "protocol": request.protocol, "state": request.state}


def submitted_payload(request: Request) -> dict:
    return {
        "request_id": request.id,
        "protocol": request.protocol,
        "origin": request.origin,
        "channel": request.channel,
        "profile": request.profile,
        "subject": request.subject_code,
        "catalog_version": request.catalog_version,
        "area": request.area,
        "sla_days": request.sla_days,
        "citizen": {"codice_fiscale": request.citizen_codice_fiscale, "cap": request.citizen_cap} if request.citizen_codice_fiscale else None,
        "matricola": request.matricola,
        "patronato": {"ente": request.patronato_ente, "ufficio": request.patronato_ufficio} if request.patronato_ente else None,
        "case_identifier": request.case_identifier,
        "contacts": {"email": request.contacts.get("email"), "sms": request.contacts.get("sms")},
        "parent_id": request.parent_id,
        "requester": request.requester_sub,
        "submitted_at": request.created_at,
    }


# ---- routing decisions -----------------------------------------------------------------


def record_assignment(session, event) -> None:
    """Apply ``request_routed``: the request now sits in a sede's (or triage's) queue."""
    payload = event.payload
    request = session.get(Request, payload["request_id"], with_for_update=True)
    if request is None:
        # we emitted request_submitted for every request; an unknown id is an upstream bug
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
        "consulente": request.consulente_codice_fiscale,
        "assigned_sede": request.assigned_sede,
        "assigned_region": (request.assignment or {}).get("region"),
    }


# ---- patronato profiles ---------------------------------------------------------------


def set_referente_profile(session, clock, caller: dict, operator_sub: str, granted: bool) -> dict:
    """A patronato's amministratore grants or revokes the referente regionale profile for one
    of its own operators; effective for that operator's next requests."""
    if caller["role"] != "patronato_admin":
        raise Forbidden("patronato_admin_only", "Operazione riservata all'amministratore del patronato.")
    if not caller.get("patronato"):
        raise Forbidden("missing_patronato_scope", "Il token non indica il codice del patronato.")
    grant = session.get(ReferenteGrant, (caller["patronato"], operator_sub))
    if grant is None:
        grant = ReferenteGrant(patronato_ente=caller["patronato"], operator_sub=operator_sub)
        session.add(grant)
    grant.granted = granted
    grant.changed_by = caller["sub"]
    grant.changed_at = clock.now()
    return {
        "operator": operator_sub,
        "patronato": caller["patronato"],
        "referente_regionale": granted,
        "changed_at": grant.changed_at.isoformat(),
    }
