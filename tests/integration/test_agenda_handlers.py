"""Agenda's projection and eligibility query on the real PostgreSQL test database."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from services.agenda import projections
from services.agenda.models import BookingEligibility
from services.agenda.service import AgendaService
from shared.clock import FixedClock
from shared.db import DatabaseAccess
from shared.errors import NotFound
from shared.events import (
    REQUEST_ANSWERED,
    REQUEST_CLOSED,
    REQUEST_FOLLOWUP_ADDED,
    REQUEST_SUBMITTED,
    make_event,
    parse_event,
)

SUBMITTED_AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("agenda")


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

    assert db.apply_once(event, projections.record_submitted) is True
    assert db.apply_once(event, projections.record_submitted) is False


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


# ---- lifecycle events --------------------------------------------------------------------------


def step(event_type, request_id, days, **fields):
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "actor": "op-1",
        "actor_role": "sede_operatore",
        "at": SUBMITTED_AT + timedelta(days=days),
        "comment": None,
        **fields,
    }
    return parse_event(make_event(event_type, payload, producer="intake").to_message())


def answered(request_id, days, number=1):
    return step(
        REQUEST_ANSWERED,
        request_id,
        days,
        message_id=uuid.uuid4(),
        answer_number=number,
        first_answer=number == 1,
    )


def followup(request_id, days, used):
    return step(
        REQUEST_FOLLOWUP_ADDED,
        request_id,
        days,
        message_id=uuid.uuid4(),
        interactions_used=used,
        interactions_left=2 - used,
    )


def closed(request_id, days, booking_enabled):
    return step(REQUEST_CLOSED, request_id, days, outcome="accolta", booking_enabled=booking_enabled)


HANDLERS = {
    REQUEST_SUBMITTED: projections.record_submitted,
    REQUEST_ANSWERED: projections.record_answered,
    REQUEST_FOLLOWUP_ADDED: projections.record_followup_added,
    REQUEST_CLOSED: projections.record_closed,
}


def apply(sessions, event):
    return DatabaseAccess(sessions, f"agenda.on_{event.type}").apply_once(event, HANDLERS[event.type])


def eligibility(sessions, request_id, days):
    return agenda(sessions, SUBMITTED_AT + timedelta(days=days)).eligibility(str(request_id))


@pytest.mark.parametrize("order", ["as_published", "reversed"])
def test_first_answer_and_both_interactions_allow_booking_in_any_order(sessions, order):
    request_id = uuid.uuid4()
    events = [
        submitted(request_id),
        answered(request_id, 3),
        followup(request_id, 4, 1),
        answered(request_id, 5, 2),
        followup(request_id, 6, 2),
    ]
    if order == "reversed":
        events.reverse()

    for event in events:
        assert apply(sessions, event) is True

    result = eligibility(sessions, request_id, 7)
    assert (result["allowed"], result["reason_code"]) == (True, "interactions_exhausted")
    assert result["first_answer_at"] == (SUBMITTED_AT + timedelta(days=3)).isoformat()
    assert result["interactions"] == 2


def test_one_interaction_left_does_not_allow(sessions):
    request_id = uuid.uuid4()
    for event in (submitted(request_id), answered(request_id, 3), followup(request_id, 4, 1)):
        apply(sessions, event)

    result = eligibility(sessions, request_id, 40)

    assert (result["allowed"], result["reason_code"]) == (False, "interactions_available")


@pytest.mark.parametrize(
    "booking_enabled, allowed, code",
    [(True, True, "enabled_by_office"), (False, False, "closed_without_booking")],
)
def test_closing_decides_booking(sessions, booking_enabled, allowed, code):
    request_id = uuid.uuid4()
    for event in (submitted(request_id), answered(request_id, 2), closed(request_id, 2, booking_enabled)):
        apply(sessions, event)

    result = eligibility(sessions, request_id, 3)

    assert (result["allowed"], result["reason_code"], result["booking_enabled"]) == (
        allowed,
        code,
        booking_enabled,
    )
    assert result["closed_at"] == (SUBMITTED_AT + timedelta(days=2)).isoformat()
    assert result["reason"]


def test_events_before_the_submission_wait_for_it(sessions):
    request_id = uuid.uuid4()
    apply(sessions, closed(request_id, 2, booking_enabled=True))

    with pytest.raises(NotFound):
        eligibility(sessions, request_id, 3)

    apply(sessions, submitted(request_id))
    result = eligibility(sessions, request_id, 3)
    assert (result["allowed"], result["requester"], result["booking_enabled"]) == (True, "op-7", True)


def test_redelivered_lifecycle_events_change_nothing(sessions):
    request_id = uuid.uuid4()
    events = [
        submitted(request_id),
        answered(request_id, 3),
        followup(request_id, 4, 1),
        closed(request_id, 5, False),
    ]
    for event in events:
        apply(sessions, event)
    before = eligibility(sessions, request_id, 6)

    assert [apply(sessions, event) for event in events] == [False] * len(events)

    assert eligibility(sessions, request_id, 6) == before


def test_an_older_followup_arriving_late_does_not_lower_the_count(sessions):
    request_id = uuid.uuid4()
    newer, older = followup(request_id, 3, 2), followup(request_id, 2, 1)
    for event in (submitted(request_id), answered(request_id, 1), newer, older):
        apply(sessions, event)

    assert eligibility(sessions, request_id, 4)["interactions"] == 2


def test_service_entrypoints_apply_lifecycle_events(sessions):
    request_id = uuid.uuid4()
    service = agenda(sessions, SUBMITTED_AT + timedelta(days=3))

    service.on_request_submitted(submitted(request_id))
    service.on_request_answered(answered(request_id, 1))
    service.on_request_followup_added(followup(request_id, 2, 2))
    service.on_request_closed(closed(request_id, 2, booking_enabled=False))

    assert service.eligibility(str(request_id))["reason_code"] == "interactions_exhausted"


def reopening_followup(request_id, days, used):
    return step(
        REQUEST_FOLLOWUP_ADDED,
        request_id,
        days,
        message_id=uuid.uuid4(),
        interactions_used=used,
        interactions_left=2 - used,
        reopened=True,
    )


@pytest.mark.parametrize("order", ["as_published", "reversed"])
def test_a_followup_reopens_a_request_closed_with_its_first_answer(sessions, order):
    request_id = uuid.uuid4()
    events = [
        submitted(request_id),
        answered(request_id, 2),
        closed(request_id, 2, booking_enabled=False),
        reopening_followup(request_id, 3, 1),
    ]
    for event in events if order == "as_published" else reversed(events):
        apply(sessions, event)

    result = eligibility(sessions, request_id, 4)
    assert (result["allowed"], result["reason_code"], result["closed_at"]) == (
        False,
        "interactions_available",
        None,
    )

    apply(sessions, followup(request_id, 5, 2))
    assert eligibility(sessions, request_id, 6)["reason_code"] == "interactions_exhausted"
    apply(sessions, closed(request_id, 7, booking_enabled=False))  # closed again, later: still exhausted
    assert eligibility(sessions, request_id, 8)["allowed"] is True


def test_routing_decisions_project_the_latest_assignment(sessions):
    request_id = uuid.uuid4()

    def routed(sede, minutes):
        payload = {
            "request_id": request_id,
            "assignment": {"kind": "sede", "code": sede, "name": "Sede", "reason": "r", "queue": "q"},
            "rule": "cap_to_sede",
            "reference_version": "v1",
            "decided_at": SUBMITTED_AT + timedelta(minutes=minutes),
        }
        return parse_event(make_event("request_routed", payload, producer="routing").to_message())

    db = DatabaseAccess(sessions, "agenda.on_request_routed")
    db.apply_once(routed("0703", 10), projections.record_routed)
    db.apply_once(routed("0704", 5), projections.record_routed)  # older, arriving late
    with sessions() as session:
        assert session.get(BookingEligibility, request_id).assigned_sede == "0703"
