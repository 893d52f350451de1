"""Agenda's projection and eligibility query on a real (throwaway) PostgreSQL database."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from services.agenda import handlers
from services.agenda.models import BookingEligibility
from services.agenda.service import AgendaService
from shared.clock import FixedClock
from shared.db import DatabaseAccess, make_engine
from shared.errors import NotFound
from shared.events import REQUEST_SUBMITTED, make_event, parse_event
from shared.migrations import database_url, drop_database, upgrade

SUBMITTED_AT = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sessions():
    url = make_url(database_url("agenda")).set(database=f"combid_t_agenda_{secrets.token_hex(4)}")
    url = url.render_as_string(hide_password=False)
    upgrade("agenda", url)
    engine = make_engine(url, pool_size=2)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()
        drop_database(url)


def submitted(request_id):
    payload = {
        "request_id": request_id,
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "requisiti_accesso",
        "catalog_version": "combipat-2021",
        "area": "informazioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "patronato": {"ente": "001", "ufficio": "U1"},
        "contacts": {"email": None, "sms": None},
        "requester": "op-7",
        "submitted_at": SUBMITTED_AT,
    }
    return parse_event(make_event(REQUEST_SUBMITTED, payload, producer="intake").to_message())


def agenda(sessions, now):
    db = DatabaseAccess(sessions, "agenda.on_request_submitted")
    return worker_factory(AgendaService, db=db, clock=FixedClock(now))


def test_submission_projects_a_row_with_defaults(sessions):
    request_id = uuid.uuid4()
    service = agenda(sessions, SUBMITTED_AT)

    service.on_request_submitted(submitted(request_id))

    with sessions() as session:
        row = session.get(BookingEligibility, request_id)
    assert (row.requester, row.origin, row.submitted_at) == ("op-7", "patronato", SUBMITTED_AT)
    assert (row.first_answer_at, row.interactions, row.booking_enabled) == (None, 0, False)


def test_same_event_twice_changes_nothing(sessions):
    event = submitted(uuid.uuid4())
    db = DatabaseAccess(sessions, "agenda.on_request_submitted")

    assert db.apply_once(event, handlers.record_submitted) is True
    assert db.apply_once(event, handlers.record_submitted) is False


@pytest.mark.parametrize("days, allowed", [(14, False), (16, True)])
def test_eligibility_uses_the_service_clock(sessions, days, allowed):
    request_id = uuid.uuid4()
    agenda(sessions, SUBMITTED_AT).on_request_submitted(submitted(request_id))

    result = agenda(sessions, SUBMITTED_AT + timedelta(days=days)).eligibility(str(request_id))

    assert result["allowed"] is allowed
    assert result["reason_code"] == ("no_answer_in_time" if allowed else "waiting_for_answer")
    assert result["reason"]
    assert result["submitted_at"] == SUBMITTED_AT.isoformat()


def test_eligibility_of_unknown_request_is_not_found(sessions):
    with pytest.raises(NotFound):
        agenda(sessions, SUBMITTED_AT).eligibility(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        agenda(sessions, SUBMITTED_AT).eligibility("nonsense")
