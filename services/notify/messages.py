"""What notify says to people, in Italian, from Jinja2 templates: one folder per kind of
notice in ``templates/<kind>/``:

- ``subject.txt``: the e-mail's subject line, also the inbox entry's title;
- ``body.txt``: the e-mail's plain-text body; its HTML alternative is the same text laid
  out by ``templates/_layout.html`` (one text to keep right, two renderings);
- ``short.txt``: the SMS and the inbox entry's text (kept within one GSM-7 SMS where the
  values allow).

``render(kind, **values)`` returns an ``OutgoingMessage`` that names its kind, so each
delivery records which text was sent. ``python -m services.notify.templates preview KIND``
shows one with sample values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from shared.clock import ROME

TEMPLATES_DIR = Path(__file__).parent / "templates"

TEMPLATE_PROTOCOL_REGISTERED = "protocol_registered"
TEMPLATE_REQUEST_ROUTED = "request_routed"
TEMPLATE_REQUEST_REASSIGNED = "request_reassigned"
TEMPLATE_REQUEST_TAKEN_IN_CHARGE = "request_taken_in_charge"
TEMPLATE_REQUEST_ANSWERED = "request_answered"
TEMPLATE_REQUEST_CLOSED = "request_closed"
TEMPLATE_OUTBOUND_MESSAGE = "outbound_message"
TEMPLATE_APPOINTMENT_BOOKED = "appointment_booked"
TEMPLATE_APPOINTMENT_CANCELLED = "appointment_cancelled"
TEMPLATE_APPOINTMENT_REMINDER = "appointment_reminder"
TEMPLATE_REPORT_PUBLISHED = "report_published"
MONTH_NAMES = (
    "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
    "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
)  # fmt: skip
MODALITY_NAMES = {"in_person": "in presenza", "phone": "telefonica", "web_meeting": "web meeting"}

SUBJECT_LINE_MAX = 200  # what a delivery record keeps; long enough for any mail client
SHORT_TEXT_MAX = 1000  # an inbox entry's text (an SMS is split and counted beyond 160)


@dataclass(frozen=True)
class OutgoingMessage:
    template: str  # the kind of notice
    subject_line: str
    body: str
    # (file name, MIME type, content): the .ics of an appointment
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    html: str = ""
    short: str = ""


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Built on first use, not at import. StrictUndefined: a missing value is a bug, not a
    # blank. Plain text is not escaped; the HTML layout escapes every paragraph itself.
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["linked"] = linked
    return environment


def _render(template: str, **values) -> str:
    return _environment().get_template(template).render(**values)


def render(kind: str, attachments=(), **values) -> OutgoingMessage:
    """Every text of one notice of ``kind``."""
    subject_line = shortened(one_line(_render(f"{kind}/subject.txt", **values)), SUBJECT_LINE_MAX)
    body = _render(f"{kind}/body.txt", **values)
    html = _render("_layout.html", title=subject_line, paragraphs=paragraphs(body))
    short = shortened(one_line(_render(f"{kind}/short.txt", **values)), SHORT_TEXT_MAX)
    return OutgoingMessage(kind, subject_line, body, tuple(attachments), html, short)


def paragraphs(text: str) -> list[str]:
    return [part.strip("\n") for part in re.split(r"\n\s*\n", text) if part.strip()]


_URL = re.compile(r"https?://[^\s<>\"]+")


def linked(text: str) -> Markup:
    """A paragraph as HTML: escaped, line breaks kept, web addresses made links."""
    escaped = str(escape(text))
    escaped = _URL.sub(lambda found: f'<a href="{found.group(0)}">{found.group(0)}</a>', escaped)
    return Markup(escaped.replace("\n", "<br>\n"))


def rome_time(instant: datetime) -> str:
    """The date and time as the requester reads them on the wall clock in Italy."""
    return instant.astimezone(ROME).strftime("%d/%m/%Y alle %H:%M")


def render_protocol_registered(protocol: str, subject: str, submitted_at: datetime) -> OutgoingMessage:
    return render(
        TEMPLATE_PROTOCOL_REGISTERED, protocol=protocol, subject=subject, submitted_at=rome_time(submitted_at)
    )


def _office_values(assignment: dict) -> dict:
    return {
        "in_triage": assignment["kind"] == "triage",
        "office_name": assignment["name"],
        "office_code": assignment["code"],
    }


def render_request_routed(protocol: str, subject: str, assignment: dict) -> OutgoingMessage:
    return render(TEMPLATE_REQUEST_ROUTED, protocol=protocol, subject=subject, **_office_values(assignment))


def render_request_reassigned(
    protocol: str, subject: str, assignment: dict, previous: dict | None
) -> OutgoingMessage:
    """The request moved to another sede: say so, and where (the requester need do nothing)."""
    return render(
        TEMPLATE_REQUEST_REASSIGNED,
        protocol=protocol,
        subject=subject,
        previous_name=(previous or {}).get("name"),
        **_office_values(assignment),
    )


def render_request_taken_in_charge(
    protocol: str, subject: str, sede: str | None, at: datetime
) -> OutgoingMessage:
    return render(
        TEMPLATE_REQUEST_TAKEN_IN_CHARGE, protocol=protocol, subject=subject, sede=sede, at=rome_time(at)
    )


def render_request_answered(protocol: str, subject: str, at: datetime) -> OutgoingMessage:
    return render(TEMPLATE_REQUEST_ANSWERED, protocol=protocol, subject=subject, at=rome_time(at))


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
    return render(
        TEMPLATE_REQUEST_CLOSED,
        protocol=protocol,
        subject=subject,
        outcome=outcome,
        comment=comment,
        booking_enabled=booking_enabled,
        booking_possible=booking_enabled if booking_possible is None else booking_possible,
        closed_at=rome_time(closed_at),
    )


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
    attachment = (ics_name, "text/calendar", ics_text.encode("utf-8"))
    return render(
        TEMPLATE_APPOINTMENT_BOOKED,
        attachments=(attachment,),
        rescheduled=bool(payload.get("rescheduled_from")),
        **_appointment_values(payload),
    )


def render_appointment_cancelled(payload: dict) -> OutgoingMessage:
    return render(
        TEMPLATE_APPOINTMENT_CANCELLED, reason=payload.get("reason"), **_appointment_values(payload)
    )


def render_appointment_reminder(payload: dict) -> OutgoingMessage:
    return render(TEMPLATE_APPOINTMENT_REMINDER, **_appointment_values(payload))


def render_outbound_message(subject: str, sede: str, sent_at: datetime) -> OutgoingMessage:
    """A sede wrote to the requester: say so, and where to read it (the text stays in the portal)."""
    return render(TEMPLATE_OUTBOUND_MESSAGE, subject=one_line(subject), sede=sede, sent_at=rome_time(sent_at))


def percent(value) -> str:
    """0.8125 -> "81,3%" (Italian decimal comma); no figure -> "n.d." (nothing to divide)."""
    if value is None:
        return "n.d."
    return f"{value * 100:.1f}%".replace(".", ",")


def render_report_published(payload: dict, pdf: bytes | None) -> OutgoingMessage:
    """The Direzione regionale's monthly report: the month's figures, the PDF attached."""
    year, month = (int(part) for part in payload["month"].split("-"))
    pdf_file = next((item for item in payload["files"] if item["format"] == "pdf"), None)
    attachments = ((pdf_file["filename"], "application/pdf", pdf),) if pdf and pdf_file else ()
    return render(
        TEMPLATE_REPORT_PUBLISHED,
        attachments=attachments,
        region=payload["region"],
        month_name=f"{MONTH_NAMES[month - 1]} {year}",
        first_day=payload["first_day"].strftime("%d/%m/%Y"),
        last_day=payload["last_day"].strftime("%d/%m/%Y"),
        totals=payload.get("totals") or {},
        percent=percent,
    )


def one_line(text: str) -> str:
    # A line break in a mail header is refused by the mail library (header injection).
    return " ".join(text.split())


def shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
