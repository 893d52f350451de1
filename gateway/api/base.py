"""What every group of endpoints shares: the RPC client, the caller, JSON bodies."""
from __future__ import annotations

import json

import eventlet
from nameko import config
from nameko.rpc import ClusterRpc

from gateway.auth import caller_from_header
from shared.errors import ProblemError, Unavailable

# A stale RPC must not run after the caller gave up: requests expire on the broker.
RPC_EXPIRATION_SECONDS = 10


class GatewayBase:
    rpc = ClusterRpc(expiration=RPC_EXPIRATION_SECONDS)

    def _caller(self, request) -> dict:
        return caller_from_header(request.headers.get("Authorization"), config["JWT_SECRET"])

    def _call(self, service: str, method: str, *args, timeout: float | None = None):
        timeout = timeout or float(config.get("RPC_TIMEOUT_SECONDS", 10))
        try:
            with eventlet.Timeout(timeout):
                return getattr(getattr(self.rpc, service), method)(*args)
        except eventlet.Timeout:
            raise Unavailable("service_timeout", f"Il servizio {service} non ha risposto in tempo. Riprovare più tardi.") from None

    @staticmethod
    def _json_body(request, allow_empty: bool = False) -> dict:
        if allow_empty and not request.get_data():
            return {}
        if not (request.mimetype or "").endswith("json"):
            raise ProblemError("unsupported_media_type", "Il corpo della richiesta deve essere JSON (Content-Type: application/json).")
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise ProblemError("invalid_json", "Il corpo della richiesta non è JSON valido.") from None
        if not isinstance(body, dict):
            raise ProblemError("invalid_json", "Il corpo della richiesta deve essere un oggetto JSON.")
        return body
