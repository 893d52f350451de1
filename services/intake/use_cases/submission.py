"""Submission: the subjects a caller is offered, a new request with its attachments, and
the referente regionale profile a patronato's amministratore grants."""

from __future__ import annotations

import io
import uuid
import zipfile

from services.intake.aggregate import Request
from services.intake.catalog import Catalog
from services.intake.models import Attachment, ReferenteGrant
from services.intake.rules.attachments import check_attachment_count, check_attachments_total
from services.intake.rules.submission import ValidSubmission, subject_profiles_for, validate_submission
from services.intake.unit_of_work import UnitOfWork
from shared import access
from shared.access import Caller
from shared.contracts import check_operator_id
from shared.errors import Forbidden, InvalidInput, field_error
from shared.vocabulary import CRIC_SECTIONS


def offered_subjects(uow: UnitOfWork, catalog: Catalog, caller: Caller) -> list[dict]:
    channel, profiles = subject_profiles_for(caller, referente_granted(uow, caller))
    return [
        {
            **subject.as_dict(),
            "channel_rules": catalog.rules_for(subject.channel).as_dict(),
            # a referente regionale names the CRIC section the question concerns
            "cric_sections": [{"code": code, "label": label} for code, label in CRIC_SECTIONS.items()]
            if "referente_regionale" in subject.profiles and "referente_regionale" in profiles
            else [],
        }
        for subject in catalog.offered(channel, profiles)
    ]


def submit_request(uow: UnitOfWork, store, catalog: Catalog, caller: Caller, submission: dict) -> dict:
    valid = validate_submission(caller, submission, catalog, referente_granted(uow, caller))
    uploads = _claim_attachments(uow, caller, valid)
    _check_parent(uow, caller, valid.parent_id)
    now = uow.clock.now()
    request = Request.submit(valid, caller, uow.requests.next_protocol(now), now)
    uow.requests.add(request)
    request.attach(uploads)
    if uploads and valid.channel.name == "cassetto":
        _bundle_cassetto_attachments(uow, store, request, uploads)
    uow.commit()
    return {"id": str(request.id), "protocol": request.protocol, "state": request.state}


def referente_granted(uow: UnitOfWork, caller: Caller) -> bool:
    if caller.role != "patronato_operatore" or not caller.patronato:
        return False
    grant = uow.grants.get(caller.patronato, caller.sub)
    return bool(grant and grant.granted)


def _claim_attachments(uow: UnitOfWork, caller: Caller, valid: ValidSubmission) -> list[Attachment]:
    if not valid.attachment_ids:
        return []
    check_attachment_count(valid.channel, len(set(valid.attachment_ids)))
    wanted = list(dict.fromkeys(uuid.UUID(a) for a in valid.attachment_ids))
    # a purged upload (its file is being deleted) can no longer be claimed
    usable = {
        a.id: a
        for a in uow.attachments.locked(wanted)
        if a.owner_sub == caller.sub and a.request_id is None and a.purged_at is None
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
    check_attachments_total(valid.channel, [a.size for a in usable.values()])
    return [usable[a] for a in wanted]


def _bundle_cassetto_attachments(uow: UnitOfWork, store, request: Request, files: list[Attachment]) -> None:
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
    uow.attachments.add(
        Attachment(
            id=archive_id,
            request_id=request.id,
            owner_sub=request.row.requester_sub,
            filename=filename,
            content_type="application/zip",
            size=len(data),
            object_key=key,
            created_at=uow.clock.now(),
        )
    )
    for attachment in files:
        attachment.bundled_into = archive_id


def _check_parent(uow: UnitOfWork, caller: Caller, parent_id: str | None) -> None:
    if parent_id is None:
        return
    parent = uow.requests.get(parent_id, for_update=False)
    if parent is None or not access.can_read(caller, parent.ownership):
        raise InvalidInput.from_errors(
            [
                field_error(
                    "parent_id",
                    "unknown_parent",
                    "La richiesta a cui si risponde non esiste o non è accessibile.",
                )
            ]
        )


# ---- patronato profiles ---------------------------------------------------------------


def set_referente_profile(uow: UnitOfWork, caller: Caller, operator_sub: str, granted: bool) -> dict:
    """A patronato's amministratore grants or revokes the referente regionale profile for one
    of its own operators; effective for that operator's next requests."""
    if caller.role != "patronato_admin":
        raise Forbidden("patronato_admin_only", "Operazione riservata all'amministratore del patronato.")
    operator_sub = check_operator_id(operator_sub)
    if not caller.patronato:
        raise Forbidden("missing_patronato_scope", "Il token non indica il codice del patronato.")
    grant = uow.grants.get(caller.patronato, operator_sub)
    if grant is None:
        grant = ReferenteGrant(patronato_ente=caller.patronato, operator_sub=operator_sub)
        uow.grants.add(grant)
    grant.granted = granted
    grant.changed_by = caller.sub
    grant.changed_at = uow.clock.now()
    uow.commit()
    return {
        "operator": operator_sub,
        "patronato": caller.patronato,
        "referente_regionale": granted,
        "changed_at": grant.changed_at.isoformat(),
    }
