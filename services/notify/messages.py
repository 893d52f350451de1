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
TEMPLATE_REQUEST_CLOSED = "request_closed"
TEMPLATE_OUTBOUND_MESSAGE = "outbound_message"
TEMPLATE_APPOINTMENT_BOOKED = "appointment_booked"
TEMPLATE_APPOINTMENT_CANCELLED = "appointment_cancelled"
TEMPLATE_APPOINTMENT_REMINDER = "appointment_reminder"
MODALITY_NAMES = {"in_person": "in presenza", "phone": "telefonica", "web_meeting": "web meeting"}

SUBJECT_LINE_MAX = 200  # what a delivery record keeps; long enough for any mail client


@dataclass(frozen=True)
class OutgoingMessage:
    template: str
    subject_line: str
    body: str
    # (file name, MIME type, content): the .ics of an appointment
    attachments: tuple[tuple[str, str, bytes], ...] = ()


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


def render_request_closed(
    protocol: str,
    subject: str,
    outcome: str,
    comment: str | None,
    booking_enabled: bool,
    closed_at: datetime,
    booking_possible: bool | None = None,
) -> OutgoingMessage:
    """Booking is offered only when it is really possible: enabled by the office, or (the
    event's ``booking_possible``) the further interactions are used up."""
    body = _render(
        TEMPLATE_REQUEST_CLOSED,
        protocol=protocol,
        subject=subject,
        outcome=outcome,
        comment=comment,
        booking_enabled=booking_enabled,
        booking_possible=booking_enabled if booking_possible is None else booking_possible,
        closed_at=rome_time(closed_at),
    )
    return OutgoingMessage(TEMPLATE_REQUEST_CLOSED, f"Richiesta chiusa n. {protocol}", body)


def _appointment_values(payload: dict) -> dict:
    return {
        "punto_name": payload["punto_name"],
        "punto_address": payload["punto_address"],
        "modality": MODALITY_NAMES.get(payload["modality"], payload["modality"]),
        "topic": payload["topic"],
        "slot_start": rome_time(payload["slot_start"]),
        "room_url": payload.get("room_url"),
    }


def render_appointment_booked(payload: dict, ics_text: str, ics_name: str) -> OutgoingMessage:
    """The confirmation, with the appointment as an .ics file and, for a web meeting, the room."""
    values = _appointment_values(payload)
    body = _render(TEMPLATE_APPOINTMENT_BOOKED, **values, rescheduled=bool(payload.get("rescheduled_from")))
    subject_line = shortened(f"Appuntamento confermato: {values['slot_start']}", SUBJECT_LINE_MAX)
    attachment = (ics_name, "text/calendar", ics_text.encode("utf-8"))
    return OutgoingMessage(TEMPLATE_APPOINTMENT_BOOKED, subject_line, body, (attachment,))


def render_appointment_cancelled(payload: dict) -> OutgoingMessage:
    values = _appointment_values(payload)
    body = _render(TEMPLATE_APPOINTMENT_CANCELLED, **values, reason=payload.get("reason"))
    subject_line = shortened(f"Appuntamento annullato dalla sede: {values['slot_start']}", SUBJECT_LINE_MAX)
    return OutgoingMessage(TEMPLATE_APPOINTMENT_CANCELLED, subject_line, body)


def render_appointment_reminder(payload: dict) -> OutgoingMessage:
    values = _appointment_values(payload)
    body = _render(TEMPLATE_APPOINTMENT_REMINDER, **values)
    subject_line = shortened(f"Promemoria appuntamento: {values['slot_start']}", SUBJECT_LINE_MAX)
    return OutgoingMessage(TEMPLATE_APPOINTMENT_REMINDER, subject_line, body)


def render_outbound_message(subject: str, sede: str, sent_at: datetime) -> OutgoingMessage:
    """A sede wrote to the requester: say so, and where to read it (the text stays in the portal)."""
    subject = one_line(subject)
    body = _render(TEMPLATE_OUTBOUND_MESSAGE, subject=subject, sede=sede, sent_at=rome_time(sent_at))
    subject_line = shortened(f"Comunicazione dalla sede INPS: {subject}", SUBJECT_LINE_MAX)
    return OutgoingMessage(TEMPLATE_OUTBOUND_MESSAGE, subject_line, body)


def one_line(text: str) -> str:
    # A line break in a mail header is refused by the mail library (header injection).
    return " ".join(text.split())


def shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
