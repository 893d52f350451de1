"""notify's templates, one folder per kind of notice, and sample values to preview them.

python -m services.notify.templates preview request_closed
python -m services.notify.templates preview appointment_booked --format html > /tmp/a.html
python -m services.notify.templates list
"""

from __future__ import annotations

from datetime import UTC, datetime

AT = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
ASSIGNMENT = {"kind": "sede", "code": "7000", "name": "Direzione provinciale di Roma"}

# what each kind is rendered with in a preview: (render function name, arguments)
SAMPLES: dict[str, tuple[str, tuple]] = {
    "protocol_registered": ("render_protocol_registered", ("COMBID.2026.00012345", "sollecito_domanda", AT)),
    "request_routed": ("render_request_routed", ("COMBID.2026.00012345", "sollecito_domanda", ASSIGNMENT)),
    "request_reassigned": (
        "render_request_reassigned",
        (
            "COMBID.2026.00012345",
            "sollecito_domanda",
            {"kind": "sede", "code": "0704", "name": "Direzione provinciale di Bari"},
            ASSIGNMENT,
        ),
    ),
    "request_taken_in_charge": (
        "render_request_taken_in_charge",
        ("COMBID.2026.00012345", "sollecito_domanda", "7000", AT),
    ),
    "request_answered": ("render_request_answered", ("COMBID.2026.00012345", "sollecito_domanda", AT)),
    "request_closed": (
        "render_request_closed",
        ("COMBID.2026.00012345", "sollecito_domanda", "accolta", "Pratica definita.", True, AT),
    ),
    "outbound_message": ("render_outbound_message", ("Verifica dei versamenti F24 di marzo", "7000", AT)),
    "appointment_booked": ("render_appointment_booked", None),
    "appointment_cancelled": ("render_appointment_cancelled", None),
    "appointment_reminder": ("render_appointment_reminder", None),
}

APPOINTMENT = {
    "booking_id": "6f1c1e9e-2b7e-4a51-9d0e-3f9c6b0d2a11",
    "punto_name": "Sede di Roma Tuscolano",
    "punto_address": "Via Tuscolana 100, Roma",
    "modality": "web_meeting",
    "topic": "pensioni",
    "slot_start": datetime(2026, 3, 18, 8, 0, tzinfo=UTC),
    "slot_end": datetime(2026, 3, 18, 8, 30, tzinfo=UTC),
    "room_url": "https://meet.inps.example/combid/abc123",
    "reason": "Chiusura straordinaria della sede",
    "at": AT,
}
