"""The values a routing decision is made of: the request facts the rules read, each rule's
step of the chain, the assignment, and the decision as recorded and as an event.

Decisions are taken thousands of times a second: the values are named tuples (cheap to
build, immutable, comparable), not dataclasses. No I/O here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

TRIAGE_CODE = "TRIAGE"
TRIAGE_NAME = "Coda di smistamento"
NO_REFERENCE_VERSION = "none"
DEFAULT_QUEUE = "generale"

MATCHED = "matched"
NOT_APPLICABLE = "not_applicable"
NOT_RESOLVED = "not_resolved"

MANUAL_RULE = "manual_reassignment"
MANUAL_KEPT_RULE = "manual_reassignment_kept"


class Assignment(NamedTuple):
    kind: str  # sede | cric | polo | triage (shared.events.ASSIGNMENT_KINDS)
    code: str
    name: str
    reason: str
    queue: str
    region: str | None = None  # of the target structure: directors see requests by region

    def as_dict(self) -> dict:
        return self._asdict()

    def same_place(self, other: Assignment | dict | None) -> bool:
        """Same structure and same work queue (the reason text may differ)."""
        if other is None:
            return False
        other = other if isinstance(other, dict) else other.as_dict()
        return (self.kind, self.code, self.queue) == (
            other.get("kind"),
            other.get("code"),
            other.get("queue"),
        )


class RuleCheck(NamedTuple):
    """One step of the rule chain: what a rule said about the request."""

    rule: str
    outcome: str  # matched | not_applicable | not_resolved
    code: str  # stable, for programs
    detail: str  # Italian, for people

    def as_dict(self) -> dict:
        return self._asdict()


class RequestFacts(NamedTuple):
    """What the rules look at, read once from a ``request_submitted``-shaped payload."""

    channel: str = ""
    profile: str = ""
    subject: str | None = None
    area: str | None = None
    cap: str | None = None
    matricola: str | None = None
    ente: str | None = None
    ufficio: str | None = None
    cric_section: str | None = None  # the CRIC section a referente regionale (or a scheda) named
    region: str | None = None  # the region a contact-center scheda Linea INPS names

    @classmethod
    def from_payload(cls, payload: dict) -> RequestFacts:
        citizen = payload.get("citizen") or {}
        office = payload.get("patronato") or {}
        return cls(
            payload.get("channel") or "",
            payload.get("profile") or "",
            _text(payload.get("subject")),
            _text(payload.get("area")),
            _text(citizen.get("cap")) if isinstance(citizen, dict) else None,
            _text(payload.get("matricola")),
            _text(office.get("ente")) if isinstance(office, dict) else None,
            _text(office.get("ufficio")) if isinstance(office, dict) else None,
            _text(payload.get("cric_section")),
            _text(payload.get("region")),
        )

    @classmethod
    def from_dict(cls, recorded: dict) -> RequestFacts:
        return cls(**{name: recorded.get(name) for name in cls._fields})

    def as_dict(self) -> dict:
        return self._asdict()


def _text(value) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


class Decision(NamedTuple):
    assignment: Assignment
    rule: str
    inputs: dict
    reference_version: str
    rule_chain: tuple[RuleCheck, ...]
    request: RequestFacts
    effective_day: date

    def as_dict(self) -> dict:
        return {
            "assignment": self.assignment.as_dict(),
            "rule": self.rule,
            "inputs": dict(self.inputs),
            "reference_version": self.reference_version,
            "rule_chain": [check.as_dict() for check in self.rule_chain],
            "request": self.request.as_dict(),
            "effective_day": self.effective_day.isoformat(),
        }

    def routed_payload(
        self, request_id, decided_at: datetime, *, manual: bool = False, previous: dict | None = None
    ) -> dict:
        """The payload of the ``request_routed`` event (RequestRoutedV1)."""
        return {
            "request_id": request_id,
            "assignment": self.assignment.as_dict(),
            "rule": self.rule,
            "reference_version": self.reference_version,
            "decided_at": decided_at,
            "manual": manual,
            "previous": previous,
        }


class Verdict(NamedTuple):
    """What a rule returns: its step of the chain and, when it matched, the target."""

    check: RuleCheck
    assignment: Assignment | None = None
    inputs: dict | None = None
