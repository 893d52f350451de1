"""Who sees an appointment (shared/access.py), the punti CSV checks, the .ics, the appointment
events' contract and notify's appointment messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.agenda.reference.dataset import COLUMNS, PUNTI_FILE, SAMPLE_DIR, read_punti
from services.agenda.reference.sample import generate_sample
from services.notify.messages import render_appointment_booked, render_request_closed
from shared import access, appointment_ics
from shared.access import AppointmentParties, Caller
from shared.errors import Forbidden, NotFound
from shared.events import APPOINTMENT_BOOKED, InvalidEvent, make_event

PARTIES = AppointmentParties(booked_by="op-1", sede="0704", region="Lazio")


def caller(**claims) -> Caller:
    return Caller.from_claims(claims)


@pytest.mark.parametrize(
    "claims, sees",
    [
        ({"sub": "op-1", "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}, True),
        ({"sub": "op-2", "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}, False),
        ({"sub": "cc-1", "role": "contact_center"}, False),
        ({"sub": "o", "role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"]}, True),
        ({"sub": "o", "role": "sede_operatore", "sede": "0704"}, False),
        ({"sub": "o", "role": "sede_operatore", "sede": "0101", "groups": ["APP_FEA_COMBID"]}, False),
        ({"sub": "d", "role": "direttore", "regione": "Lazio"}, True),
        ({"sub": "d", "role": "direttore", "sede": "0101"}, False),
        ({"sub": "d", "role": "direttore", "scope": "national"}, True),
        ({"sub": "a", "role": "admin"}, True),
    ],
)
def test_who_sees_an_appointment(claims, sees):
    assert access.can_see_appointment(caller(**claims), PARTIES) is sees


def test_only_the_sedes_officials_manage_its_agenda():
    access.require_appointment_office(caller(sub="a", role="admin"), "0704")
    access.require_appointment_office(
        caller(sub="o", role="sede_operatore", sede="0704", groups=["APP_FEA_COMBID"]), "0704"
    )
    with pytest.raises(NotFound):
        access.require_appointment_office(
            caller(sub="o", role="sede_operatore", sede="0101", groups=["APP_FEA_COMBID"]), "0704"
        )
    with pytest.raises(Forbidden) as group:
        access.require_appointment_office(caller(sub="o", role="sede_operatore", sede="0704"), "0704")
    assert group.value.code == "missing_group"
    with pytest.raises(Forbidden):
        access.require_appointment_office(caller(sub="op", role="patronato_operatore"), "0704")


def test_the_committed_sample_is_what_the_generator_writes_and_passes_the_checks():
    records, problems = read_punti(SAMPLE_DIR)
    assert problems == []
    assert records == generate_sample()
    assert {record.kind for record in records} == {"sede", "agenzia", "sportello"}
    roma = next(record for record in records if record.punto_id == "0704-S")
    assert (roma.comune, roma.patron_day) == ("Roma", "06-29")


def test_a_bad_punti_file_is_refused_line_by_line(tmp_path):
    header = ",".join(COLUMNS)
    good = '0704-S,0704,Lazio,sede,Roma,"Via X, Roma",Roma,in_person,pensioni,mon=09:00-12:00,30,06-29'
    lines = [
        header,
        good,
        good,  # repeated
        '0704-B,704,Lazio,sede,Roma,"Via X",Roma,in_person,pensioni,mon=09:00-12:00,30,',
        '0704-C,0704,Lazio,ufficio,Roma,"Via X",Roma,in_person,pensioni,mon=09:00-12:00,30,',
        '0704-D,0704,Lazio,sede,Roma,"Via X",Roma,fax,pensioni,mon=09:00-12:00,30,',
        '0704-E,0704,Lazio,sede,Roma,"Via X",Roma,in_person,pensioni,lun=09:00-12:00,30,',
        '0704-F,0704,Lazio,sede,Roma,"Via X",Roma,in_person,pensioni,mon=09:00-12:00,7,',
    ]
    (tmp_path / PUNTI_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, problems = read_punti(tmp_path)
    assert [problem.split(":")[1] for problem in problems] == ["3", "4", "5", "6", "7", "8"]


START = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
FACTS = {
    "booking_id": uuid.UUID(int=7),
    "punto_name": "Agenzia Roma 1",
    "punto_address": "Piazza dell'Agenzia 1, Roma",
    "modality": "web_meeting",
    "topic": "pensioni",
    "slot_start": START,
    "slot_end": START + timedelta(minutes=20),
    "motivazione": "Verifica",
}


def test_the_ics_of_an_appointment():
    text = appointment_ics.appointment_ics(FACTS, "https://meet.example/abc")
    assert text.startswith("BEGIN:VCALENDAR")
    assert "DTSTART:20261130T083000Z" in text and "DTEND:20261130T085000Z" in text
    assert f"UID:{FACTS['booking_id']}@combid.inps.example" in text
    assert "STATUS:CONFIRMED" in text and "URL:https://meet.example/abc" in text
    cancelled = appointment_ics.appointment_ics(FACTS, None, "cancelled_by_office")
    assert "STATUS:CANCELLED" in cancelled and "METHOD:CANCEL" in cancelled and "URL:" not in cancelled


def booked_payload(**overrides):
    payload = {
        **{key: value for key, value in FACTS.items() if key != "motivazione"},
        "request_id": None,
        "punto_id": "0704-A1",
        "sede": "0704",
        "region": "Lazio",
        "booked_by": "op-1",
        "booked_by_role": "patronato_operatore",
        "contact": {"email": "op@example.it", "phone": None},
        "at": START - timedelta(days=3),
        "codici_fiscali": ["RSSMRA85T10A562S"],
        "room_url": "https://meet.example/abc",
        "rescheduled_from": None,
    }
    payload.update(overrides)
    return payload


def test_appointment_events_follow_the_contract():
    event = make_event(APPOINTMENT_BOOKED, booked_payload(), producer="agenda")
    assert event.payload["slot_start"] == "2026-11-30T08:30:00+00:00"
    with pytest.raises(InvalidEvent):
        make_event(APPOINTMENT_BOOKED, booked_payload(modality="fax"), producer="agenda")


def test_the_confirmation_names_place_time_room_and_carries_the_ics():
    message = render_appointment_booked(booked_payload(), "BEGIN:VCALENDAR", "a.ics")
    assert message.subject_line == "Appuntamento confermato: 30/11/2026 alle 09:30"
    assert "Agenzia Roma 1" in message.body and "web meeting" in message.body
    assert "https://meet.example/abc" in message.body
    assert message.attachments == (("a.ics", "text/calendar", b"BEGIN:VCALENDAR"),)


def test_the_closing_mail_tells_when_interactions_used_up_open_booking():
    exhausted = render_request_closed("P1", "s", "esito", None, False, START, booking_possible=True)
    assert "interazioni previste sono esaurite" in exhausted.body
    not_possible = render_request_closed("P1", "s", "esito", None, False, START, booking_possible=False)
    assert "Prenota" not in not_possible.body


def test_the_services_settings_come_from_its_config():
    from nameko import config

    from services.agenda.service import settings_from_config

    with config.patch({"WEB_MEETING_BASE_URL": "https://meet.example/x", "REMINDER_LEAD_MINUTES": "60, 15"}):
        settings = settings_from_config()
    assert (settings.web_meeting_base_url, settings.reminder_leads_minutes) == (
        "https://meet.example/x",
        (60, 15),
    )
    with config.patch({}, clear=True):
        assert settings_from_config().reminder_leads_minutes == (1440, 120)
