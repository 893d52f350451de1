"""Reporting's projection on the real PostgreSQL test database: events in any order."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from services.reporting import projections, views
from services.reporting.service import ReportingService
from shared.db import DatabaseAccess
from shared.errors import NotFound
from shared.events import REQUEST_ROUTED, REQUEST_SUBMITTED, make_event, parse_event

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("reporting")


def submitted(request_id):
    payload = {
        "request_id": request_id,
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": "cassetto",
        "channel": "cassetto",
        "profile": "intermediario",
        "subject": "regolarita_contributiva",
        "catalog_version": "cassetto-2018",
        "area": "soggetto_contribuente",
        "sla_days": 5,
        "matricola": "7000123456",
        "contacts": {"email": None, "sms": None},
        "requester": "cdl-1",
        "submitted_at": NOW,
    }
    return parse_event(make_event(REQUEST_SUBMITTED, payload, producer="intake").to_message())


def routed(
    request_id, code="7000", name="Direzione provinciale di Roma", decided_at=NOW + timedelta(seconds=5)
):
    payload = {
        "request_id": request_id,
        "assignment": {
            "kind": "sede",
            "code": code,
            "name": name,
            "reason": "matricola",
            "queue": "contributi",
        },
        "rule": "matricola_to_sede",
        "reference_version": "sample-1",
        "decided_at": decided_at,
    }
    return parse_event(make_event(REQUEST_ROUTED, payload, producer="routing").to_message())


def apply(sessions, handler, event):
    return DatabaseAccess(sessions, f"reporting.{handler.__name__}").apply_once(event, handler)


def fact(sessions, request_id):
    with sessions() as session:
        return views.request_fact(session, str(request_id))


@pytest.mark.parametrize("routed_first", [False, True], ids=["submitted_first", "routed_first"])
def test_submitted_and_routed_merge_in_either_order(sessions, routed_first):
    request_id = uuid.uuid4()
    events = [
        (projections.record_submitted, submitted(request_id)),
        (projections.record_routed, routed(request_id)),
    ]
    if routed_first:
        events.reverse()

    for handler, event in events:
        apply(sessions, handler, event)

    row = fact(sessions, request_id)
    assert row["state"] == "open"
    assert (row["subject"], row["origin"], row["sla_days"]) == ("regolarita_contributiva", "cassetto", 5)
    assert (row["sede_code"], row["sede_name"], row["assignment_kind"]) == (
        "7000",
        "Direzione provinciale di Roma",
        "sede",
    )
    assert row["submitted_at"] == NOW.isoformat()
    assert row["routed_at"] == (NOW + timedelta(seconds=5)).isoformat()
    assert row["closed_at"] is None


def test_routed_alone_leaves_a_partial_row_not_counted(sessions):
    request_id = uuid.uuid4()
    with sessions() as session:
        before = views.count_by_state(session)

    apply(sessions, projections.record_routed, routed(request_id))

    row = fact(sessions, request_id)
    assert (row["sede_code"], row["protocol"], row["state"]) == ("7000", None, None)
    with sessions() as session:
        assert views.count_by_state(session) == before


def test_an_older_routing_decision_does_not_overwrite_a_newer_one(sessions):
    request_id = uuid.uuid4()
    apply(
        sessions,
        projections.record_routed,
        routed(request_id, code="8000", name="Milano", decided_at=NOW + timedelta(hours=1)),
    )

    apply(sessions, projections.record_routed, routed(request_id, code="7000", name="Roma", decided_at=NOW))

    assert fact(sessions, request_id)["sede_code"] == "8000"


def test_unknown_or_malformed_request_is_not_found(sessions):
    with pytest.raises(NotFound):
        fact(sessions, uuid.uuid4())
    with pytest.raises(NotFound):
        fact(sessions, "not-a-uuid")


def test_service_entrypoints_and_rpcs(sessions):
    request_id = uuid.uuid4()
    service = worker_factory(ReportingService, db=DatabaseAccess(sessions, "reporting.on_request_submitted"))
    before = service.count_by_state()

    service.on_request_submitted(submitted(request_id))

    assert service.request_fact(str(request_id))["state"] == "open"
    after = service.count_by_state()
    assert after["open"] == before["open"] + 1
    assert set(after) >= {"open", "in_progress", "closed"}
