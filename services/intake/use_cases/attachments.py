"""Staged uploads: one file checked and stored, waiting for the request that names it, and
the purge of the files nobody needs."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from services.intake.models import Attachment
from services.intake.rules.attachments import check_attachment
from services.intake.unit_of_work import UnitOfWork
from shared.access import Caller

STAGED_ATTACHMENT_LIFETIME = timedelta(hours=24)
PURGE_BATCH = 200
# after a few failed deletes the store is taken as unreachable: the rest waits for the next purge
PURGE_MAX_FAILURES = 3

log = logging.getLogger(__name__)


def store_attachment(uow: UnitOfWork, store, caller: Caller, filename: str, data: bytes) -> dict:
    """Check and stage one uploaded file; it joins a request when the request names it."""
    content_type, safe_name = check_attachment(filename, data)
    attachment_id = uuid.uuid4()
    key = f"attachments/{attachment_id}/{safe_name}"
    store.put(key, data, content_type)
    uow.attachments.add(
        Attachment(
            id=attachment_id,
            owner_sub=caller.sub,
            filename=safe_name,
            content_type=content_type,
            size=len(data),
            object_key=key,
            created_at=uow.clock.now(),
        )
    )
    uow.commit()
    return {"id": str(attachment_id), "filename": safe_name, "content_type": content_type, "size": len(data)}


def attachments_to_purge(uow: UnitOfWork) -> list[tuple[uuid.UUID, str]]:
    """Files nobody needs: uploads never used by a request within a day (a refused or
    abandoned submission keeps nothing), and single files already bundled in an archive.

    Returns (attachment id, object key) pairs whose objects the caller deletes once this
    transaction has committed, then reports with ``forget_purged``. Rows a submission is
    claiming right now are locked by it: SKIP LOCKED passes them by, never waits for them.
    An abandoned upload is marked purged here, so no submission can claim it any more; its
    row goes only when its object is gone, so a failed delete is retried by the next purge
    (so is a bundled file, marked purged only then).
    """
    now = uow.clock.now()
    abandoned = uow.attachments.stale_uploads(now - STAGED_ATTACHMENT_LIFETIME, PURGE_BATCH)
    bundled = uow.attachments.bundled_not_purged(PURGE_BATCH)
    for attachment in abandoned:
        attachment.purged_at = attachment.purged_at or uow.clock.now()
    uow.commit()
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


def forget_purged(uow: UnitOfWork, removed: list[uuid.UUID]) -> None:
    """The objects are gone: an abandoned upload's row goes too, a bundled file is marked purged."""
    if not removed:
        return
    for attachment in uow.attachments.locked(removed):
        if attachment.request_id is None:
            uow.attachments.delete(attachment)
        else:
            attachment.purged_at = uow.clock.now()
    uow.commit()
