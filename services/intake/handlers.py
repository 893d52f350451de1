"""Intake use cases for submission: attachments, requests, routing decisions, grants.

Each takes its ports (session, object store, clock) as arguments; the nameko service runs
it inside one unit of work, so events go to the outbox in the same transaction as the
state change they describe.
"""

from __future__ import annotations

import io
import logging
import uuid
import zipfile
from datetime import timedelta

from sqlalchemy import select

from services.intake import domain
from services.intake.catalog import Catalog
from services.intake.lifecycle import STATE_OPEN
from services.intake.models import Attachment, ReferenteGrant, Request, StateChange, protocol_sequence
from shared import access
from shared.access import Caller
from shared.contracts import check_operator_id
from shared.errors import Forbidden, InvalidInput, field_error
from shared.events import REQUEST_SUBMITTED, make_event
from shared.outbox import add_event

PRODUCER = "intake"
STAGED_ATTACHMENT_LIFETIME = timedelta(hours=24)
PURGE_BATCH = 200
# after a few failed deletes the store is taken as unreachable: the rest waits for the next purge
PURGE_MAX_FAILURES = 3

log = logging.getLogger(__name__)


def emit(session, event_type: str, payload: dict, correlation_id: str | None, clock) -> None:
    add_event(
        session,
        make_event(
            event_type, payload, producer=PRODUCER, correlation_id=correlation_id, occurred_at=clock.now()
        ),
    )


# ---- attachments ---------------------------------------------------------------------


def store_attachment(session, store, clock, caller: Caller, filename: str, data: bytes) -> dict:
    """Check and stage one uploaded file; it joins a request when the request names it."""
    content_type, safe_name = domain.check_attachment(filename, data)
    attachment_id = uuid.uuid4()
    key = f"attachments/{attachment_id}/{safe_name}"
    store.put(key, data, content_type)
    session.add(
        Attachment(
            id=attachment_id,
            owner_sub=caller.sub,
            filename=safe_name,
            content_type=content_type,
            size=len(data),
            object_key=key,
            created_at=clock.now(),
        )
    )
    return {"id": str(attachment_id), "filename": safe_name, "content_type": content_type, "size": len(data)}


def _claim_attachments(session, caller: Caller, valid: domain.ValidSubmission) -> list[Attachment]:
    if not valid.attachment_ids:
        return []
    domain.check_attachment_count(valid.channel, len(set(valid.attachment_ids)))
    wanted = list(dict.fromkeys(uuid.UUID(a) for a in valid.attachment_ids))
    found = session.scalars(select(Attachment).where(Attachment.id.in_(wanted)).with_for_update()).all()
    # a purged upload (its file is being deleted) can no longer be claimed
    usable = {
        a.id: a for a in found if a.owner_sub == caller.sub and a.request_id is None and a.purged_at is None
    }
    missing = [str(a) for a in wanted if a not in usable]
    if missing:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "attachments",
                    "unknown_attachment",
                    f"Allegato non trovato o già utilizzato: {', '.join(missing)}.",
                )
            ]
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
            id=archive_id,
            request_id=request.id,
            owner_sub=request.requester_sub,
            filename=filename,
            content_type="application/zip",
            size=len(data),
            object_key=key,
            created_at=clock.now(),
        )
    )
    for attachment in files:
        attachment.bundled_into = archive_id


def attachments_to_purge(session, clock) -> list[tuple[uuid.UUID, str]]:
    """Files nobody needs: uploads never used by a request within a day (a refused or
    abandoned submission keeps nothing), and single files already bundled in an archive.

    Returns (attachment id, object key) pairs whose objects the caller deletes once this
    transaction has committed, then reports with ``forget_purged``. Rows a submission is
    claiming right now are locked by it: SKIP LOCKED passes them by, never waits for them.
    An abandoned upload is marked purged here, so no submission can claim it any more; its
    row goes only when its object is gone, so a failed delete is retried by the next purge
    (so is a bundled file, marked purged only then).
    """
    stale_before = clock.now() - STAGED_ATTACHMENT_LIFETIME
    abandoned = session.scalars(
        select(Attachment)
        .where(Attachment.request_id.is_(None), Attachment.created_at < stale_before)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    bundled = session.scalars(
        select(Attachment)
        .where(Attachment.bundled_into.is_not(None), Attachment.purged_at.is_(None))
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for attachment in abandoned:
        attachment.purged_at = attachment.purged_at or clock.now()
    return [(a.id, a.object_key) for a in (*abandoned, *bundled)]


def remove_objects(store, doomed: list[tuple[uuid.UUID, str]]) -> list[uuid.UUID]:
    """Delete the objects of purged attachments (after their rows' commit); returns the ids
    whose object is gone. A failure is logged and left to the next purge."""
    removed, failures = [], 0
    for attachment_id, key in doomed:
        try:
            store.delete(key)  # deleting a missing object succeeds: a retry is harmless
        except Exception as exc:  # noqa: BLE001 - whatever failed, the row still asks for it
            failures += 1
            log.warning(
                "attachment %s: object not deleted (%s), the next purge retries",
                attachment_id,
                type(exc).__name__,
            )
            if failures >= PURGE_MAX_FAILURES:
                break
        else:
            removed.append(attachment_id)
    return removed


def forget_purged(session, clock, removed: list[uuid.UUID]) -> None:
    """The objects are gone: an abandoned upload's row goes too, a bundled file is marked purged."""
    if not removed:
        return
    for attachment in session.scalars(select(Attachment).where(Attachment.id.in_(removed)).with_for_update()):
        if attachment.request_id is None:
            session.delete(attachment)
        else:
            attachment.purged_at = clock.now()


# ---- submission ----------------------------------------------------------------------


def referente_granted(session, caller: Caller) -> bool:
    if caller.role != "patronato_operatore" or not caller.patronato:
        return False
    grant = session.get(ReferenteGrant, (caller.patronato, caller.sub))
    return bool(grant and grant.granted)


def _check_parent(session, caller: Caller, parent_id: str | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Request, uuid.UUID(parent_id))
    if parent is None or not access.can_read(caller, ownership(parent)):
        raise InvalidInput.from_errors(
            [
                field_error(
                    "parent_id",
                    "unknown_parent",
                    "La richiesta a cui si risponde non esiste o non è accessibile.",
                )
            ]
        )


def next_protocol(session, clock) -> str:
    number = session.execute(protocol_sequence.next_value()).scalar_one()
    return f"COMBID.{clock.now().year}.{number:08d}"


def submit_request(
    session,
    store,
    clock,
    catalog: Catalog,
    caller: Caller,
    submission: dict,
    correlation_id: str | None = None,
) -> dict:
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
        requester_sub=caller.sub,
        requester_name=caller.name or "",
        requester_role=caller.role,
        consulente_codice_fiscale=caller.codice_fiscale if valid.channel.name == "cassetto" else None,
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
    session.add(
        StateChange(
            request_id=request.id,
            from_state=None,
            to_state=STATE_OPEN,
            comment=None,
            actor=caller.sub,
            at=now,
        )
    )
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
        "citizen": {"codice_fiscale": request.citizen_codice_fiscale, "cap": request.citizen_cap}
        if request.citizen_codice_fiscale
        else None,
        "matricola": request.matricola,
        "patronato": {"ente": request.patronato_ente, "ufficio": request.patronato_ufficio}
        if request.patronato_ente
        else None,
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
    request.assigned_sede = (
        payload["assignment"]["code"] if payload["assignment"]["kind"] != "triage" else None
    )
    request.assigned_region = payload["assignment"].get("region")
    request.routed_at = payload["decided_at"]
    request.updated_at = max(request.updated_at, payload["decided_at"])


# The access policy's ownership facts and the columns that hold them: one mapping builds
# both the facts of a loaded request and the SQL filter of a search (queries.py).
OWNERSHIP_COLUMNS = {
    "origin": Request.origin,
    "requester": Request.requester_sub,
    "patronato_ente": Request.patronato_ente,
    "patronato_ufficio": Request.patronato_ufficio,
    "matricola": Request.matricola,
    "consulente": Request.consulente_codice_fiscale,
    "assigned_sede": Request.assigned_sede,
    "assigned_region": Request.assigned_region,
    "area": Request.area,
}


def ownership(request: Request) -> access.Ownership:
    """The facts of a request the access policy looks at."""
    return access.Ownership(
        **{fact: getattr(request, column.key) for fact, column in OWNERSHIP_COLUMNS.items()}
    )


# ---- patronato profiles ---------------------------------------------------------------


def set_referente_profile(session, clock, caller: Caller, operator_sub: str, granted: bool) -> dict:
    """A patronato's amministratore grants or revokes the referente regionale profile for one
    of its own operators; effective for that operator's next requests."""
    if caller.role != "patronato_admin":
        raise Forbidden("patronato_admin_only", "Operazione riservata all'amministratore del patronato.")
    operator_sub = check_operator_id(operator_sub)
    if not caller.patronato:
        raise Forbidden("missing_patronato_scope", "Il token non indica il codice del patronato.")
    grant = session.get(ReferenteGrant, (caller.patronato, operator_sub))
    if grant is None:
        grant = ReferenteGrant(patronato_ente=caller.patronato, operator_sub=operator_sub)
        session.add(grant)
    grant.granted = granted
    grant.changed_by = caller.sub
    grant.changed_at = clock.now()
    return {
        "operator": operator_sub,
        "patronato": caller.patronato,
        "referente_regionale": granted,
        "changed_at": grant.changed_at.isoformat(),
    }
