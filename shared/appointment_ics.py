"""An appointment as an iCalendar file (RFC 5545, library ``icalendar``).

One function for both sides: agenda serves it for download (RPC ``appointment_ics``), notify
attaches it to the confirmation e-mail from the ``appointment_booked`` event (services talk
only through events: notify never asks agenda), so the two files cannot differ.
"""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

PRODUCT = "-//INPS//Comunicazione Bidirezionale - Agenda Appuntamenti//IT"
MODALITY_NAMES = {"in_person": "in presenza", "phone": "telefonica", "web_meeting": "web meeting"}
CANCELLED_STATES = ("cancelled_by_requester", "cancelled_by_office")


def _utc(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC)


def appointment_ics(facts: dict, room_url: str | None = None, state: str = "confirmed") -> str:
    """``facts``: booking_id, punto_name, punto_address, modality, topic, slot_start, slot_end,
    and optionally motivazione and stamped_at (the last change)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if state in CANCELLED_STATES else "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{facts['booking_id']}@combid.inps.example")
    event.add("dtstamp", _utc(facts.get("stamped_at") or facts["slot_start"]))
    event.add("dtstart", _utc(facts["slot_start"]))
    event.add("dtend", _utc(facts["slot_end"]))
    modality = MODALITY_NAMES.get(facts["modality"], facts["modality"])
    event.add("summary", f"Appuntamento INPS ({modality}) - {facts['punto_name']}")
    event.add("location", facts["punto_address"])
    lines = [f"Modalità: {modality}", f"Tematica: {facts['topic']}"]
    if facts.get("motivazione"):
        lines.append(f"Motivazione: {facts['motivazione']}")
    if room_url:
        lines.append(f"Stanza web meeting: {room_url}")
        event.add("url", room_url)
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if state in CANCELLED_STATES else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def filename(booking_id) -> str:
    return f"appuntamento-{booking_id}.ics"
