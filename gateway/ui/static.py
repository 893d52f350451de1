"""The console's static files: what lies under ``gateway/ui/static`` when the gateway starts,
served by name from that table (a path from the request is looked up, never joined to a
folder), with long caching: a new release changes ``ASSET_VERSION`` in the URLs."""

from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

from werkzeug.wrappers import Response

from gateway.ui.render import secure

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_AGE_SECONDS = 7 * 24 * 3600
TYPES = {".woff2": "font/woff2", ".svg": "image/svg+xml", ".js": "text/javascript", ".css": "text/css"}


def _table() -> dict[str, Path]:
    return {
        path.relative_to(STATIC_DIR).as_posix(): path
        for path in STATIC_DIR.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


FILES = _table()
# changes whenever a static file does: URLs carry it, so a browser never keeps a stale copy
ASSET_VERSION = hashlib.sha256(
    b"".join(name.encode() + FILES[name].read_bytes() for name in sorted(FILES))
).hexdigest()[:12]


def url(name: str) -> str:
    return f"/ui/static/{ASSET_VERSION}/{name}"


@lru_cache(maxsize=len(FILES) + 1)
def _content(name: str) -> bytes:
    return FILES[name].read_bytes()


def response(request, name: str) -> Response | None:
    """The file called ``name``, or None when there is no such file."""
    if name not in FILES:
        return None
    suffix = FILES[name].suffix
    content_type = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "image/svg+xml":
        content_type += "; charset=utf-8"
    answer = Response(_content(name), content_type=content_type)
    answer.cache_control.public = True
    answer.cache_control.max_age = MAX_AGE_SECONDS
    answer.add_etag()
    return secure(answer.make_conditional(request))
