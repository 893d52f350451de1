"""The API's documentation page: Swagger UI on ``/api/v1/openapi.json``, served from the
files vendored in ``gateway/static/swagger-ui`` (no CDN: the page works offline and loads
nothing from elsewhere). See the README there for the version and its licence.

Only the vendored names are served (a fixed table, never a path built from the request),
each with a Content-Security-Policy that allows this origin alone: no inline script, no
other host.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from werkzeug.wrappers import Response

from gateway.entrypoints import http
from shared.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
INDEX = "index.html"
# name under /api/docs/ -> content type; nothing else in the folder is ever read
FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
    "LICENSE": "text/plain; charset=utf-8",
    "NOTICE": "text/plain; charset=utf-8",
}
# 'self' only; images also as data: URIs, which swagger-ui.css uses for its icons (an image
# cannot run code). Nothing may frame the page, post a form or change its base URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATIC_MAX_AGE_SECONDS = 3600


@lru_cache(maxsize=len(FILES) + 1)
def _read(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _response(request, name: str, content_type: str, max_age: int | None = None) -> Response:
    """``name`` with the page's security headers; cached ``max_age`` seconds, else revalidated
    each time (the ETag answers 304 when nothing changed)."""
    response = Response(_read(name), content_type=content_type)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if max_age is None:
        response.cache_control.no_cache = True
    else:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
    response.add_etag()
    return response.make_conditional(request)


class DocsApi:
    @http("GET", "/api/docs")
    def api_docs(self, request):
        return _response(request, INDEX, "text/html; charset=utf-8")

    @http("GET", "/api/docs/<string:filename>")
    def api_docs_file(self, request, filename):
        content_type = FILES.get(filename)
        if content_type is None:
            raise NotFound("not_found", "Risorsa non trovata.")
        return _response(request, filename, content_type, max_age=STATIC_MAX_AGE_SECONDS)
