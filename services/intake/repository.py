"""Where intake keeps requests, staged uploads and referente grants: repositories on the
service's database (SQLAlchemy) and in memory (tests without a database).

A requests repository hands out requests as aggregates and remembers the ones it handed
out (``seen``), so that the unit of work collects the events they recorded.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, or_, select

from services.intake import models
from services.intake.aggregate import Request, protocol_for
from shared.db import OutboxMessage
from shared.events import REQUEST_SUBMITTED
from shared.vocabulary import ROUTED_ORIGINS


def _key(request_id) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request_id))
    except ValueError:
        return None


# ---- on the database ------------------------------------------------------------------------


class SqlRequests:
    def __init__(self, session):
        self.session = session
        self.seen: list[Request] = []

    def _track(self, row: models.Request | None) -> Request | None:
        if row is None:
            return None
        request = Request(row)
        self.seen.append(request)
        return request

    def add(self, request: Request) -> None:
        self.session.add(request.row)
        self.session.flush()  # stored before the uploads that join it point at it
        self.seen.append(request)

    def get(self, request_id, for_update: bool = True) -> Request | None:
        """The request (locked for the transaction unless ``for_update`` is False), if any."""
        key = _key(request_id)
        if key is None:
            return None
        return self._track(self.session.get(models.Request, key, with_for_update=for_update))

    def next_protocol(self, now: datetime) -> str:
        number = self.session.execute(models.protocol_sequence.next_value()).scalar_one()
        return protocol_for(number, now)

    def has_external_message(self, message_id: str) -> bool:
        found = self.session.query(models.Request.id).filter(models.Request.external_message_id == message_id)
        return found.first() is not None

    # the unrouted sweep (services/intake/sweep.py)

    def unrouted(self, now: datetime, after: timedelta, every: timedelta, limit: int) -> list[Request]:
        """Requests unrouted ``after`` their submission, not re-sent within ``every``, whose
        earlier ``request_submitted`` no longer waits in the outbox; locked, skipping the
        ones another transaction holds."""
        submission_waiting = exists().where(
            OutboxMessage.aggregate_key == cast(models.Request.id, String),
            OutboxMessage.event_type == REQUEST_SUBMITTED,
            OutboxMessage.published_at.is_(None),
        )
        rows = self.session.scalars(
            select(models.Request)
            .where(
                _unrouted(now, after),
                or_(models.Request.resubmitted_at.is_(None), models.Request.resubmitted_at <= now - every),
                ~submission_waiting,
            )
            .order_by(models.Request.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        return [self._track(row) for row in rows]

    def count_unrouted(self, now: datetime, after: timedelta) -> int:
        return self.session.scalar(
            select(func.count()).select_from(models.Request).where(_unrouted(now, after))
        )


def _unrouted(now: datetime, after: timedelta):
    return and_(
        models.Request.routed_at.is_(None),
        models.Request.origin.in_(ROUTED_ORIGINS),
        models.Request.created_at <= now - after,
    )


class SqlAttachments:
    def __init__(self, session):
        self.session = session

    def add(self, attachment: models.Attachment) -> None:
        self.session.add(attachment)

    def locked(self, ids: list[uuid.UUID]) -> list[models.Attachment]:
        """The attachments of these ids that exist, locked for the transaction."""
        query = select(models.Attachment).where(models.Attachment.id.in_(ids)).with_for_update()
        return list(self.session.scalars(query).all())

    def stale_uploads(self, created_before: datetime, limit: int) -> list[models.Attachment]:
        """Uploads no request claimed, staged before ``created_before``; rows a submission is
        claiming right now are locked by it: SKIP LOCKED passes them by, never waits."""
        query = (
            select(models.Attachment)
            .where(models.Attachment.request_id.is_(None), models.Attachment.created_at < created_before)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(query).all())

    def bundled_not_purged(self, limit: int) -> list[models.Attachment]:
        """Single files already bundled into an archive whose object is still stored."""
        query = (
            select(models.Attachment)
            .where(models.Attachment.bundled_into.is_not(None), models.Attachment.purged_at.is_(None))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(query).all())

    def delete(self, attachment: models.Attachment) -> None:
        self.session.delete(attachment)


class SqlGrants:
    def __init__(self, session):
        self.session = session

    def get(self, patronato_ente: str, operator_sub: str) -> models.ReferenteGrant | None:
        return self.session.get(models.ReferenteGrant, (patronato_ente, operator_sub))

    def add(self, grant: models.ReferenteGrant) -> None:
        self.session.add(grant)


# ---- in memory ----------------------------------------------------------------------------------


class InMemoryRequests:
    def __init__(self, rows=()):
        self.rows: dict[uuid.UUID, models.Request] = {row.id: row for row in rows}
        self.seen: list[Request] = []
        self._numbers = itertools.count(1)

    def add(self, request: Request) -> None:
        self.rows[request.id] = request.row
        self.seen.append(request)

    def get(self, request_id, for_update: bool = True) -> Request | None:
        row = self.rows.get(_key(request_id))
        if row is None:
            return None
        request = Request(row)
        self.seen.append(request)
        return request

    def next_protocol(self, now: datetime) -> str:
        return protocol_for(next(self._numbers), now)

    def has_external_message(self, message_id: str) -> bool:
        return any(row.external_message_id == message_id for row in self.rows.values())


class InMemoryAttachments:
    def __init__(self, rows=()):
        self.rows: dict[uuid.UUID, models.Attachment] = {row.id: row for row in rows}

    def add(self, attachment: models.Attachment) -> None:
        self.rows[attachment.id] = attachment

    def locked(self, ids: list[uuid.UUID]) -> list[models.Attachment]:
        return [self.rows[key] for key in ids if key in self.rows]

    def stale_uploads(self, created_before: datetime, limit: int) -> list[models.Attachment]:
        stale = [a for a in self.rows.values() if a.request_id is None and a.created_at < created_before]
        return stale[:limit]

    def bundled_not_purged(self, limit: int) -> list[models.Attachment]:
        return [a for a in self.rows.values() if a.bundled_into is not None and a.purged_at is None][:limit]

    def delete(self, attachment: models.Attachment) -> None:
        self.rows.pop(attachment.id, None)


class InMemoryGrants:
    def __init__(self, grants=()):
        self.grants = {(g.patronato_ente, g.operator_sub): g for g in grants}

    def get(self, patronato_ente: str, operator_sub: str) -> models.ReferenteGrant | None:
        return self.grants.get((patronato_ente, operator_sub))

    def add(self, grant: models.ReferenteGrant) -> None:
        self.grants[(grant.patronato_ente, grant.operator_sub)] = grant
