"""What every group of endpoints shares: the route declaration, the RPC client, the caller,
JSON bodies, the correlation id, the answer dumped through its schema. Every input is
bounded here before it goes anywhere.

``route`` declares an operation once: it registers the nameko HTTP entrypoint, reads the
input in a fixed order (token, access rule on the caller, path checks, body, query string,
each loaded with its ``shared.contracts`` schema) and dumps what the handler returns
through the output schema (``respond``). ``gateway.openapi`` builds the document from the
same declarations.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from dataclasses import dataclass, replace

import eventlet
from nameko import config
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway.auth import TokenVerifier
from gateway.entrypoints import http, json_response, problem_response
from gateway.openapi import Route
from gateway.rpc import GatewayRpc
from shared import contracts
from shared.access import Caller
from shared.config import is_development
from shared.errors import PayloadTooLarge, ProblemError, Unavailable
from shared.outages import outage_code

log = logging.getLogger(__name__)

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


# ---- routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What a handler receives: the HTTP request and its input, already checked."""

    request: Request
    caller: Caller | None = None
    body: dict | None = None  # the JSON body as sent (loaded once to check it, passed on as is)
    query: dict | None = None  # the query string, first value of each name


class UndeclaredResponse(Exception):
    """A handler answered what its output schema does not declare (development only: the
    gateway answers 500 and says where; elsewhere the field is dropped and logged)."""


def route(method: str, path: str, summary: str, **declared):
    """Declare an operation (see ``gateway.openapi.Route``) on its handler
    ``handler(self, call: Call, **path_parameters)``; the handler returns the data to dump
    through ``output``, or a werkzeug ``Response`` it built itself."""
    described = Route(method=method.upper(), path=path, summary=summary, **declared)

    def decorator(handler):
        declaration = replace(described, operation_id=handler.__name__)

        @functools.wraps(handler)
        def entrypoint(self, request, **params):
            try:
                call = _read(self, request, declaration, params)
                result = handler(self, call, **params)
            except ProblemError as problem:
                # answered here, not raised: nameko would log every refusal as a worker
                # error with its traceback, burying the real ones
                (log.warning if problem.status >= 500 else log.info)(
                    "%s %s: %s %s", declaration.method, declaration.path, problem.status, problem.code
                )
                return problem_response(problem.as_problem())
            if isinstance(result, Response):
                return result
            headers = {"Location": declaration.location.format(**result)} if declaration.location else None
            return respond(
                declaration.output, result, declaration.status, many=declaration.many, headers=headers
            )

        entrypoint.route = declaration
        return http(declaration.method, declaration.nameko_path)(entrypoint)

    return decorator


def _read(service: GatewayBase, request, declared: Route, params: dict) -> Call:
    caller = service._caller(request) if declared.secured else None
    if declared.access is not None:
        declared.access(caller)
    for name, check in declared.path_checks.items():
        check(params[name])
    body = None
    if declared.body is not None and not declared.multipart:
        body = service._json_body(request, allow_empty=declared.empty_body)
        contracts.load(declared.body, body)
    query = None
    if declared.query is not None:
        query = request.args.to_dict()
        contracts.load(declared.query, query)
    return Call(request, caller, body, query)


def respond(schema, data, status: int = 200, *, many: bool = False, headers: dict | None = None) -> Response:
    """``data`` dumped through ``schema``, as JSON: the answer holds what the document declares."""
    dumped, mismatches = contracts.dump(schema, data, many=many)
    if mismatches:
        name = getattr(schema, "__name__", schema.__class__.__name__)
        message = f"{name} does not declare: {', '.join(mismatches[:20])}"
        if strict_responses():
            raise UndeclaredResponse(message)
        log.warning("answer dumped through its schema: %s", message)
    return json_response(dumped, status=status, headers=headers)


def strict_responses() -> bool:
    """In development (``make run``, ``make test``) an answer that does not match its schema is
    a 500, so a test meets it; ``RESPONSE_CONTRACT`` (strict | lenient) says otherwise."""
    chosen = str(config.get("RESPONSE_CONTRACT") or "").strip().lower()
    if chosen in ("strict", "lenient"):
        return chosen == "strict"
    return is_development(str(config.get("COMBID_ENV") or ""))
