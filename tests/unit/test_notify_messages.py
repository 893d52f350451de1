"""Notify's texts: what the requester reads."""

from datetime import UTC, datetime

from services.notify.messages import (
    SUBJECT_LINE_MAX,
    TEMPLATE_OUTBOUND_MESSAGE,
    TEMPLATE_PROTOCOL_REGISTERED,
    TEMPLATE_REQUEST_CLOSED,
    TEMPLATE_REQUEST_ROUTED,
    render_outbound_message,
    render_protocol_registered,
    render_request_closed,
    render_request_routed,
)

PROTOCOL = "COMBID.2026.00000042"


def assignment(kind="sede", code="7000", name="Direzione provinciale di Roma"):
    return {"kind": kind, "code": code, "name": name, "reason": "cap 00184", "queue": "pensioni"}


def test_protocol_registered_names_protocol_subject_and_rome_time():
    # 23:30 UTC on 31 January is already 1 February in Rome
    message = render_protocol_registered(
        PROTOCOL, "sollecito_domanda", datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    )

    assert message.template == TEMPLATE_PROTOCOL_REGISTERED
    assert message.subject_line == f"Richiesta protocollata n. {PROTOCOL}"
    assert PROTOCOL in message.body
    assert "sollecito_domanda" in message.body
    assert "01/02/2026 alle 00:30" in message.body
    assert "protocollata" in message.body


def test_request_routed_names_the_office():
    message = render_request_routed(PROTOCOL, "sollecito_domanda", assignment())

    assert message.template == TEMPLATE_REQUEST_ROUTED
    assert message.subject_line == f"Richiesta n. {PROTOCOL} inoltrata alla sede"
    assert PROTOCOL in message.body
    assert "Direzione provinciale di Roma (codice 7000)" in message.body


def test_request_routed_to_triage_says_assignment_is_in_progress():
    message = render_request_routed(
        PROTOCOL, "sollecito_domanda", assignment(kind="triage", code="TRIAGE", name="Smistamento")
    )

    assert "in corso di assegnazione" in message.subject_line
    assert "in corso di" in message.body and "assegnazione all'ufficio competente" in message.body
    assert "TRIAGE" not in message.body and "Smistamento" not in message.body


def test_templates_leave_no_blank_lines_from_control_blocks():
    body = render_request_routed(PROTOCOL, "sollecito_domanda", assignment()).body

    assert "\n\n\n" not in body
    assert "{%" not in body and "{{" not in body


CLOSED_AT = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 1 February, 00:30 in Rome


def test_request_closed_gives_outcome_comment_and_rome_time():
    message = render_request_closed(
        PROTOCOL, "sollecito_domanda", "accolta", "Pratica definita.", False, CLOSED_AT
    )

    assert message.template == TEMPLATE_REQUEST_CLOSED
    assert message.subject_line == f"Richiesta chiusa n. {PROTOCOL}"
    assert PROTOCOL in message.body and "sollecito_domanda" in message.body
    assert "Esito: accolta" in message.body
    assert "Commento dell'operatore: Pratica definita." in message.body
    assert "01/02/2026 alle 00:30" in message.body
    assert "appuntamento" not in message.body


def test_request_closed_with_booking_says_an_appointment_can_be_booked():
    message = render_request_closed(PROTOCOL, "sollecito_domanda", "respinta", None, True, CLOSED_AT)

    assert "prenotazione di un appuntamento" in message.body
    assert "Commento" not in message.body
    assert "\n\n\n" not in message.body and "{{" not in message.body


def test_outbound_message_takes_its_subject_line_from_the_message():
    message = render_outbound_message("Verifica\nversamenti F24", "7000", CLOSED_AT)

    assert message.template == TEMPLATE_OUTBOUND_MESSAGE
    assert message.subject_line == "Comunicazione dalla sede INPS: Verifica versamenti F24"
    assert "Verifica versamenti F24" in message.body and "codice 7000" in message.body
    assert "01/02/2026 alle 00:30" in message.body


def test_outbound_subject_line_is_shortened_to_what_a_delivery_keeps():
    message = render_outbound_message("x" * 500, "7000", CLOSED_AT)

    assert len(message.subject_line) == SUBJECT_LINE_MAX
    assert message.subject_line.endswith("…")


def test_outbound_without_sede_code_still_reads_well():
    body = render_outbound_message("Verifica", "", CLOSED_AT).body

    assert "una sede INPS le ha inviato" in body and "codice" not in body
    assert "\n\n\n" not in body
