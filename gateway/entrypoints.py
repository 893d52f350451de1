"""The gateway's HTTP entrypoint: maps every exception to an RFC 9457 problem document
in one place, so no handler formats errors itself and nothing leaks a traceback."""

from __future__ import annotations

import json
import logging
import re

from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared import contracts
from shared.errors import ProblemError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def json_response(
    payload, status: int = 200, headers: dict | None = None, content_type: str = "application/json"
) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        content_type=f"{content_type}; charset=utf-8",
    )


RETRY_AFTER_SECONDS = 5


def problem_response(problem: dict) -> Response:
    """The problem document, dumped through ``contracts.ProblemOutput`` like every answer (an
    extension member the schema does not declare is dropped and logged, never a 500)."""
    body, mismatches = contracts.dump(contracts.ProblemOutput, problem)
    if mismatches:
        log.warning(
            "problem %s: not declared in ProblemOutput: %s", problem.get("code"), ", ".join(mismatches)
        )
    # a 503 is never the caller's fault: say when to try again
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if problem["status"] == 503 else None
    return json_response(body, status=problem["status"], headers=headers, content_type=PROBLEM_JSON)


_QUERY_STRING = re.compile(r'(?P<path>"[A-Z]+ [^ ?"]*)\?[^ "]*')


class DropQueryStrings(logging.Filter):
    """Access log lines without query strings: they carry codici fiscali and matricole."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("nameko.web") and isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY_STRING.sub(r"\g<path>", record.msg)
        return True


class ProblemHttpHandler(HttpRequestHandler):
    def response_from_exception(self, exc):
        if isinstance(exc, ProblemError):
            return problem_response(exc.as_problem())
        if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
            return problem_response(
                {
                    "type": "about:blank",
                    "title": exc.name,
                    "status": exc.code,
                    "code": f"http_{exc.code}",
                    "detail": "Richiesta HTTP non valida.",
                }
            )
        log.exception("unexpected error in gateway", exc_info=exc)
        return problem_response(
            {
                "type": "about:blank",
                "title": "Errore interno",
                "status": 500,
                "code": "internal_error",
                "detail": "Si è verificato un errore imprevisto. Riprovare più tardi.",
            }
        )


http = ProblemHttpHandler.decorator
