"""Who is using the console, and the form token that proves a post came from its own page.

The identity is the same JWT the API takes, verified by the same ``TokenVerifier``:
- behind the identity provider (SPID/CIE/INPS login in a proxy in front of the gateway), the
  proxy puts the user's JWT in the header named by ``CONSOLE_IDENTITY_HEADER`` on every
  request, or sets it as the cookie named by ``CONSOLE_SESSION_COOKIE``;
- in development (``COMBID_ENV=development``) the sign-in page issues a development token and
  sets that cookie itself.
The cookie is HttpOnly and SameSite=Strict (Secure outside development). Every POST also
carries a token derived from the session (HMAC with the signing secret): a page of another
origin cannot post in the user's name even where SameSite is not honoured.
"""

from __future__ import annotations

import hashlib
import hmac

from nameko import config

from shared.config import is_development
from shared.errors import Forbidden

DEFAULT_COOKIE = "combid_sessione"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_TOKEN_CHARS = 8192


def cookie_name() -> str:
    return str(config.get("CONSOLE_SESSION_COOKIE") or DEFAULT_COOKIE)


def identity_header() -> str | None:
    return config.get("CONSOLE_IDENTITY_HEADER") or None


def development() -> bool:
    return is_development(str(config.get("COMBID_ENV") or ""))


def token(request) -> str | None:
    """The JWT of this request's user: the identity header when configured, else the cookie."""
    header = identity_header()
    value = request.headers.get(header) if header else None
    if not value:
        value = request.cookies.get(cookie_name())
    if not value:
        return None
    value = value.strip()
    if value.startswith("Bearer "):
        value = value[len("Bearer ") :].strip()
    return value[: MAX_TOKEN_CHARS + 1] or None  # an overlong one still fails verification


def csrf_token(session_token: str, secret: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def check_csrf(request, session_token: str, secret: str) -> None:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not hmac.compare_digest(sent.encode()[:64], csrf_token(session_token, secret).encode()):
        raise Forbidden(
            "csrf_invalid",
            "Il modulo è scaduto o non proviene da questa console: ricaricare la pagina e riprovare.",
        )


def set_cookie(response, session_token: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(),
        session_token,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="Strict",
        secure=not development(),
    )


def clear_cookie(response) -> None:
    response.delete_cookie(cookie_name(), path="/ui", httponly=True, samesite="Strict")
