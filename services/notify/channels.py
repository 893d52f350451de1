"""What every channel adapter (SMTP, SMS gateway) receives and may raise.

An adapter has one method, ``send(envelope)``. It raises ``PermanentDeliveryError`` when the
message can never be delivered as addressed (SMTP 5xx, an invalid number): the delivery is
recorded as failed with the reason, once. Any other exception is transient (server down,
timeout, SMTP 4xx, HTTP 5xx): the dispatcher tries again later with backoff.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


class PermanentDeliveryError(Exception):
    """The message can never be delivered as addressed (recorded as 'failed', not retried)."""


@dataclass(frozen=True)
class Envelope:
    delivery_id: str  # stable across retries: the e-mail's Message-ID is derived from it
    to: str
    subject: str
    body: str
    # (file name, MIME type, bytes): the .ics of an appointment
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    html: str = ""  # an e-mail's HTML alternative


def attachments_to_json(attachments) -> list[dict] | None:
    """Attachments as the ``deliveries.attachments`` column keeps them (JSON, base64 content)."""
    if not attachments:
        return None
    return [
        {"filename": name, "mime_type": mime, "content": base64.b64encode(content).decode("ascii")}
        for name, mime, content in attachments
    ]


def attachments_from_json(stored) -> tuple[tuple[str, str, bytes], ...]:
    return tuple(
        (item["filename"], item["mime_type"], base64.b64decode(item["content"])) for item in stored or ()
    )
