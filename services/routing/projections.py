"""What routing keeps of intake's events besides the submissions it routes: whether a
request is closed, so that a closed request is never moved (``use_cases.reassign``).

Written as upserts that do not depend on event order: a state is replaced only by an
event that happened later (``changed_at``), so a ``request_closed`` delivered after the
follow-up that reopened the request does not close it again.
"""

from __future__ import annotations

from sqlalchemy import select

from services.routing.models import RequestState
from shared.upsert import insert  # cached compiled SQL (shared/upsert.py)


def record_closed(session, event) -> None:
    """``request_closed``: the request is closed."""
    _record(session, event.payload["request_id"], True, event.payload["at"])


def record_followup(session, event) -> None:
    """``request_followup_added``: a follow-up that reopened a request closed with its first
    answer makes it open again; any other follow-up changes nothing here."""
    if event.payload.get("reopened"):
        _record(session, event.payload["request_id"], False, event.payload["at"])


def _record(session, request_id, closed: bool, at) -> None:
    statement = insert(RequestState).values(request_id=request_id, closed=closed, changed_at=at)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[RequestState.request_id],
            set_={"closed": statement.excluded.closed, "changed_at": statement.excluded.changed_at},
            where=RequestState.changed_at < statement.excluded.changed_at,
        )
    )


def is_closed(session, request_id) -> bool:
    return bool(session.scalar(select(RequestState.closed).where(RequestState.request_id == request_id)))
