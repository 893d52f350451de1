"""Routing's reference load and decisions on a real (throwaway) PostgreSQL database.

Tests compare counts before and after, so they share the module's database without cleanup.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timezone
from functools import partial

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from services.routing import handlers, reference
from services.routing import sedi as sedi_data
from services.routing.models import ReferenceVersion, RoutingDecision, SedeRow
from shared.clock import FixedClock
from shared.db import DatabaseAccess, OutboxMessage, make_engine
from shared.errors import NotFound
from shared.events import REQUEST_SUBMITTED, make_event, parse_event
from shared.migrations import database_url, drop_database, upgrade

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def url():
    url = make_url(database_url("routing")).set(database=f"combid_t_routing_{secrets.token_hex(4)}")
    url = url.render_as_string(hide_password=False)
    upgrade("routing", url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def sessions(url):
    engine = make_engine(url, pool_size=2)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


def reference_state(sessions) -> tuple[int, int, str | None]:
    """(versions, sedi rows, active version id)."""
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(ReferenceVersion)),
            session.scalar(select(func.count()).select_from(SedeRow)),
            handlers.active_version_id(session),
        )


def test_loading_the_sample_applies_a_new_active_version(url, sessions):
    versions_before, rows_before, previous = reference_state(sessions)

    dataset, outcome = reference.load_reference(sedi_data.SAMPLE_DIR, url)

    assert outcome.applied and outcome.problems == []
    assert outcome.version_id.startswith("sample-")
    assert outcome.previous_version_id == previous
    assert reference_state(sessions) == (versions_before + 1, rows_before + 127, outcome.version_id)
    with sessions() as session:
        version = session.get(ReferenceVersion, outcome.version_id)
        assert version.checksum == dataset.checksum
        assert "NON sedi INPS reali" in version.source
        listed = handlers.list_sedi(session)
    assert listed["reference_version"] == outcome.version_id
    assert len(listed["sedi"]) == 127


def test_a_failing_load_changes_nothing(url, sessions, tmp_path):
    reference.load_reference(sedi_data.SAMPLE_DIR, url)
    before = reference_state(sessions)
    sample = sedi_data.read_reference(sedi_data.SAMPLE_DIR)
    without_rome = [sede for sede in sample.sedi if sede.province != "RM"]
    sedi_data.write_sedi_csv(tmp_path / sedi_data.SEDI_FILE, without_rome, "import incompleto")

    _, outcome = reference.load_reference(tmp_path, url)

    assert not outcome.applied
    assert [problem.code for problem in outcome.problems] == ["province_without_sede"]
    assert reference_state(sessions) == before


def request_submitted(request_id: uuid.UUID, cap: str = "00184"):
    """A ``request_submitted`` event as the consumer hands it to the handler (parsed)."""
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "sollecito_domanda",
        "catalog_version": "combipat-2021",
        "area": "prestazioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA80A01H501U", "cap": cap},
        "patronato": {"ente": "001", "ufficio": "0001"},
        "contacts": {"email": None, "sms": None},
        "requester": "patronato-op-1",
        "submitted_at": NOW,
    }
    return parse_event(make_event(REQUEST_SUBMITTED, payload, producer="intake", correlation_id="corr-1").to_message())


def routed_events_for(session, request_id) -> list[dict]:
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "request_routed")).all()
    return [row.body for row in rows if row.body["payload"]["request_id"] == str(request_id)]


def test_a_request_is_decided_once_with_the_loaded_table(url, sessions):
    reference.load_reference(sedi_data.SAMPLE_DIR, url)
    with sessions() as session:
        table = handlers.load_routing_table(session, handlers.active_version_id(session))
    route = partial(handlers.route_request, table, FixedClock(NOW))
    db = DatabaseAccess(sessions, "routing.on_request_submitted")
    request_id = uuid.uuid4()
    event = request_submitted(request_id)

    assert db.apply_once(event, route) is True
    assert db.apply_once(event, route) is False  # redelivery: the inbox
    assert db.apply_once(request_submitted(request_id, cap="10060"), route) is True  # same request, new event id

    with sessions() as session:
        decision = session.get(RoutingDecision, request_id)
        events = routed_events_for(session, request_id)
        recorded = handlers.recorded_decision(session, str(request_id))
    assert decision.rule == "operatore_generico_cap"
    assert decision.assignment["name"] == "Direzione provinciale di Roma"
    assert decision.reference_version == table.version
    assert len(events) == 1
    assert events[0]["correlation_id"] == "corr-1"
    assert events[0]["payload"]["assignment"] == decision.assignment
    assert recorded["decided_at"] == NOW.isoformat()


def test_an_unknown_decision_is_not_found(sessions):
    with sessions() as session, pytest.raises(NotFound):
        handlers.recorded_decision(session, str(uuid.uuid4()))
    with sessions() as session, pytest.raises(NotFound):
        handlers.recorded_decision(session, "not-a-uuid")
