"""Routing's reference loads and decisions on a real (throwaway) PostgreSQL database.

Tests compare counts before and after, so they share the module's database without cleanup.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from services.routing import use_cases, views
from services.routing.decision import store as decision_store
from services.routing.decision.values import RequestFacts
from services.routing.dependencies import load_routing_table
from services.routing.models import ReferenceVersion, RoutingDecision
from services.routing.reference import store as reference_store
from services.routing.reference.command import load_reference
from services.routing.reference.dataset import FILE_BY_ATTRIBUTE, SAMPLE_DIR, read_reference, write_table
from shared.access import Caller
from shared.clock import FixedClock
from shared.consumer import RetryLater
from shared.db import DatabaseAccess, OutboxMessage, make_engine
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import REQUEST_SUBJECT_CHANGED, REQUEST_SUBMITTED, make_event, parse_event
from shared.migrations import database_url, drop_database, upgrade

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ADMIN = Caller.from_claims({"sub": "admin-1", "role": "admin"})


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


@pytest.fixture(scope="module")
def table(url, sessions):
    load_reference(SAMPLE_DIR, url)
    with sessions() as session:
        return load_routing_table(session, reference_store.active_version_id(session))


def reference_state(sessions) -> dict:
    """Versions, rows of every reference table, and the active version."""
    with sessions() as session:
        state = {"versions": session.scalar(select(func.count()).select_from(ReferenceVersion))}
        for name, (model, _) in reference_store.TABLES.items():
            state[name] = session.scalar(select(func.count()).select_from(model))
        state["active"] = reference_store.active_version_id(session)
    return state


# ---- loads ----------------------------------------------------------------------------------------


def test_loading_the_sample_applies_a_new_active_version_with_every_table(url, sessions):
    before = reference_state(sessions)

    dataset, outcome = load_reference(SAMPLE_DIR, url)

    assert outcome.applied and outcome.problems == []
    assert outcome.version_id.startswith("sample-")
    assert outcome.previous_version_id == before["active"]
    after = reference_state(sessions)
    counts = dataset.data.counts()
    assert after == {
        "versions": before["versions"] + 1,
        **{name: before[name] + counts[name] for name in reference_store.TABLES},
        "active": outcome.version_id,
    }
    assert counts["sedi"] == 127 and counts["cric"] == 20 and counts["companies"] > 0
    with sessions() as session:
        version = session.get(ReferenceVersion, outcome.version_id)
        assert version.checksum == dataset.checksum
        assert "NON dati INPS reali" in version.source
        assert version.counts == counts
        stored = reference_store.version_data(session, outcome.version_id)
    for name in reference_store.TABLES:
        assert set(getattr(stored, name)) == set(getattr(dataset.data, name)), name


def test_a_load_that_fails_a_check_changes_nothing_and_reports_what_failed(url, sessions, tmp_path):
    load_reference(SAMPLE_DIR, url)
    before = reference_state(sessions)
    shutil.copytree(SAMPLE_DIR, tmp_path, dirs_exist_ok=True)
    sample = read_reference(SAMPLE_DIR).data
    # the new export forgot the Roma sede and the Lazio CRIC, and a subject has no section
    for name, rows in {
        "sedi": [s for s in sample.sedi if s.province != "RM"],
        "cric": [c for c in sample.cric if c.region != "Lazio"],
        "subjects": [
            dataclasses.replace(s, cric_section="") if s.code == "f24" else s for s in sample.subjects
        ],
        "poli": [p for p in sample.poli if p.subject != "f24"],
        "companies": [c for c in sample.companies if not c.matricola.startswith("58")],
    }.items():
        spec = FILE_BY_ATTRIBUTE[name]
        write_table(tmp_path / spec.name, spec, rows, "export incompleto")

    _, outcome = load_reference(tmp_path, url)

    assert not outcome.applied
    assert sorted(problem.code for problem in outcome.problems) == [
        "cap_without_sede",
        "region_without_cric",
        "subject_without_section",
    ]
    assert reference_state(sessions) == before


# ---- decisions --------------------------------------------------------------------------------------


def submitted(request_id: uuid.UUID, cap: str = "00184", subject="sollecito_domanda", area="pensioni"):
    """A ``request_submitted`` event as the consumer hands it to the handler (parsed)."""
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": subject,
        "catalog_version": "combipat-2021",
        "area": area,
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA80A01H501U", "cap": cap},
        "patronato": {"ente": "001", "ufficio": "0058"},
        "contacts": {"email": None, "sms": None},
        "requester": "patronato-op-1",
        "submitted_at": NOW,
    }
    return parse_event(
        make_event(REQUEST_SUBMITTED, payload, producer="intake", correlation_id="corr-1").to_message()
    )


def subject_changed(request_id, new_subject, area, old_subject="sollecito_domanda"):
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "actor": "op-1",
        "actor_role": "sede_operatore",
        "at": NOW,
        "comment": "oggetto corretto",
        "old_subject": old_subject,
        "new_subject": new_subject,
        "catalog_version": "combipat-2021",
        "area": area,
        "sla_days": 15,
    }
    return parse_event(
        make_event(REQUEST_SUBJECT_CHANGED, payload, producer="intake", correlation_id="corr-2").to_message()
    )


def routed_events_for(session, request_id) -> list[dict]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.event_type == "request_routed")
        .order_by(OutboxMessage.created_at)
    ).all()
    return [row.body for row in rows if row.body["payload"]["request_id"] == str(request_id)]


def route(sessions, table, event, clock=None):
    db = DatabaseAccess(sessions, "routing.on_request_submitted")
    return db.apply_once(event, partial(use_cases.route_request, table, clock or FixedClock(NOW)))


def reroute(sessions, table, event, at):
    db = DatabaseAccess(sessions, "routing.on_request_subject_changed")
    return db.apply_once(event, partial(use_cases.reroute_on_subject_change, table, FixedClock(at)))


def test_a_request_is_decided_once_with_the_loaded_table(sessions, table):
    request_id = uuid.uuid4()
    event = submitted(request_id)

    assert route(sessions, table, event) is True
    assert route(sessions, table, event) is False  # redelivery: the inbox
    assert route(sessions, table, submitted(request_id, cap="10060")) is True  # same request, new event id

    with sessions() as session:
        decisions = session.scalars(
            select(RoutingDecision).where(RoutingDecision.request_id == request_id)
        ).all()
        events = routed_events_for(session, request_id)
        recorded = views.recorded_decision(session, str(request_id))
    assert len(decisions) == 1 and len(events) == 1
    decision = decisions[0]
    assert (decision.rule, decision.sequence, decision.trigger) == (
        "operatore_generico_cap",
        1,
        "request_submitted",
    )
    assert decision.assignment["name"] == "Direzione provinciale di Roma"
    assert decision.reference_version == table.version
    assert events[0]["correlation_id"] == "corr-1"
    assert events[0]["payload"]["assignment"] == decision.assignment
    assert (events[0]["payload"]["manual"], events[0]["payload"]["previous"]) == (False, None)
    assert recorded["decided_at"] == NOW.isoformat()
    assert [step["rule"] for step in recorded["rule_chain"]] == [
        "referente_regionale_cric",
        "linea_inps_cric",
        "polo",
        "operatore_generico_cap",
    ]


def test_a_change_of_subject_reroutes_and_emits_only_when_the_place_changes(sessions, table):
    request_id = uuid.uuid4()
    route(sessions, table, submitted(request_id, cap="24121"))  # Bergamo

    assert reroute(
        sessions,
        table,
        subject_changed(request_id, "prestazione_in_corso_o_respinta", "sostegno_reddito"),
        NOW + timedelta(hours=1),
    )
    assert reroute(
        sessions,
        table,
        subject_changed(
            request_id,
            "prestazione_in_corso_o_respinta",
            "sostegno_reddito",
            old_subject="prestazione_in_corso_o_respinta",
        ),
        NOW + timedelta(hours=2),
    )

    with sessions() as session:
        history = decision_store.decision_history(session, request_id)
        events = routed_events_for(session, request_id)
    assert [(d["sequence"], d["trigger"], d["rule"], d["emitted"]) for d in history] == [
        (1, "request_submitted", "operatore_generico_cap", True),
        (2, "request_subject_changed", "polo", True),
        (3, "request_subject_changed", "polo", False),  # same polo, same queue: recorded, not news
    ]
    assert history[1]["previous"]["name"] == "Direzione provinciale di Bergamo"
    assert [e["payload"]["assignment"]["kind"] for e in events] == ["sede", "polo"]
    assert events[1]["payload"]["previous"] == history[0]["assignment"]
    assert events[1]["payload"]["decided_at"] > events[0]["payload"]["decided_at"]


def test_a_change_of_subject_before_any_decision_is_retried_not_lost(sessions, table):
    with pytest.raises(RetryLater):
        reroute(sessions, table, subject_changed(uuid.uuid4(), "requisiti_accesso", "informazioni"), NOW)


def test_an_official_of_the_current_sede_reassigns_with_a_reason(sessions, table):
    request_id = uuid.uuid4()
    route(sessions, table, submitted(request_id, cap="24121"))
    bergamo = Caller.from_claims(
        {"sub": "op-bg", "role": "sede_operatore", "sede": "0901", "groups": ["APP_FEA_COMBID"]}
    )
    clock = FixedClock(NOW + timedelta(days=1))

    with sessions.begin() as session:
        result = use_cases.reassign(
            table,
            clock,
            session,
            bergamo,
            str(request_id),
            {"sede": "0908", "reason": "Residenza effettiva a Milano"},
        )

    assert (result["rule"], result["trigger"], result["sequence"]) == ("manual_reassignment", "manual", 2)
    assert result["assignment"]["name"] == "Direzione provinciale di Milano"
    assert (
        result["inputs"]["actor"] == "op-bg" and result["inputs"]["reason"] == "Residenza effettiva a Milano"
    )
    with sessions() as session:
        event = routed_events_for(session, request_id)[-1]["payload"]
    assert event["manual"] is True and event["rule"] == "manual_reassignment"
    assert event["previous"]["name"] == "Direzione provinciale di Bergamo"

    # now it is Milano's: Bergamo may no longer move it, Milano may not "move" it where it is
    milano = dataclasses.replace(bergamo, sub="op-mi", sede="0908")
    refusals = [
        (bergamo, {"sede": "0704", "reason": "ancora io"}, Forbidden),
        (Caller(sub="p", role="patronato_operatore"), {"sede": "0704", "reason": "prova"}, Forbidden),
        (milano, {"sede": "0908", "reason": "resta qui"}, Conflict),
        (milano, {"sede": "9999", "reason": "sede ignota"}, InvalidInput),
        (milano, {"sede": "07", "motivo": "x"}, InvalidInput),
    ]
    for caller, body, error in refusals:
        with sessions.begin() as session, pytest.raises(error):
            use_cases.reassign(table, clock, session, caller, str(request_id), body)
    with sessions.begin() as session, pytest.raises(NotFound):
        use_cases.reassign(
            table, clock, session, ADMIN, str(uuid.uuid4()), {"sede": "0704", "reason": "nessuna"}
        )
    with sessions() as session:
        assert len(decision_store.decision_history(session, request_id)) == 2


def test_a_decision_is_explained_after_the_fact_on_the_version_it_used(url, sessions, table, tmp_path):
    request_id = uuid.uuid4()
    route(sessions, table, submitted(request_id, cap="00184"))
    # a later version gives Roma a direzione di coordinamento metropolitano with another code
    shutil.copytree(SAMPLE_DIR, tmp_path, dirs_exist_ok=True)
    sample = read_reference(SAMPLE_DIR).data
    rome = next(s for s in sample.sedi if s.province == "RM")
    metro = dataclasses.replace(
        rome,
        code="0780",
        name="Direzione di coordinamento metropolitano di Roma",
        type="direzione_coordinamento_metropolitano",
    )
    write_table(
        tmp_path / "sedi.csv",
        FILE_BY_ATTRIBUTE["sedi"],
        [s for s in sample.sedi if s != rome] + [metro],
        "import 2027",
    )
    write_table(
        tmp_path / "poli.csv",
        FILE_BY_ATTRIBUTE["poli"],
        [dataclasses.replace(p, sede_code="0780") if p.sede_code == rome.code else p for p in sample.poli],
        "import 2027",
    )
    write_table(
        tmp_path / "companies.csv",
        FILE_BY_ATTRIBUTE["companies"],
        [
            dataclasses.replace(c, sede_code="0780") if c.sede_code == rome.code else c
            for c in sample.companies
        ],
        "import 2027",
    )
    _, outcome = load_reference(tmp_path, url)
    assert outcome.applied, outcome.problems
    with sessions() as session:
        newer = load_routing_table(session, outcome.version_id)
    tables = {table.version: table, newer.version: newer}

    with sessions() as session:
        explained = views.explain_recorded(
            session, ADMIN, str(request_id), lambda _s, version: tables.get(version)
        )

    current = explained["current"]
    assert current["reference_version"] == table.version != outcome.version_id
    assert current["assignment"]["name"] == "Direzione provinciale di Roma"
    assert current["request"]["cap"] == "00184"
    assert current["rule_chain"][-1] == {
        "rule": "operatore_generico_cap",
        "outcome": "matched",
        "code": "sede",
        "detail": "CAP 00184 → comune di Roma (RM) → Direzione provinciale di Roma",
    }
    assert current["replay"] == {
        "reference_version": table.version,
        "available": True,
        "rule": "operatore_generico_cap",
        "assignment": current["assignment"],
        "same_decision": True,
    }
    # the same request today would go elsewhere: the record, not today's data, explains it
    assert newer.decide_facts(RequestFacts.from_dict(current["request"])).assignment.code == "0780"


def test_only_who_held_the_request_or_supervisors_see_its_decisions(sessions, table):
    request_id = uuid.uuid4()
    route(sessions, table, submitted(request_id, cap="00184"))
    rome = Caller.from_claims(
        {"sub": "op-rm", "role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"]}
    )

    def explain(caller):
        with sessions() as session:
            return views.explain_recorded(session, caller, str(request_id), lambda _s, _v: table)

    assert explain(rome)["current"]["assignment"]["code"] == "0704"
    assert explain(Caller(sub="d", role="direttore", scope="national"))["history"]
    assert explain(Caller(sub="d", role="direttore", regione="Lazio"))["history"]
    assert explain(Caller(sub="d", role="direttore", sede="0704"))["history"]
    # who never held it, or has no scope, learns nothing about it
    for outsider in (
        dataclasses.replace(rome, sede="0908"),
        Caller(sub="d", role="direttore", sede="0908"),
        Caller(sub="d", role="direttore", regione="Piemonte"),
    ):
        with pytest.raises(NotFound):
            explain(outsider)
    with pytest.raises(Forbidden):
        explain(Caller(sub="d", role="direttore"))


def test_an_unknown_decision_is_not_found(sessions):
    with sessions() as session, pytest.raises(NotFound):
        views.recorded_decision(session, str(uuid.uuid4()))
    with sessions() as session, pytest.raises(NotFound):
        views.recorded_decision(session, "not-a-uuid")
