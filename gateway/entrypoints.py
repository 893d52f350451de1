"""The gateway's HTTP entrypoint: maps every exception to an RFC 9457 problem document
in one place, so no handler formats errors itself and nothing leaks a traceback."""
from __future__ import annotations

import json
import logging

from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.errors import ProblemError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def json_response(payload, status: int = 200, headers: dict | None = None, content_type: str = "application/json") -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        content_type=f"{content_type}; charset=utf-8",
    )


def problem_response(problem: dict) -> Response:
    return json_response(problem, status=problem["status"], content_type=PROBLEM_JSON)


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
