"""Re-routing after a change of subject, and reassignment by an official, on plain data."""

from __future__ import annotations

from datetime import date

import pytest

from services.routing.decision.overrides import manual_decision, reroute
from services.routing.decision.table import RoutingTable
from services.routing.decision.values import MANUAL_KEPT_RULE, MANUAL_RULE, RequestFacts
from services.routing.reference.istat import italian_provinces
from services.routing.reference.sample import generate_sample
from shared.access import Caller

DAY = date(2026, 11, 23)
OFFICIAL = Caller.from_claims(
    {"sub": "op-bg", "role": "sede_operatore", "sede": "0901", "groups": ["APP_FEA_COMBID"]}
)


@pytest.fixture(scope="module")
def table():
    return RoutingTable("v1", generate_sample(italian_provinces()))


def bergamo_citizen(subject="sollecito_domanda", area="pensioni"):
    return RequestFacts(
        channel="combipat", profile="operatore_generico", subject=subject, area=area, cap="24121"
    )


def recorded(decision):
    return decision.as_dict()


def test_a_new_subject_with_a_polo_moves_the_request_to_the_polo(table):
    current = recorded(table.decide_facts(bergamo_citizen(), DAY))

    decision = reroute(
        table, bergamo_citizen("prestazione_in_corso_o_respinta", "sostegno_reddito"), current, DAY
    )

    assert current["assignment"]["name"] == "Direzione provinciale di Bergamo"
    assert decision.rule == "polo"
    assert decision.assignment.queue == "sostegno_reddito"
    assert not decision.assignment.same_place(current["assignment"])


def test_a_new_subject_without_polo_keeps_the_sede_and_changes_the_queue(table):
    current = recorded(table.decide_facts(bergamo_citizen(), DAY))

    decision = reroute(table, bergamo_citizen("requisiti_accesso", "informazioni"), current, DAY)

    assert decision.assignment.code == current["assignment"]["code"]
    assert decision.assignment.queue == "informazioni"


def test_manual_reassignment_names_the_actor_the_reason_and_what_it_replaced(table):
    current = recorded(table.decide_facts(bergamo_citizen(), DAY))

    decision = manual_decision(
        table, bergamo_citizen(), "0908", "Residenza effettiva a Milano", OFFICIAL, current, DAY
    )

    assert decision.rule == MANUAL_RULE
    assert (decision.assignment.kind, decision.assignment.name) == ("sede", "Direzione provinciale di Milano")
    assert decision.assignment.queue == "pensioni"
    assert (
        "op-bg" in decision.assignment.reason and "Residenza effettiva a Milano" in decision.assignment.reason
    )
    assert decision.inputs["previous"] == current["assignment"]
    assert decision.inputs["overrides"] == {"kind": "sede", "code": current["assignment"]["code"]}
    assert decision.reference_version == "v1"


def test_manual_reassignment_to_a_cric_uses_the_subject_section(table):
    current = recorded(table.decide_facts(bergamo_citizen(), DAY))

    decision = manual_decision(table, bergamo_citizen(), "0990", "Quesito normativo", OFFICIAL, current, DAY)

    assert (decision.assignment.kind, decision.assignment.queue) == ("cric", "pensioni")


def test_manual_reassignment_to_an_unknown_structure_is_refused(table):
    current = recorded(table.decide_facts(bergamo_citizen(), DAY))

    assert manual_decision(table, bergamo_citizen(), "9999", "x", OFFICIAL, current, DAY) is None


def test_a_manual_reassignment_stands_while_the_rules_still_give_what_it_corrected(table):
    first = recorded(table.decide_facts(bergamo_citizen(), DAY))
    manual = recorded(
        manual_decision(table, bergamo_citizen(), "0908", "Residenza a Milano", OFFICIAL, first, DAY)
    )

    decision = reroute(table, bergamo_citizen("requisiti_accesso", "informazioni"), manual, DAY)

    assert decision.rule == MANUAL_KEPT_RULE
    assert decision.assignment.code == "0908"
    assert decision.assignment.queue == "informazioni"
    assert decision.inputs["rules_gave"]["name"] == "Direzione provinciale di Bergamo"
    assert decision.rule_chain[-1].rule == MANUAL_KEPT_RULE


def test_a_manual_reassignment_gives_way_when_the_new_subject_changes_what_the_rules_say(table):
    first = recorded(table.decide_facts(bergamo_citizen(), DAY))
    manual = recorded(
        manual_decision(table, bergamo_citizen(), "0704", "Pratica gestita a Roma", OFFICIAL, first, DAY)
    )

    decision = reroute(
        table, bergamo_citizen("prestazione_in_corso_o_respinta", "sostegno_reddito"), manual, DAY
    )

    assert decision.rule == "polo"


def test_a_chain_of_manual_reassignments_remembers_what_the_rules_had_said(table):
    first = recorded(table.decide_facts(bergamo_citizen(), DAY))
    to_milano = recorded(manual_decision(table, bergamo_citizen(), "0908", "a", OFFICIAL, first, DAY))
    to_roma = manual_decision(table, bergamo_citizen(), "0704", "b", OFFICIAL, to_milano, DAY)

    assert to_roma.inputs["overrides"] == {"kind": "sede", "code": first["assignment"]["code"]}
