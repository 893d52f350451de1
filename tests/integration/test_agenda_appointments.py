"""Agenda's bookings on the real PostgreSQL test database: the database's guards against double
booking under concurrency, cancellation freeing the slot, rescheduling in one transaction,
eligibility from a request, reminders emitted once by racing timers, the .ics and the room link.

Each test books its own days and uses its own callers, so tests share the module's database."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta

import eventlet
import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.agenda import projections, use_cases
from services.agenda.models import Booking, ReminderEmitted
from services.agenda.reference import store
from services.agenda.reference.dataset import SAMPLE_DIR, read_punti
from services.agenda.service import AgendaService
from services.agenda.use_cases import Settings
from shared.access import Caller
from shared.clock import ROME, FixedClock
from shared.db import DatabaseAccess, OutboxMessage, cooperative_psycopg, make_engine
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import REQUEST_ROUTED, REQUEST_SUBMITTED, make_event, parse_event

PUNTO = "0704-S"  # Roma, in person / phone / web meeting, 30-minute slots, Mon-Fri mornings
SETTINGS = Settings(web_meeting_base_url="https://meet.test.example/room", reminder_leads_minutes=(1440, 120))
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday, before opening
CF1, CF2, CF3 = "RSSMRA85T10A562S", "VRDGPP80A01H501U", "BNCLRA90M41F205Z"
OFFICIAL = Caller.from_claims(
    {"sub": "off-0704", "role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"]}
)
OTHER_OFFICIAL = Caller.from_claims(
    {"sub": "off-0101", "role": "sede_operatore", "sede": "0101", "groups": ["APP_FEA_COMBID"]}
)


@pytest.fixture(scope="module")
def sessions(database_sessions):
    sessions = database_sessions("agenda")
    records, problems = read_punti(SAMPLE_DIR)
    assert problems == []
    with sessions.begin() as session:
        store.apply_punti(session, records, "test sample", NOW)
    return sessions


_days_used = iter(range(1, 400))


def fresh_day() -> date:
    """A weekday (not a holiday) no other test of the module books on."""
    while True:
        day = date(2026, 3, 3) + timedelta(days=next(_days_used))
        if day.weekday() < 5 and day not in (date(2026, 4, 6), date(2026, 4, 25), date(2026, 5, 1)):
            if day != date(2026, 6, 2) and day != date(2026, 6, 29):
                return day


def slot(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ROME).astimezone(UTC)


def operator(sub: str | None = None) -> Caller:
    return Caller.from_claims(
        {
            "sub": sub or f"op-{secrets.token_hex(4)}",
            "role": "patronato_operatore",
            "patronato": "001",
            "ufficio": "0001",
        }
    )


def booking_command(start: datetime, **overrides) -> dict:
    values = {
        "request_id": None,
        "punto_id": PUNTO,
        "slot_start": start,
        "modality": "in_person",
        "topic": "pensioni",
        "codici_fiscali": [CF1],
        "contact": {"email": "operatore@patronato.example", "phone": None},
        "motivazione": "Verifica della posizione pensionistica",
        "attachments": [],
        "matricola": None,
    }
    values.update(overrides)
    return values


def book(sessions, caller, command, now=NOW):
    with sessions.begin() as session:
        return use_cases.book(session, SETTINGS, caller, command, now)


def confirmed_at(sessions, start: datetime) -> int:
    with sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.punto_id == PUNTO, Booking.slot_start == start, Booking.state == "confirmed")
        )


def events_of(sessions, booking_id: str) -> list[str]:
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
    return [row.event_type for row in rows if row.body["payload"].get("booking_id") == booking_id]


# ---- the database's guards ---------------------------------------------------------------------


def test_twenty_concurrent_attempts_on_one_slot_one_wins(infra):
    cooperative_psycopg()  # psycopg2 yields to eventlet while the server makes it wait
    engine = make_engine(infra.database_url("agenda"), pool_size=20)
    sessions = sessionmaker(engine, expire_on_commit=False)
    records, _ = read_punti(SAMPLE_DIR)
    with sessions.begin() as session:
        if store.active_version_id(session) is None:
            store.apply_punti(session, records, "test sample", NOW)
    start = slot(fresh_day(), 10)

    def attempt(index):
        try:
            book(sessions, operator(f"race-{index}-{secrets.token_hex(3)}"), booking_command(start))
            return "confirmed"
        except Conflict as exc:
            return exc.code

    pool = eventlet.GreenPool(20)
    outcomes = list(pool.imap(attempt, range(20)))
    engine.dispose()

    assert outcomes.count("confirmed") == 1
    assert outcomes.count("slot_taken") == 19
    assert confirmed_at(sessions, start) == 1


def test_cancellation_frees_the_slot(sessions):
    start = slot(fresh_day())
    first = book(sessions, operator(), booking_command(start))
    with pytest.raises(Conflict) as taken:
        book(sessions, operator(), booking_command(start))
    assert taken.value.code == "slot_taken"

    owner = Caller.from_claims(
        {"sub": first["booked_by"], "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}
    )
    with sessions.begin() as session:
        cancelled = use_cases.cancel(session, SETTINGS, owner, first["id"], {"reason": None}, NOW)
    assert cancelled["state"] == "cancelled_by_requester"

    second = book(sessions, operator(), booking_command(start))
    assert second["state"] == "confirmed"
    assert events_of(sessions, first["id"]) == ["appointment_booked", "appointment_cancelled"]


def test_a_requester_holds_one_confirmed_booking_per_citizen_and_topic(sessions):
    caller, day = operator(), fresh_day()
    book(sessions, caller, booking_command(slot(day, 9)))
    with pytest.raises(Conflict) as duplicate:
        book(sessions, caller, booking_command(slot(day, 10), codici_fiscali=[CF2, CF1]))
    assert duplicate.value.code == "duplicate_booking"
    # another topic, or another citizen, is another booking
    book(sessions, caller, booking_command(slot(day, 10), topic="informazioni"))
    book(sessions, caller, booking_command(slot(day, 11), codici_fiscali=[CF2]))


def test_rules_refuse_before_anything_is_stored(sessions):
    start = slot(fresh_day())
    with pytest.raises(InvalidInput) as refused:
        book(sessions, operator(), booking_command(start, codici_fiscali=[CF1, CF2, CF3], motivazione=" "))
    assert {error["code"] for error in refused.value.errors} == {"too_many_citizens", "motivazione_required"}
    with pytest.raises(InvalidInput) as web:
        book(sessions, operator(), booking_command(start, modality="web_meeting", contact=None))
    assert [error["code"] for error in web.value.errors] == ["contact_required"]
    with pytest.raises(Conflict) as not_offered:
        book(sessions, operator(), booking_command(start + timedelta(minutes=10)))
    assert not_offered.value.code == "slot_not_offered"
    assert confirmed_at(sessions, start) == 0


def test_reschedule_cancels_and_books_in_one_step(sessions):
    caller, day = operator(), fresh_day()
    old = book(sessions, caller, booking_command(slot(day, 9)))
    other = book(sessions, operator(), booking_command(slot(day, 10)))

    with pytest.raises(Conflict) as taken, sessions.begin() as session:
        use_cases.reschedule(session, SETTINGS, caller, old["id"], booking_command(slot(day, 10)), NOW)
    assert taken.value.code == "slot_taken"
    with sessions() as session:  # refused: the old booking stands
        assert session.get(Booking, uuid.UUID(old["id"])).state == "confirmed"

    with sessions.begin() as session:
        moved = use_cases.reschedule(
            session, SETTINGS, caller, old["id"], booking_command(slot(day, 11)), NOW
        )
    assert (moved["state"], moved["rescheduled_from"]) == ("confirmed", old["id"])
    assert confirmed_at(sessions, slot(day, 9)) == 0
    assert other["state"] == "confirmed"


# ---- booking from a request ------------------------------------------------------------------


def submitted(request_id, requester: str, origin="patronato", matricola=None, submitted_at=NOW):
    payload = {
        "request_id": request_id,
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": origin,
        "channel": "combipat" if origin == "patronato" else "cassetto",
        "profile": "operatore_generico",
        "subject": "requisiti_accesso",
        "catalog_version": "combipat-2021",
        "area": "pensioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": CF1, "cap": "00184"} if origin == "patronato" else None,
        "matricola": matricola,
        "patronato": {"ente": "001", "ufficio": "0001"} if origin == "patronato" else None,
        "contacts": {"email": None, "sms": None},
        "requester": requester,
        "submitted_at": submitted_at,
    }
    return parse_event(make_event(REQUEST_SUBMITTED, payload, producer="intake").to_message())


def routed(request_id, sede="0704"):
    payload = {
        "request_id": request_id,
        "assignment": {
            "kind": "sede",
            "code": sede,
            "name": "Direzione provinciale",
            "reason": "test",
            "queue": "q",
            "region": "Lazio",
        },
        "rule": "cassetto_matricola",
        "reference_version": "v1",
        "decided_at": NOW,
    }
    return parse_event(make_event(REQUEST_ROUTED, payload, producer="routing").to_message())


def test_booking_from_a_request_not_yet_eligible_says_from_when(sessions):
    caller, request_id = operator(), uuid.uuid4()
    with sessions.begin() as session:
        projections.record_submitted(session, submitted(request_id, caller.sub))
    start = slot(fresh_day())
    with pytest.raises(Conflict) as refused:
        book(sessions, caller, booking_command(start, request_id=str(request_id)))
    assert refused.value.status == 409
    assert refused.value.code == "booking_not_allowed"
    assert refused.value.extra == {"reason_code": "waiting_for_answer", "booking_possible_from": "2026-03-18"}

    later = datetime(2026, 3, 18, 6, 0, tzinfo=UTC)
    booked = book(
        sessions, caller, booking_command(slot(date(2026, 3, 19), 12), request_id=str(request_id)), now=later
    )
    assert booked["request_id"] == str(request_id)
    with pytest.raises(NotFound):  # another patronato's operator does not see the request
        other = Caller.from_claims(
            {"sub": "op-x", "role": "patronato_operatore", "patronato": "002", "ufficio": "0001"}
        )
        book(
            sessions,
            other,
            booking_command(slot(date(2026, 3, 19), 12), request_id=str(request_id)),
            now=later,
        )


def test_a_company_books_at_the_sede_its_request_was_routed_to(sessions):
    company = Caller.from_claims(
        {"sub": f"az-{secrets.token_hex(3)}", "role": "azienda", "matricole": ["7012345678"]}
    )
    request_id = uuid.uuid4()
    long_ago = NOW - timedelta(days=20)
    with sessions.begin() as session:
        projections.record_submitted(
            session, submitted(request_id, company.sub, "cassetto", "7012345678", submitted_at=long_ago)
        )
    day = fresh_day()
    with pytest.raises(Conflict) as unrouted:
        book(sessions, company, booking_command(slot(day), request_id=str(request_id)))
    assert unrouted.value.code == "request_not_routed"
    with sessions.begin() as session:
        projections.record_routed(session, routed(request_id, sede="0101"))
    with pytest.raises(Conflict) as elsewhere:
        book(sessions, company, booking_command(slot(day), request_id=str(request_id)))
    assert (elsewhere.value.code, elsewhere.value.extra) == ("not_competent_sede", {"sede": "0101"})
    booked = book(
        sessions, company, booking_command(slot(day), punto_id="0101-S", request_id=str(request_id))
    )
    assert (booked["sede"], booked["matricola"]) == ("0101", "7012345678")


def test_a_direct_company_booking_names_a_delegated_matricola(sessions):
    company = Caller.from_claims(
        {"sub": f"az-{secrets.token_hex(3)}", "role": "azienda", "matricole": ["7012345678"]}
    )
    start = slot(fresh_day())
    with pytest.raises(InvalidInput):
        book(sessions, company, booking_command(start))
    with pytest.raises(Forbidden) as foreign:
        book(sessions, company, booking_command(start, matricola="7099999999"))
    assert foreign.value.code == "matricola_not_delegated"
    assert book(sessions, company, booking_command(start, matricola="7012345678"))["state"] == "confirmed"


# ---- the office ------------------------------------------------------------------------------


def test_the_office_cancels_with_a_reason_and_records_outcomes(sessions):
    day = fresh_day()
    first = book(sessions, operator(), booking_command(slot(day, 9)))
    second = book(sessions, operator(), booking_command(slot(day, 10)))
    with pytest.raises(NotFound), sessions.begin() as session:
        use_cases.cancel(session, SETTINGS, OTHER_OFFICIAL, first["id"], {"reason": "x"}, NOW)
    with pytest.raises(InvalidInput), sessions.begin() as session:
        use_cases.cancel(session, SETTINGS, OFFICIAL, first["id"], {"reason": None}, NOW)
    with sessions.begin() as session:
        cancelled = use_cases.cancel(session, SETTINGS, OFFICIAL, first["id"], {"reason": "Sede chiusa"}, NOW)
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled_by_office", "Sede chiusa")

    after = slot(day, 10, 30)
    with sessions.begin() as session:
        held = use_cases.record_outcome(
            session, SETTINGS, OFFICIAL, second["id"], {"outcome": "no_show", "note": "Assente"}, after
        )
    assert held["state"] == "no_show"
    assert events_of(sessions, second["id"]) == ["appointment_booked", "appointment_no_show"]


def test_officials_set_availability_and_see_their_day(sessions):
    day = fresh_day()
    with pytest.raises(NotFound), sessions.begin() as session:
        use_cases.set_availability(session, OTHER_OFFICIAL, "0704-A1", {"add_exceptions": []}, NOW)
    command = {
        "weekly": None,
        "slot_minutes": None,
        "add_exceptions": [
            {"day": day, "kind": "closed", "hours": "09:00-10:00", "reason": "Assemblea"},
            {"day": day, "kind": "extra", "hours": "15:00-15:40", "reason": "Apertura straordinaria"},
        ],
        "remove_exceptions": [],
    }
    with sessions.begin() as session:
        punto = use_cases.set_availability(session, OFFICIAL, "0704-A1", command, NOW)
    assert len(punto["exceptions"]) == 2
    service = worker_factory(
        AgendaService, db=DatabaseAccess(sessions, "agenda.availability"), clock=FixedClock(NOW)
    )
    free = service.availability(
        OFFICIAL.as_claims(), {"punto_id": "0704-A1", "from": day.isoformat(), "to": day.isoformat()}
    )
    starts = [item["start"] for item in free["slots"]]
    assert slot(day, 9).isoformat() not in starts
    assert slot(day, 15).isoformat() in starts and slot(day, 15, 20).isoformat() in starts
    view = service.day_view(OFFICIAL.as_claims(), {"punto_id": "0704-A1", "day": day.isoformat()})
    assert view["days"][0]["day"] == day.isoformat()


def test_availability_hides_taken_slots_and_bounds_the_range(sessions):
    day = fresh_day()
    book(sessions, operator(), booking_command(slot(day, 9)))
    service = worker_factory(
        AgendaService, db=DatabaseAccess(sessions, "agenda.availability"), clock=FixedClock(NOW)
    )
    claims = operator().as_claims()
    free = service.availability(claims, {"punto_id": PUNTO, "from": day.isoformat(), "to": day.isoformat()})
    assert slot(day, 9).isoformat() not in [item["start"] for item in free["slots"]]
    assert slot(day, 9, 30).isoformat() in [item["start"] for item in free["slots"]]
    with pytest.raises(InvalidInput) as too_long:
        service.availability(claims, {"punto_id": PUNTO, "from": "2026-03-01", "to": "2026-06-01"})
    assert too_long.value.errors[0]["code"] == "range_too_long"


# ---- what the parties see --------------------------------------------------------------------


def test_room_link_ics_and_visibility(sessions):
    caller = operator()
    start = slot(fresh_day(), 11)
    booked = book(sessions, caller, booking_command(start, modality="web_meeting"))
    assert booked["room_url"].startswith("https://meet.test.example/room/")
    assert len(booked["room_url"].rsplit("/", 1)[1]) >= 32

    service = worker_factory(AgendaService, db=DatabaseAccess(sessions, "agenda.read"), clock=FixedClock(NOW))
    token = booked["room_url"].rsplit("/", 1)[1]
    # the service's own base URL (config.yml's default here), the booking's token
    assert service.get_appointment(OFFICIAL.as_claims(), booked["id"])["room_url"].endswith("/" + token)
    director = Caller.from_claims({"sub": "dir", "role": "direttore", "regione": "Lazio"})
    assert service.get_appointment(director.as_claims(), booked["id"])["room_url"] is None
    with pytest.raises(NotFound):
        service.get_appointment(operator().as_claims(), booked["id"])
    with pytest.raises(NotFound):
        service.get_appointment(OTHER_OFFICIAL.as_claims(), booked["id"])

    ics = service.appointment_ics(caller.as_claims(), booked["id"])
    assert ics["content_type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics["content"] and booked["id"] in ics["content"]
    assert token in ics["content"].replace("\r\n ", "")

    mine = service.search_appointments(caller.as_claims(), {})
    assert [item["id"] for item in mine["items"]] == [booked["id"]]
    by_citizen = service.search_appointments(OFFICIAL.as_claims(), {"codice_fiscale": CF1, "page_size": 100})
    assert booked["id"] in [item["id"] for item in by_citizen["items"]]


# ---- reminders -------------------------------------------------------------------------------


def test_reminders_are_emitted_once_with_two_timers_racing(infra):
    cooperative_psycopg()
    engine = make_engine(infra.database_url("agenda"), pool_size=4)
    sessions = sessionmaker(engine, expire_on_commit=False)
    start = slot(fresh_day(), 9)
    booked = book(sessions, operator(), booking_command(start))
    booking_id = uuid.UUID(booked["id"])

    def tick(now):
        with sessions.begin() as session:
            return use_cases.emit_due_reminders(session, SETTINGS, now)

    def race(now):
        pool = eventlet.GreenPool(2)
        return list(pool.imap(tick, [now, now]))

    race(start - timedelta(hours=30))  # nothing due yet
    race(start - timedelta(hours=23))  # the 24-hour reminder
    race(start - timedelta(hours=22))  # nothing new
    race(start - timedelta(minutes=90))  # the 2-hour reminder
    race(start + timedelta(minutes=1))  # started: nothing

    with sessions() as session:
        leads = session.scalars(
            select(ReminderEmitted.lead_minutes).where(ReminderEmitted.booking_id == booking_id)
        ).all()
    engine.dispose()
    assert sorted(leads) == [120, 1440]
    reminders = [kind for kind in events_of(sessions, booked["id"]) if kind == "appointment_reminder_due"]
    assert len(reminders) == 2


def test_no_reminder_for_a_lead_already_past_at_booking_or_a_cancelled_booking(sessions):
    start = slot(fresh_day(), 9)
    booked = book(sessions, operator(), booking_command(start), now=start - timedelta(hours=3))
    with sessions.begin() as session:
        assert use_cases.emit_due_reminders(session, SETTINGS, start - timedelta(hours=2, minutes=59)) == 0
    with sessions.begin() as session:
        assert use_cases.emit_due_reminders(session, SETTINGS, start - timedelta(minutes=100)) == 1
    other = book(sessions, operator(), booking_command(slot(start.astimezone(ROME).date(), 10)))
    owner = Caller.from_claims(
        {"sub": other["booked_by"], "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}
    )
    with sessions.begin() as session:
        use_cases.cancel(session, SETTINGS, owner, other["id"], {}, NOW)
    with sessions.begin() as session:
        emitted = use_cases.emit_due_reminders(session, SETTINGS, slot(start.astimezone(ROME).date(), 9, 30))
    assert emitted == 0
    assert booked["state"] == "confirmed"
