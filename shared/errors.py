"""Typed domain errors that cross RPC intact.

Each error carries an HTTP status, a stable machine ``code``, an Italian ``detail`` for
people and, for invalid input, the list of fields at fault. They are registered with
nameko so that a service raising one makes the gateway receive the same type (not a
bare ``RemoteError``) and render it as an RFC 9457 problem document.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


class ProblemError(Exception):
    status = 400
    default_code = "bad_request"

    def __init__(
        self, code: str | None = None, detail: str = "", errors: list | None = None, extra: dict | None = None
    ):
        self.code = code or self.default_code
        self.detail = detail
        self.errors = list(errors or [])
        # RFC 9457 extension members a program can use (e.g. the date a reminder becomes allowed)
        self.extra = dict(extra or {})
        # args are what nameko serialises; the remote side rebuilds with cls(*args)
        super().__init__(self.code, self.detail, self.errors, self.extra)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def as_problem(self) -> dict:
        problem = {
            "type": f"https://combid.inps.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors:
            problem["errors"] = self.errors
        problem.update(self.extra)
        return problem

    title = "Richiesta non valida"


def field_error(field: str, code: str, detail: str) -> dict:
    return {"field": field, "code": code, "detail": detail}


@deserialize_to_instance
class InvalidInput(ProblemError):
    """Input that breaks a rule: names every field at fault."""

    status = 422
    default_code = "validation_failed"
    title = "Dati non validi"

    @classmethod
    def from_errors(cls, errors: list[dict]) -> InvalidInput:
        if len(errors) == 1:
            detail = errors[0]["detail"]
        else:
            detail = "Alcuni dati non sono validi: " + "; ".join(
                f"{e['field']}: {e['detail'].rstrip('.')}" for e in errors
            )
        return cls("validation_failed", detail, errors)


@deserialize_to_instance
class NotFound(ProblemError):
    status = 404
    default_code = "not_found"
    title = "Risorsa non trovata"


@deserialize_to_instance
class Conflict(ProblemError):
    status = 409
    default_code = "conflict"
    title = "Operazione non consentita nello stato attuale"


@deserialize_to_instance
class Forbidden(ProblemError):
    status = 403
    default_code = "forbidden"
    title = "Operazione non consentita"


@deserialize_to_instance
class PayloadTooLarge(ProblemError):
    status = 413
    default_code = "payload_too_large"
    title = "Contenuto troppo grande"


@deserialize_to_instance
class Unavailable(ProblemError):
    status = 503
    default_code = "service_unavailable"
    title = "Servizio temporaneamente non disponibile"


@deserialize_to_instance
class Unauthorized(ProblemError):
    status = 401
    default_code = "unauthorized"
    title = "Autenticazione richiesta"
