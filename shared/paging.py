"""Paging a long list: the opaque cursor of keyset pagination, and totals that are exact when
counting is cheap and estimated otherwise.

A cursor names the last item of a page by the list's sort key (``updated_at`` descending,
then ``id``): the next page starts after it, however deep, at the cost of the first page
(``OFFSET`` reads and throws away every row it skips). It is opaque to clients, checked where
it enters (the gateway, then the service, both through ``shared.contracts``), and grants
nothing: the caller's scope is applied to every page, so a forged cursor only moves the
starting point within what the caller may see anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime

CURSOR_VERSION = 1
CURSOR_MAX_LENGTH = 200
# Dates outside these bounds are not a position in any list (and would overflow).
_FIRST, _LAST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


class InvalidCursor(ValueError):
    """The text is not a cursor this service issued (or issues)."""


def encode_cursor(updated_at: datetime, item_id) -> str:
    """The cursor after the item with this sort key: URL-safe text, without padding."""
    if updated_at.tzinfo is None:
        raise ValueError("updated_at must be timezone-aware")
    payload = [CURSOR_VERSION, updated_at.astimezone(UTC).isoformat(), str(uuid.UUID(str(item_id)))]
    raw = json.dumps(payload, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    """The sort key a cursor names; ``InvalidCursor`` for anything else."""
    if not isinstance(text, str) or not 0 < len(text) <= CURSOR_MAX_LENGTH:
        raise InvalidCursor("length")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("encoding") from None
    if not (isinstance(payload, list) and len(payload) == 3 and payload[0] == CURSOR_VERSION):
        raise InvalidCursor("shape")
    _, when, item = payload
    if not (isinstance(when, str) and isinstance(item, str)):
        raise InvalidCursor("shape")
    try:
        updated_at = datetime.fromisoformat(when)
        item_id = uuid.UUID(item)
    except ValueError:
        raise InvalidCursor("value") from None
    if updated_at.tzinfo is None or not _FIRST <= updated_at < _LAST:
        raise InvalidCursor("value")
    return updated_at, item_id


def counted_total(capped_count: int, cap: int, estimate) -> tuple[int, bool]:
    """``(total, is_estimate)`` from a count that stopped at ``cap + 1`` rows: exact up to
    ``cap``; past it the planner's ``estimate()`` (called only then), never below what was
    counted, since the planner's guess can be far off either way."""
    if capped_count <= cap:
        return capped_count, False
    guessed = estimate()
    return max(int(guessed or 0), cap + 1), True
