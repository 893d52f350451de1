"""The read side of the Notifiche inbox and of the preferences: queries and the dictionaries
the gateway returns. Who sees what is decided before (``shared.access.notice_scope``); these
functions take the scope as a SQL condition over the notices' ownership columns."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select

from services.notify import rules
from services.notify.models import Notice, NoticeRead, Preference
from shared import access

NOTICE_COLUMNS = {
    "origin": Notice.origin,
    "requester": Notice.requester,
    "patronato_ente": Notice.patronato_ente,
    "patronato_ufficio": Notice.patronato_ufficio,
    "matricola": Notice.matricola,
    "consulente": Notice.consulente,
    # facts a notice does not carry: no condition on them ever matches
    "assigned_sede": None,
    "assigned_region": None,
    "area": None,
}


def visible(scope: access.Scope):
    """The scope as a condition on ``notices`` (conditions naming a fact a notice does not
    carry are dropped: they could only be an official's, and officials have no inbox)."""
    usable = access.Scope(
        unrestricted=scope.unrestricted,
        conditions=tuple(
            condition
            for condition in scope.conditions
            if all(NOTICE_COLUMNS.get(name) is not None for name, _ in condition)
        ),
    )
    return access.sql_condition(usable, NOTICE_COLUMNS)


def _read_by(reader: str):
    return exists().where(NoticeRead.notice_id == Notice.id, NoticeRead.reader == reader)


def list_notices(session, scope: access.Scope, reader: str, filters: dict) -> dict:
    """Newest first, one page, with the total and the reader's unread count."""
    condition = visible(scope)
    chosen = [condition]
    if filters.get("kind"):
        chosen.append(Notice.kind == filters["kind"])
    if filters.get("unread"):
        chosen.append(~_read_by(reader))
    page, page_size = filters.get("page", 1), filters.get("page_size", 20)
    read_at = (
        select(NoticeRead.read_at)
        .where(NoticeRead.notice_id == Notice.id, NoticeRead.reader == reader)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Notice, read_at.label("read_at"))
        .where(and_(*chosen))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    total = session.scalar(select(func.count()).select_from(Notice).where(and_(*chosen)))
    return {
        "items": [notice_view(notice, read_at) for notice, read_at in rows],
        "total": total,
        "unread": unread_count(session, scope, reader),
        "page": page,
        "page_size": page_size,
    }


def unread_count(session, scope: access.Scope, reader: str) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(visible(scope), ~_read_by(reader)))


def notice_view(notice: Notice, read_at) -> dict:
    kind = rules.NOTICE_KINDS.get(notice.kind)
    return {
        "id": str(notice.id),
        "kind": notice.kind,
        "kind_label": kind.label if kind else notice.kind,
        "title": notice.title,
        "text": notice.text,
        "request_id": str(notice.request_id) if notice.request_id else None,
        "booking_id": str(notice.booking_id) if notice.booking_id else None,
        "protocol": notice.protocol,
        "created_at": notice.created_at.isoformat(),
        "read": read_at is not None,
        "read_at": read_at.isoformat() if read_at else None,
    }


def preferences_of(session, user_id: str) -> dict:
    """Every kind of notice with the user's choice (both channels on where none was made)."""
    chosen = {
        row.kind: row for row in session.scalars(select(Preference).where(Preference.user_id == user_id))
    }
    items = []
    for kind in rules.NOTICE_KINDS.values():
        row = chosen.get(kind.code)
        items.append(
            {
                "kind": kind.code,
                "label": kind.label,
                "channels": [channel for channel in kind.channels if channel != rules.INBOX],
                "email": row.email if row else True,
                "sms": row.sms if row else True,
            }
        )
    return {"preferences": items}
