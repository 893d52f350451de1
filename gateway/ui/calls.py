"""The console calls the API's own operations, not the services directly: the same access
rule, path checks, input schemas, RPCs and output schema as ``/api/v1`` — so a page can never
show or do what the API would refuse, and answers the same 403/404 (as a page).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.api.base import Call
from shared import contracts
from shared.access import Caller
from shared.errors import Unauthorized


def blank(values: dict | None) -> dict:
    """A form's fields without the empty ones (an empty filter means no filter)."""
    return {key: value for key, value in (values or {}).items() if value not in (None, "", [])}


def call_api(service, operation, caller: Caller | None, request, *, body=None, query=None, **params):
    """Run the API operation ``operation`` (e.g. ``RequestsApi.search_requests``) for ``caller``:
    the data as the API would answer it (dumped through its output schema), or the werkzeug
    ``Response`` it built (a download). Refusals raise the API's ``ProblemError``."""
    declared = operation.route
    if declared.secured and caller is None:
        raise Unauthorized("missing_token", "Accesso richiesto.")
    if declared.access is not None:
        declared.access(caller)
    for name, check in declared.path_checks.items():
        check(params[name])
    if declared.body is not None and not declared.multipart:
        body = body or {}
        contracts.load(declared.body, body)
    if declared.query is not None:
        query = blank(query)
        contracts.load(declared.query, query)
    result = operation.__wrapped__(service, Call(request, caller, body, query), **params)
    if isinstance(result, Response) or declared.output is None:
        return result
    dumped, _mismatches = contracts.dump(declared.output, result, many=declared.many)
    return dumped
