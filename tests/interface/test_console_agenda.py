"""Agenda Appuntamenti in the console (gateway/ui/pages_agenda.py) over HTTP, the services
stood in for: a requester's home and search, "Nuovo Appuntamento" from a request (the request's
sede, its punti, the free slots, the booking as the API's body), a refusal as an alert naming
the rule, cancelling; the official's day and availability; the API's 403/404 for the others."""

from __future__ import annotations

import copy

import pytest

from shared.errors import Conflict, NotFound
from tests.interface.test_console_pages import csrf_of, sign_in
from tests.interface.test_gateway_routes import (
    APPOINTMENT,
    APPOINTMENT_SUMMARY,
    AVAILABILITY,
    BOOKING_ID,
    CANCELLED,
    DAY_VIEW,
    DETAIL,
    ELIGIBILITY,
    PUNTO,
    REQUEST_ID,
)

SEARCH = {"items": [APPOINTMENT_SUMMARY], "total": 1, "page": 1, "page_size": 50}


def csrf(web_session) -> str:
    return csrf_of(web_session.get("/ui/profilo").text)


@pytest.fixture
def patronato(gateway, web_session):
    sign_in(web_session, "patronato_operatore")
    gateway.rpc.agenda.search_appointments.return_value = SEARCH
    gateway.rpc.intake.get_request.return_value = copy.deepcopy(DETAIL)
    gateway.rpc.agenda.eligibility.return_value = {**ELIGIBILITY, "allowed": True, "reason": "Prenotabile."}
    gateway.rpc.agenda.list_punti.return_value = [PUNTO]
    gateway.rpc.agenda.availability.return_value = AVAILABILITY
    gateway.rpc.agenda.get_appointment.return_value = APPOINTMENT
    return web_session


def test_the_requester_s_home_lists_the_bookings_in_italian_time(gateway, patronato):
    answer = patronato.get("/ui/agenda")
    assert answer.status_code == 200
    assert f'href="/ui/agenda/{BOOKING_ID}"' in answer.text
    assert "16/03/2026 09:00" in answer.text  # 08:00 UTC is 09:00 in Rome in March
    assert "Web meeting" in answer.text and "Nuovo Appuntamento" in answer.text


def test_the_search_passes_its_filters(gateway, patronato):
    answer = patronato.get("/ui/agenda/cerca?codice_fiscale=RSSMRA85T10A562S&state=confirmed")
    assert answer.status_code == 200
    assert gateway.rpc.agenda.search_appointments.call_args.args[1] == {
        "codice_fiscale": "RSSMRA85T10A562S",
        "state": "confirmed",
    }
    bad = patronato.get("/ui/agenda/cerca?codice_fiscale=XX")
    assert 'data-testid="avviso"' in bad.text and "codice_fiscale" in bad.text


def test_a_new_appointment_offers_the_punti_and_slots_of_the_request_s_sede(gateway, patronato):
    answer = patronato.get(f"/ui/agenda/nuovo?richiesta={REQUEST_ID}")
    assert answer.status_code == 200
    assert gateway.rpc.agenda.list_punti.call_args.args[1] == {"sede": "0704", "modality": "web_meeting"}
    query = gateway.rpc.agenda.availability.call_args.args[1]
    assert query["punto_id"] == "0704-SEDE" and query["modality"] == "web_meeting"
    assert 'value="2026-03-16T08:00:00+00:00"' in answer.text
    assert "lunedì 16/03 09:00" in answer.text and 'label="lunedì 16/03/2026"' in answer.text
    assert 'value="RSSMRA85T10A562S"' in answer.text  # the request's citizen


def test_booking_sends_the_api_s_body_and_shows_the_appointment(gateway, patronato):
    gateway.rpc.agenda.book.return_value = APPOINTMENT
    form = {
        "csrf": csrf(patronato),
        "request_id": REQUEST_ID,
        "punto_id": "0704-SEDE",
        "slot_start": "2026-03-16T08:00:00+00:00",
        "modality": "web_meeting",
        "topic": "pensioni",
        "codici_fiscali": "rssmra85t10a562s",
        "motivazione": "Chiarimenti",
        "email": "op@patronato.example",
    }
    answer = patronato.post("/ui/agenda/nuovo", data=form, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["Location"] == f"/ui/agenda/{BOOKING_ID}?fatto=prenotato"
    body = gateway.rpc.agenda.book.call_args.args[1]
    assert body == {
        "punto_id": "0704-SEDE",
        "slot_start": "2026-03-16T08:00:00+00:00",
        "modality": "web_meeting",
        "topic": "pensioni",
        "codici_fiscali": ["RSSMRA85T10A562S"],
        "motivazione": "Chiarimenti",
        "request_id": REQUEST_ID,
        "contact": {"email": "op@patronato.example"},
    }
    shown = patronato.get(answer.headers["Location"]).text
    assert "Appuntamento prenotato." in shown and "https://meet.example/room/abc" in shown


def test_a_slot_just_taken_is_an_alert_naming_the_rule(gateway, patronato):
    gateway.rpc.agenda.book.side_effect = Conflict("slot_taken", "L'orario è stato appena prenotato.")
    form = {
        "csrf": csrf(patronato),
        "request_id": REQUEST_ID,
        "punto_id": "0704-SEDE",
        "slot_start": "2026-03-16T08:00:00+00:00",
        "modality": "web_meeting",
        "topic": "pensioni",
        "codici_fiscali": "RSSMRA85T10A562S",
    }
    answer = patronato.post("/ui/agenda/nuovo", data=form)
    assert answer.status_code == 409
    assert 'data-code="slot_taken"' in answer.text and 'data-testid="form-prenota"' in answer.text


def test_cancelling_is_the_api_s_operation(gateway, patronato):
    gateway.rpc.agenda.cancel_appointment.return_value = CANCELLED
    answer = patronato.post(
        f"/ui/agenda/{BOOKING_ID}/annulla", data={"csrf": csrf(patronato)}, allow_redirects=False
    )
    assert answer.status_code == 303
    assert gateway.rpc.agenda.cancel_appointment.call_args.args[1:3] == (BOOKING_ID, {})


def test_an_appointment_out_of_reach_answers_404(gateway, patronato):
    gateway.rpc.agenda.get_appointment.side_effect = NotFound(
        "appointment_not_found", "Appuntamento non trovato."
    )
    assert patronato.get(f"/ui/agenda/{BOOKING_ID}").status_code == 404


def test_the_official_sees_the_sede_s_day_and_its_availability(gateway, web_session):
    sign_in(web_session, "sede_operatore")
    gateway.rpc.agenda.list_punti.return_value = [PUNTO]
    gateway.rpc.agenda.day_view.return_value = DAY_VIEW
    answer = web_session.get("/ui/agenda?date=2026-03-16")
    assert answer.status_code == 200
    assert gateway.rpc.agenda.list_punti.call_args.args[1] == {"sede": "0704"}
    assert gateway.rpc.agenda.day_view.call_args.args[1] == {"punto_id": "0704-SEDE", "day": "2026-03-16"}
    assert "09:00–09:30" in answer.text and "Ada" in answer.text
    assert "Nuovo Appuntamento" not in answer.text
    gateway.rpc.agenda.set_availability.return_value = PUNTO
    form = {
        "csrf": csrf(web_session),
        "punto_id": "0704-SEDE",
        "weekly": "mon=09:00-12:30",
        "slot_minutes": "30",
    }
    saved = web_session.post("/ui/agenda/disponibilita", data=form)
    assert saved.status_code == 200 and "Disponibilità aggiornata." in saved.text
    assert gateway.rpc.agenda.set_availability.call_args.args[1:] == (
        "0704-SEDE",
        {"weekly": "mon=09:00-12:30", "slot_minutes": 30},
    )


def test_the_office_screens_are_refused_to_requesters_and_booking_to_officials(gateway, web_session):
    sign_in(web_session, "patronato_operatore")
    assert web_session.get("/ui/agenda/disponibilita").status_code == 403
    sign_in(web_session, "sede_operatore")
    assert web_session.get(f"/ui/agenda/nuovo?richiesta={REQUEST_ID}").status_code == 403
    sign_in(web_session, "direttore_centrale")
    assert web_session.post("/ui/agenda/nuovo", data={"csrf": csrf(web_session)}).status_code == 403
    assert gateway.rpc.agenda.book.call_count == 0


def test_the_office_records_an_outcome_and_a_too_early_one_is_an_alert(gateway, web_session):
    sign_in(web_session, "sede_operatore")
    gateway.rpc.agenda.get_appointment.return_value = APPOINTMENT
    assert 'data-testid="form-esito"' in web_session.get(f"/ui/agenda/{BOOKING_ID}").text
    gateway.rpc.agenda.record_outcome.return_value = {**APPOINTMENT, "state": "held"}
    form = {"csrf": csrf(web_session), "outcome": "held", "note": "Chiarimenti forniti"}
    answer = web_session.post(f"/ui/agenda/{BOOKING_ID}/esito", data=form, allow_redirects=False)
    assert answer.status_code == 303
    assert gateway.rpc.agenda.record_outcome.call_args.args[1:3] == (
        BOOKING_ID,
        {"outcome": "held", "note": "Chiarimenti forniti"},
    )
    gateway.rpc.agenda.record_outcome.side_effect = Conflict(
        "appointment_not_started", "Non ancora iniziato."
    )
    refused = web_session.post(f"/ui/agenda/{BOOKING_ID}/esito", data=form)
    assert refused.status_code == 409 and 'data-code="appointment_not_started"' in refused.text


def test_a_requester_sees_no_outcome_form_and_may_not_post_one(gateway, patronato):
    assert 'data-testid="form-esito"' not in patronato.get(f"/ui/agenda/{BOOKING_ID}").text
    answer = patronato.post(
        f"/ui/agenda/{BOOKING_ID}/esito", data={"csrf": csrf(patronato), "outcome": "held"}
    )
    assert answer.status_code == 403
    gateway.rpc.agenda.record_outcome.assert_not_called()
