"""Attachment downloads, streamed by the gateway itself.

Intake authorises each download (the same check as the request's detail) and returns the
file's metadata with a link presigned for a minute on the object store's internal endpoint.
The gateway, which holds no storage credentials, fetches it server-side and streams the
bytes in chunks (cooperatively, on eventlet) with its own headers; the link never reaches
the client. Presigned links on a public endpoint were the alternative: they work for
whoever holds them, outlive the caller's access and need the store on the internet.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import requests
from werkzeug.wrappers import Response

from shared.errors import NotFound, Unavailable

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
STORE_TIMEOUT = (3.0, 30.0)  # connect, and between two chunks
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ -]")


def _store_unavailable() -> Unavailable:
    return Unavailable("storage_unavailable", "L'archivio dei documenti non risponde. Riprovare più tardi.")


def content_disposition(filename: str) -> str:
    """``attachment`` with a plain ASCII ``filename`` and the exact name as RFC 5987 ``filename*``."""
    filename = filename or "allegato"
    plain = _NOT_PLAIN.sub("_", filename).strip() or "allegato"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def stream_attachment(found: dict) -> Response:
    """The response that streams ``found`` (from intake's ``attachment_download``)."""
    session = requests.Session()
    session.trust_env = False  # never through a proxy from the environment: the link is a credential
    try:
        upstream = session.get(found["store_url"], stream=True, timeout=STORE_TIMEOUT)
    except requests.RequestException as exc:
        session.close()
        log.error("attachment %s: object store unreachable (%s)", found["id"], type(exc).__name__)
        raise _store_unavailable() from None
    if upstream.status_code != 200:
        upstream.close()
        session.close()
        log.error("attachment %s: object store answered %s", found["id"], upstream.status_code)
        if upstream.status_code == 404:
            raise NotFound("attachment_not_found", "Allegato non trovato.")
        raise _store_unavailable()
    response = Response(
        upstream.iter_content(CHUNK_BYTES),
        status=200,
        headers={
            "Content-Type": found["content_type"],
            "Content-Length": upstream.headers.get("Content-Length") or str(found["size"]),
            "Content-Disposition": content_disposition(found["filename"]),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
        direct_passthrough=True,
    )
    response.call_on_close(upstream.close)
    response.call_on_close(session.close)
    return response
