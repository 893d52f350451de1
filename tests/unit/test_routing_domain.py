"""Routing rules on plain data: the sample sedi and the real ISTAT CAP data, no I/O."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from services.routing import sedi as reference
from services.routing.domain import TRIAGE_CODE, RoutingTable
from shared.events import make_event

SAMPLE_VERSION = "sample-test"


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    sedi = reference.generate_sample_sedi(reference.italian_provinces())
    return RoutingTable(SAMPLE_VERSION, sedi)


def operatore_generico(cap: str, area: str = "prestazioni") -> dict:
    return {
        "channel": "combipat",
        "origin": "patronato",
        "profile": "operatore_generico",
        "area": area,
        "citizen": {"codice_fiscale": "RSSMRA80A01H501U", "cap": cap},
        "patronato": {"ente": "001", "ufficio": "0001"},
    }


def test_cap_of_rome_goes_to_the_direzione_provinciale_of_rome(table):
    decision = table.decide(operatore_generico("00184", area="pensioni"))

    assert decision.rule == "operatore_generico_cap"
    assert decision.assignment.kind == "sede"
    assert decision.assignment.name == "Direzione provinciale di Roma"
    assert table.sedi[decision.assignment.code].province == "RM"
    assert decision.assignment.reason == "CAP 00184 → comune di Roma (RM) → Direzione provinciale di Roma"
    assert decision.assignment.queue == "pensioni"
    assert decision.inputs["comune"] == "Roma"
    assert decision.reference_version == SAMPLE_VERSION


def test_shared_cap_picks_the_first_comune_by_name_and_says_so(table):
    first = table.decide(operatore_generico("10060"))
    again = table.decide(operatore_generico("10060"))

    assert first == again
    assert first.assignment.kind == "sede"
    assert first.inputs["comune"] == "Airasca"
    assert first.inputs["comuni_per_cap"] > 1
    assert f"condiviso da {first.inputs['comuni_per_cap']} comuni" in first.assignment.reason
    assert first.assignment.name == "Direzione provinciale di Torino"


def test_unknown_cap_goes_to_triage_with_the_reason(table):
    decision = table.decide(operatore_generico("99999"))

    assert decision.rule == "triage_unknown_cap"
    assert (decision.assignment.kind, decision.assignment.code) == ("triage", TRIAGE_CODE)
    assert decision.assignment.name == "Coda di smistamento"
    assert "CAP 99999" in decision.assignment.reason
    assert decision.assignment.queue == "prestazioni"


def test_province_without_sede_goes_to_triage(table):
    without_rome = RoutingTable("partial", [s for s in table.sedi.values() if s.province != "RM"])

    decision = without_rome.decide(operatore_generico("00184"))

    assert decision.rule == "triage_no_sede"
    assert decision.assignment.kind == "triage"
    assert "provincia RM" in decision.assignment.reason


def test_without_reference_data_everything_goes_to_triage():
    decision = RoutingTable.empty().decide(operatore_generico("00184"))

    assert decision.rule == "triage_no_reference"
    assert decision.assignment.kind == "triage"
    assert "dati di riferimento" in decision.assignment.reason
    assert decision.reference_version == "none"


def test_cassetto_goes_to_triage_until_the_company_registry_exists(table):
    payload = {
        "channel": "cassetto",
        "origin": "cassetto",
        "profile": "azienda",
        "area": "soggetto_contribuente",
        "matricola": "7012345678",
    }

    decision = table.decide(payload)

    assert decision.rule == "triage_cassetto_no_registry"
    assert decision.assignment.kind == "triage"
    assert "7012345678" in decision.assignment.reason
    assert decision.assignment.queue == "soggetto_contribuente"


def test_referente_regionale_goes_to_triage_until_patronato_offices_are_loaded(table):
    payload = {
        "channel": "combipat",
        "profile": "referente_regionale",
        "area": "normativa",
        "patronato": {"ente": "001", "ufficio": "0001"},
    }

    decision = table.decide(payload)

    assert decision.rule == "triage_referente_no_offices"
    assert "dati degli uffici di patronato non ancora caricati" in decision.assignment.reason


def test_a_request_no_rule_knows_goes_to_triage(table):
    decision = table.decide({"channel": "fax", "profile": "contact_center", "area": "informazioni"})

    assert decision.rule == "triage_no_rule"
    assert decision.assignment.kind == "triage"


def test_decision_becomes_a_valid_request_routed_payload(table):
    decision = table.decide(operatore_generico("00184"))
    payload = decision.routed_payload(uuid.uuid4(), datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))

    event = make_event("request_routed", payload, producer="routing")

    assert event.payload["assignment"]["name"] == "Direzione provinciale di Roma"
