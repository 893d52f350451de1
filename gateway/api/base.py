"""What every group of endpoints shares: the RPC client, the caller, JSON bodies, the
correlation id. Every input is bounded here before it goes anywhere."""

from __future__ import annotations

import json
import re
import uuid

import eventlet
from nameko import config
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.auth import TokenVerifier
from gateway.rpc import GatewayRpc
from shared.access import Caller
from shared.errors import PayloadTooLarge, ProblemError, Unavailable
from shared.outages import outage_code

# A stale RPC must not run after the caller gave up: requests expire on the broker.
RPC_EXPIRATION_SECONDS = 10
JSON_BODY_MAX_BYTES = 1024 * 1024
# X-Request-ID travels as the events' correlation id and as an AMQP property: kept only if
# it is short and plain, otherwise replaced by a fresh id.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


def correlation_id(request) -> str:
    given = request.headers.get("X-Request-ID") or ""
    return given if _REQUEST_ID.match(given) else str(uuid.uuid4())


class GatewayBase:
    rpc = GatewayRpc(expiration=RPC_EXPIRATION_SECONDS)
    tokens = TokenVerifier()

    def _caller(self, request) -> Caller:
        return self.tokens.caller(request.headers.get("Authorization"))

    def _call(self, service: str, method: str, *args, timeout: float | None = None):
        timeout = timeout or float(config.get("RPC_TIMEOUT_SECONDS", 10))
        args = tuple(arg.as_claims() if isinstance(arg, Caller) else arg for arg in args)
        try:
            with eventlet.Timeout(timeout):
                return getattr(getattr(self.rpc, service), method)(*args)
        except eventlet.Timeout:
            raise Unavailable(
                "service_timeout", f"Il servizio {service} non ha risposto in tempo. Riprovare più tardi."
            ) from None
        except ProblemError:
            raise
        except Exception as exc:
            if outage_code(exc) is None:
                raise
            raise Unavailable(
                "broker_unavailable", "Il sistema di messaggistica non è raggiungibile. Riprovare più tardi."
            ) from None

    @staticmethod
    def _json_body(request, allow_empty: bool = False) -> dict:
        data = _limited_body(request, JSON_BODY_MAX_BYTES)
        if allow_empty and not data:
            return {}
        if not (request.mimetype or "").endswith("json"):
            raise ProblemError(
                "unsupported_media_type",
                "Il corpo della richiesta deve essere JSON (Content-Type: application/json).",
            )
        try:
            body = json.loads(data.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ProblemError("invalid_json", "Il corpo della richiesta non è JSON valido.") from None
        if not isinstance(body, dict):
            raise ProblemError("invalid_json", "Il corpo della richiesta deve essere un oggetto JSON.")
        return body


def _limited_body(request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes (declared or actually sent)."""
    too_large = PayloadTooLarge(
        "body_too_large", f"Il corpo della richiesta supera la dimensione massima di {limit // 1024} KB."
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # Werkzeug reads a body of unknown length as empty; eventlet decodes the chunks
        data = request.environ["wsgi.input"].read(limit + 1)
        if len(data) > limit:
            raise too_large
        return data
    request.max_content_length = limit
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
