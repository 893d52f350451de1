"""Bearer JWT authentication (HS256) and the caller it describes.

The token's claims carry the role and the scope; the gateway turns them into a
``shared.access.Caller`` (validated: types, lengths, ``groups`` a list) and passes it to
services. Nothing in a request body can widen them.

Outside development (``COMBID_ENV=development``, which ``make run`` and ``make test`` set)
the gateway refuses to start without a ``JWT_SECRET`` of at least 32 bytes, so that no
deployment ever accepts tokens signed with the development secret. ``JWT_ISSUER`` and
``JWT_AUDIENCE`` are checked when configured; no token may live longer than
``JWT_MAX_LIFETIME_HOURS`` (12 by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from nameko import config
from nameko.extensions import DependencyProvider

from shared.access import ROLES, Caller
from shared.config import LOCAL_DEFAULTS, is_development
from shared.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
DEFAULT_MAX_LIFETIME = timedelta(hours=12)
LEEWAY = timedelta(seconds=30)
MAX_TOKEN_CHARS = 8192  # far above any real token; bounds the work spent on a hostile header


class InsecureConfiguration(RuntimeError):
    """The gateway must not start with this configuration."""


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    issuer: str | None = None
    audience: str | None = None
    max_lifetime: timedelta = DEFAULT_MAX_LIFETIME

    @classmethod
    def from_config(cls, values) -> TokenSettings:
        """Settings from the service config; ``InsecureConfiguration`` outside development
        without a strong secret."""
        # only the service's own config decides (never this process's environment as a fallback)
        development = is_development(values.get("COMBID_ENV") or "")
        secret = str(values.get("JWT_SECRET") or "")
        if not secret and development:
            secret = LOCAL_DEFAULTS["JWT_SECRET"]
        if not development:
            if not secret:
                raise InsecureConfiguration(
                    "JWT_SECRET non impostato: il gateway non si avvia fuori dallo sviluppo."
                )
            if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise InsecureConfiguration(
                    f"JWT_SECRET troppo corto: servono almeno {MIN_SECRET_BYTES} byte."
                )
            if secret == LOCAL_DEFAULTS["JWT_SECRET"]:
                raise InsecureConfiguration("JWT_SECRET è il segreto di sviluppo: impostarne uno proprio.")
        hours = float(values.get("JWT_MAX_LIFETIME_HOURS") or DEFAULT_MAX_LIFETIME.total_seconds() / 3600)
        return cls(
            secret=secret,
            issuer=values.get("JWT_ISSUER") or None,
            audience=values.get("JWT_AUDIENCE") or None,
            max_lifetime=timedelta(hours=hours),
        )


def claims_from_header(
    authorization: str | None, settings: TokenSettings, now: datetime | None = None
) -> dict:
    """The verified claims of a ``Bearer`` token, or ``Unauthorized`` with a stable code."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized(
            "missing_token", "Autenticazione richiesta: inviare l'intestazione Authorization: Bearer <token>."
        )
    token = authorization[len("Bearer ") :].strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("invalid_token", "Token non valido.")
    required = (
        ["exp", "sub", "role"] + (["iss"] if settings.issuer else []) + (["aud"] if settings.audience else [])
    )
    try:
        claims = jwt.decode(
            token,
            settings.secret,
            algorithms=[ALGORITHM],
            issuer=settings.issuer,
            audience=settings.audience,
            leeway=LEEWAY,
            options={"require": required, "verify_aud": bool(settings.audience)},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token_expired", "Il token è scaduto: effettuare di nuovo l'accesso.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(
            "invalid_token", f"Il token non contiene il claim obbligatorio '{exc.claim}'."
        ) from None
    except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
        raise Unauthorized("invalid_token", "Il token non è stato emesso per questo servizio.") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid_token", "Token non valido.") from None
    _check_lifetime(claims, settings.max_lifetime, now or datetime.now(UTC))
    return claims


def _check_lifetime(claims: dict, max_lifetime: timedelta, now: datetime) -> None:
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    issued = claims.get("iat")
    start = datetime.fromtimestamp(issued, UTC) if isinstance(issued, (int, float)) else now
    if expires - start > max_lifetime + LEEWAY or expires - now > max_lifetime + LEEWAY:
        hours = max_lifetime.total_seconds() / 3600
        raise Unauthorized(
            "token_lifetime_too_long",
            f"Il token ha una durata superiore al massimo consentito ({hours:g} ore).",
        )


def caller_from_header(authorization: str | None, settings: TokenSettings) -> Caller:
    claims = claims_from_header(authorization, settings)
    if claims["role"] not in ROLES:
        raise Forbidden("unknown_role", "Ruolo sconosciuto.")
    return Caller.from_claims(claims)


class TokenVerifier(DependencyProvider):
    """Reads and checks the token settings once, when the gateway starts (an insecure
    configuration stops the start); each worker gets ``caller(authorization_header)``."""

    def setup(self):
        self.settings = TokenSettings.from_config(config)

    def get_dependency(self, worker_ctx):
        return _Verifier(self.settings)


@dataclass(frozen=True)
class _Verifier:
    settings: TokenSettings

    def caller(self, authorization: str | None) -> Caller:
        return caller_from_header(authorization, self.settings)


def issue_token(
    secret: str, *, sub: str, role: str, lifetime: timedelta = timedelta(hours=8), **claims
) -> str:
    """Sign a token; used by the development command and by tests."""
    now = datetime.now(UTC)
    payload = {"sub": sub, "role": role, "iat": now, "exp": now + lifetime}
    payload.update({k: v for k, v in claims.items() if v is not None})
    return jwt.encode(payload, secret, algorithm=ALGORITHM)
