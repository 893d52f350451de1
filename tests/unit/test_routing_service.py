"""Routing's entrypoints without storage: explain() and the sedi in force, with who may call them."""

from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from services.routing.decision.table import RoutingTable
from services.routing.reference.istat import italian_provinces
from services.routing.reference.sample import generate_sample
from services.routing.service import RoutingService
from shared.clock import FixedClock
from shared.errors import Forbidden, InvalidInput

OFFICIAL = {"sub": "op-1", "role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"]}


@pytest.fixture(scope="module")
def table():
    return RoutingTable("v-test", generate_sample(italian_provinces()))


@pytest.fixture
def service(table):
    service = worker_factory(RoutingService, clock=FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    service.routing_tables.current.return_value = table
    return service


def test_explain_decides_without_touching_the_database(service):
    query = {
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "sollecito_domanda",
        "cap": "00184",
    }

    explained = service.explain(OFFICIAL, query)

    assert explained["dry_run"] is True
    assert explained["assignment"]["name"] == "Direzione provinciale di Roma"
    assert (
        explained["assignment"]["queue"] == "pensioni"
    )  # the subject's area, from routing's own subject list
    assert explained["rule"] == "operatore_generico_cap"
    assert [step["rule"] for step in explained["rule_chain"]] == [
        "referente_regionale_cric",
        "linea_inps_cric",
        "polo",
        "operatore_generico_cap",
    ]
    assert explained["effective_day"] == "2026-11-23"
    assert not service.db.begin.called


def test_explain_on_a_given_day_and_for_a_referente(service):
    query = {
        "channel": "combipat",
        "profile": "referente_regionale",
        "subject": "chiarimento_normativo",
        "ente": "002",
        "ufficio": "0015",
        "on": "2027-03-01",
    }

    explained = service.explain({"sub": "d", "role": "direttore", "scope": "national"}, query)

    assert explained["assignment"]["name"] == "CRIC Lombardia – sezione Pensioni"
    assert explained["effective_day"] == "2027-03-01"


@pytest.mark.parametrize(
    "caller",
    [
        {"sub": "p", "role": "patronato_operatore"},
        {"sub": "a", "role": "azienda"},
        {"sub": "s", "role": "sede_operatore", "sede": "0704", "groups": []},  # not enabled to the service
        {"sub": "s", "role": "sede_operatore", "groups": ["APP_FEA_COMBID"]},  # enabled, but no sede
        {"sub": "d", "role": "direttore"},  # a director whose token names no scope
        {"sub": "d", "role": "direttore", "sede": ""},  # an empty scope is no scope
    ],
)
def test_only_officials_directors_and_admins_may_explain(service, caller):
    with pytest.raises(Forbidden):
        service.explain(caller, {"channel": "combipat", "profile": "operatore_generico", "subject": "x"})


def test_explain_names_the_fields_at_fault(service):
    with pytest.raises(InvalidInput) as refused:
        service.explain(OFFICIAL, {"channel": "combipat", "cap": "0018", "colore": "blu"})

    assert {error["field"] for error in refused.value.errors} == {"profile", "subject", "cap", "colore"}


def test_sedi_in_force_with_their_coverage(service):
    listed = service.list_sedi(OFFICIAL, {"region": "Lazio"})

    assert listed["reference_version"] == "v-test"
    assert [sede["code"] for sede in listed["sedi"]] == ["0700", "0701", "0702", "0703", "0704", "0705"]
    rome = next(sede for sede in listed["sedi"] if sede["province"] == "RM")
    assert rome["province_wide"] is True and rome["comuni"] == []
    assert [cric["name"] for cric in listed["cric"]] == ["CRIC Lazio"]
