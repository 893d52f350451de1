"""What notify says to people: subject lines (Italian) and bodies from Jinja2 templates.

One template per message in ``templates/``; ``render_*`` return an ``OutgoingMessage`` that
names its template, so each delivery records which text was sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from shared.clock import ROME

TEMPLATES_DIR = Path(__file__).parent / "templates"

TEMPLATE_PROTOCOL_REGISTERED = "protocol_registered"
TEMPLATE_REQUEST_ROUTED = "request_routed"


@dataclass(frozen=True)
class OutgoingMessage:
    template: str
    subject_line: str
    body: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Built on first use, not at import. StrictUndefined: a missing value is a bug, not a blank.
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # plain-text e-mail, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, **values) -> str:
    return _environment().get_template(f"{template}.txt").render(**values)


def rome_time(instant: datetime) -> str:
    """The date and time as the requester reads them on the wall clock in Italy."""
    return instant.astimezone(ROME).strftime("%d/%m/%Y alle %H:%M")


def render_protocol_registered(protocol: str, subject: str, submitted_at: datetime) -> OutgoingMessage:
    body = _render(
        TEMPLATE_PROTOCOL_REGISTERED, protocol=protocol, subject=subject, submitted_at=rome_time(submitted_at)
    )
    return OutgoingMessage(TEMPLATE_PROTOCOL_REGISTERED, f"Richiesta protocollata n. {protocol}", body)


def render_request_routed(protocol: str, subject: str, assignment: dict) -> OutgoingMessage:
    in_triage = assignment["kind"] == "triage"
    if in_triage:
        subject_line = f"Richiesta n. {protocol} in corso di assegnazione all'ufficio competente"
    else:
        subject_line = f"Richiesta n. {protocol} inoltrata alla sede"
    body = _render(
        TEMPLATE_REQUEST_ROUTED,
        protocol=protocol,
        subject=subject,
        in_triage=in_triage,
        office_name=assignment["name"],
        office_code=assignment["code"],
    )
    return OutgoingMessage(TEMPLATE_REQUEST_ROUTED, subject_line, body)
