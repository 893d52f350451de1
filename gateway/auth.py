"""Bearer JWT authentication (HS256, ``exp`` required) and the caller it describes.

The token's claims carry the role and the scope; the gateway passes them to services as
the ``caller`` (shared.contracts.CallerSchema). Nothing in a request body can widen them.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt

from shared.contracts import ROLES
from shared.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
SCOPE_CLAIMS = ("codice_fiscale", "matricole", "patronato", "ufficio", "sede", "regione", "groups")


def caller_from_header(authorization: str | None, secret: str) -> dict:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing_token", "Autenticazione richiesta: inviare l'intestazione Authorization: Bearer <token>.")
    token = authorization[len("Bearer "):].strip()
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "role"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token_expired", "Il token è scaduto: effettuare di nuovo l'accesso.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized("invalid_token", f"Il token non contiene il claim obbligatorio '{exc.claim}'.") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid_token", "Token non valido.") from None
    if claims["role"] not in ROLES:
        raise Forbidden("unknown_role", f"Ruolo sconosciuto: {claims['role']}.")
    caller = {
        "sub": str(claims["sub"]),
        "name": claims.get("name") or "",
        "email": claims.get("email"),
        "role": claims["role"],
    }
    for claim in SCOPE_CLAIMS:
        if claim in claims and claims[claim] is not None:
            caller[claim] = claims[claim]
    return caller


def require_role(caller: dict, allowed: tuple[str, ...]) -> None:
    if caller["role"] not in allowed:
        raise Forbidden("role_not_allowed", "Il profilo dell'utente non consente questa operazione.")


def issue_token(secret: str, *, sub: str, role: str, lifetime: timedelta = timedelta(hours=8), **claims) -> str:
    """Sign a token; used by the development command and by tests."""
    now = datetime.now(timezone.utc)
    payload = {"sub": sub, "role": role, "iat": now, "exp": now + lifetime}
    payload.update({k: v for k, v in claims.items() if v is not None})
    return jwt.encode(payload, secret, algorithm=ALGORITHM)
