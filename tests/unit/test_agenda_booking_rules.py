"""What a booking must satisfy and how it moves (services/agenda/rules/booking.py), and when a
request allows booking, with the date it will (rules/eligibility.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.agenda.rules import booking as rules
from services.agenda.rules.eligibility import booking_allowed, booking_possible_from
from shared.errors import Conflict, InvalidInput

OFFER = rules.PuntoOffer(
    "0704-S", "0704", ("in_person", "phone", "web_meeting"), ("pensioni", "informazioni")
)
CF1, CF2, CF3 = "RSSMRA85T10A562S", "VRDGPP80A01H501U", "BNCLRA90M41F205Z"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def command(**overrides):
    values = {
        "modality": "in_person",
        "topic": "pensioni",
        "codici_fiscali": [CF1],
        "motivazione": "Verifica della posizione contributiva",
        "contact": None,
    }
    values.update(overrides)
    return values


def codes(refused) -> list[str]:
    return [error["code"] for error in refused.value.errors]


def test_a_valid_booking_gives_its_codici_fiscali():
    assert rules.check_booking(command(codici_fiscali=[CF1.lower(), CF2]), OFFER) == [CF1, CF2]


def test_at_most_two_codici_fiscali():
    with pytest.raises(InvalidInput) as refused:
        rules.check_booking(command(codici_fiscali=[CF1, CF2, CF3]), OFFER)
    assert "too_many_citizens" in codes(refused)
    assert refused.value.status == 422
    with pytest.raises(InvalidInput) as none:
        rules.check_booking(command(codici_fiscali=[]), OFFER)
    assert codes(none) == ["citizen_required"]
    with pytest.raises(InvalidInput) as twice:
        rules.check_booking(command(codici_fiscali=[CF1, CF1]), OFFER)
    assert codes(twice) == ["repeated_citizen"]
    with pytest.raises(InvalidInput) as invalid:
        rules.check_booking(command(codici_fiscali=["RSSMRA85T10A562X"]), OFFER)
    assert codes(invalid) == ["invalid_codice_fiscale"]


@pytest.mark.parametrize("motivazione", [None, "", "   "])
def test_the_motivazione_is_required(motivazione):
    with pytest.raises(InvalidInput) as refused:
        rules.check_booking(command(motivazione=motivazione), OFFER)
    assert codes(refused) == ["motivazione_required"]


def test_web_meeting_needs_an_email_or_a_phone():
    with pytest.raises(InvalidInput) as refused:
        rules.check_booking(command(modality="web_meeting", contact={"email": None, "phone": None}), OFFER)
    assert codes(refused) == ["contact_required"]
    rules.check_booking(command(modality="web_meeting", contact={"email": "op@patronato.example"}), OFFER)
    rules.check_booking(command(modality="web_meeting", contact={"phone": "+390612345678"}), OFFER)


def test_modality_and_topic_must_be_offered_by_the_punto():
    sportello = rules.PuntoOffer("0704-P1", "0704", ("in_person",), ("informazioni",))
    with pytest.raises(InvalidInput) as refused:
        rules.check_booking(command(modality="phone"), sportello)
    assert codes(refused) == ["modality_not_offered", "topic_not_served"]


def test_the_slot_must_be_offered_and_in_the_future():
    with pytest.raises(Conflict) as past:
        rules.check_slot(True, NOW - timedelta(minutes=1), NOW)
    assert past.value.code == "slot_in_the_past"
    with pytest.raises(Conflict) as not_offered:
        rules.check_slot(False, NOW + timedelta(days=1), NOW)
    assert not_offered.value.code == "slot_not_offered"
    rules.check_slot(True, NOW + timedelta(days=1), NOW)


def test_races_lost_are_conflicts_with_stable_codes():
    assert (rules.slot_taken().code, rules.slot_taken().status) == ("slot_taken", 409)
    assert (rules.duplicate_booking().code, rules.duplicate_booking().status) == ("duplicate_booking", 409)


def test_cancelling():
    later = NOW + timedelta(days=1)
    assert rules.cancel("confirmed", False, None, later, NOW) == "cancelled_by_requester"
    assert rules.cancel("confirmed", True, "Sede chiusa per sciopero", later, NOW) == "cancelled_by_office"
    with pytest.raises(InvalidInput) as no_reason:
        rules.cancel("confirmed", True, " ", later, NOW)
    assert codes(no_reason) == ["reason_required"]
    with pytest.raises(Conflict) as started:
        rules.cancel("confirmed", False, None, NOW, NOW)
    assert started.value.code == "appointment_started"
    with pytest.raises(Conflict) as again:
        rules.cancel("cancelled_by_requester", False, None, later, NOW)
    assert again.value.code == "not_confirmed"


def test_the_outcome_is_recorded_once_the_time_has_come():
    assert rules.record_outcome("confirmed", "held", NOW, NOW) == "held"
    assert rules.record_outcome("confirmed", "no_show", NOW, NOW + timedelta(hours=1)) == "no_show"
    with pytest.raises(Conflict) as early:
        rules.record_outcome("confirmed", "held", NOW + timedelta(hours=1), NOW)
    assert early.value.code == "appointment_not_started"
    with pytest.raises(Conflict):
        rules.record_outcome("held", "no_show", NOW, NOW)
    with pytest.raises(InvalidInput):
        rules.record_outcome("confirmed", "maybe", NOW, NOW)


# ---- eligibility: the date from which booking becomes possible --------------------------------


def request(**overrides):
    values = {
        "submitted_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "first_answer_at": None,
        "interactions": 0,
        "booking_enabled": False,
        "closed_at": None,
        "reopened_at": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_waiting_for_an_answer_says_from_when_booking_is_possible():
    row = request()
    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert booking_allowed(row, now)[:2] == (False, "waiting_for_answer")
    assert booking_possible_from(row, now) == date(2026, 3, 18)  # more than 15 days
    assert booking_allowed(row, datetime(2026, 3, 18, 9, 0, tzinfo=UTC))[0] is True
    assert booking_possible_from(row, datetime(2026, 3, 18, 9, 0, tzinfo=UTC)) is None


def test_no_date_when_waiting_alone_will_not_open_booking():
    answered = request(first_answer_at=datetime(2026, 3, 3, tzinfo=UTC), interactions=1)
    assert booking_allowed(answered, NOW + timedelta(days=30))[1] == "interactions_available"
    assert booking_possible_from(answered, NOW + timedelta(days=30)) is None


def test_a_request_reopened_by_a_followup_is_no_longer_closed():
    first_answer = datetime(2026, 3, 3, tzinfo=UTC)
    closed = request(first_answer_at=first_answer, closed_at=first_answer)
    assert booking_allowed(closed, NOW + timedelta(days=2))[1] == "closed_without_booking"
    reopened = request(
        first_answer_at=first_answer,
        closed_at=first_answer,
        reopened_at=first_answer + timedelta(days=1),
        interactions=1,
    )
    assert booking_allowed(reopened, NOW + timedelta(days=2))[1] == "interactions_available"
    exhausted = request(
        first_answer_at=first_answer,
        closed_at=first_answer,
        reopened_at=first_answer + timedelta(days=1),
        interactions=2,
    )
    assert booking_allowed(exhausted, NOW + timedelta(days=2))[:2] == (True, "interactions_exhausted")
