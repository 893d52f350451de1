"""Routing rules and their precedence on plain data: the generated sample and the real ISTAT
CAP data, no I/O. Each test names the rule it proves."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime

import pytest

from services.routing.decision.table import RoutingTable
from services.routing.decision.values import MATCHED, NOT_APPLICABLE, NOT_RESOLVED, TRIAGE_CODE, RequestFacts
from services.routing.reference.istat import italian_provinces
from services.routing.reference.model import Polo, Sede, SedeComune
from services.routing.reference.sample import generate_sample
from shared.events import make_event

SAMPLE_VERSION = "sample-test"
DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def data():
    return generate_sample(italian_provinces())


@pytest.fixture(scope="module")
def table(data) -> RoutingTable:
    return RoutingTable(SAMPLE_VERSION, data)


def sede_of(table, province):
    return table.view(DAY).provincial_sede[province]


def operatore_generico(cap, subject="sollecito_domanda", area="pensioni"):
    return {
        "channel": "combipat",
        "origin": "patronato",
        "profile": "operatore_generico",
        "subject": subject,
        "area": area,
        "citizen": {"codice_fiscale": "RSSMRA80A01H501U", "cap": cap},
        "patronato": {"ente": "001", "ufficio": "0058"},
    }


def referente(ente="001", ufficio="0058", subject="chiarimento_normativo", cap=None, cric_section=None):
    payload = {
        "channel": "combipat",
        "profile": "referente_regionale",
        "subject": subject,
        "area": "normativa",
        "patronato": {"ente": ente, "ufficio": ufficio},
        "cric_section": cric_section,
    }
    if cap:
        payload["citizen"] = {"codice_fiscale": "RSSMRA80A01H501U", "cap": cap}
    return payload


def cassetto(matricola, subject="dm_uniemens"):
    return {
        "channel": "cassetto",
        "origin": "cassetto",
        "profile": "azienda",
        "subject": subject,
        "area": "soggetto_contribuente",
        "matricola": matricola,
    }


def chain_of(decision):
    return [(check.rule, check.outcome, check.code) for check in decision.rule_chain]


# ---- 3. operatore generico → sede of the citizen's comune (CAP) ----------------------------------


def test_cap_of_rome_goes_to_the_direzione_provinciale_of_rome(table):
    decision = table.decide(operatore_generico("00184"), DAY)

    assert decision.rule == "operatore_generico_cap"
    assert (decision.assignment.kind, decision.assignment.name) == ("sede", "Direzione provinciale di Roma")
    assert decision.assignment.reason == "CAP 00184 → comune di Roma (RM) → Direzione provinciale di Roma"
    assert decision.assignment.queue == "pensioni"
    assert decision.inputs["comune"] == "Roma" and decision.inputs["coverage"] == "provincial"
    assert decision.reference_version == SAMPLE_VERSION and decision.effective_day == DAY
    assert chain_of(decision) == [
        ("referente_regionale_cric", NOT_APPLICABLE, "not_referente"),
        ("linea_inps_cric", NOT_APPLICABLE, "not_scheda"),
        ("polo", NOT_APPLICABLE, "no_polo"),
        ("operatore_generico_cap", MATCHED, "sede"),
    ]


def test_cap_shared_by_comuni_of_one_sede_says_the_choice_does_not_matter(table):
    first, again = (
        table.decide(operatore_generico("10060"), DAY),
        table.decide(operatore_generico("10060"), DAY),
    )

    assert first == again
    assert first.inputs["comune"] == "Airasca" and first.inputs["comuni_per_cap"] == 38
    assert "condiviso da 38 comuni, tutti della stessa sede" in first.assignment.reason
    assert first.assignment.name == "Direzione provinciale di Torino"


def test_cap_shared_by_comuni_of_different_sedi_takes_the_first_by_name_and_says_so(table):
    # 12071: Bagnasco (CN) and Massimino (SV)
    decision = table.decide(operatore_generico("12071"), DAY)

    assert decision == table.decide(operatore_generico("12071"), DAY)
    assert decision.inputs["comune"] == "Bagnasco"
    assert decision.assignment.name == "Direzione provinciale di Cuneo"
    assert "condiviso da 2 comuni, scelto il primo in ordine alfabetico" in decision.assignment.reason


def test_a_comune_listed_for_an_agenzia_goes_to_the_agenzia_the_rest_of_the_province_to_the_provincial_sede(
    data,
):
    rome = next(sede for sede in data.sedi if sede.province == "RM")
    agenzia = Sede(
        "0750", "Agenzia territoriale di Tivoli", "agenzia_territoriale", rome.code, "Lazio", "RM", None
    )
    tivoli = SedeComune(agenzia.code, "L182", "Tivoli")
    table = RoutingTable(
        "v-agenzia", dataclasses.replace(data, sedi=(*data.sedi, agenzia), sede_comuni=(tivoli,))
    )

    at_tivoli = table.decide(operatore_generico("00019"), DAY)
    at_rome = table.decide(operatore_generico("00184"), DAY)

    assert (at_tivoli.assignment.code, at_tivoli.inputs["coverage"]) == ("0750", "local")
    assert at_rome.assignment.code == rome.code


def test_unknown_cap_goes_to_triage_with_the_reason(table):
    decision = table.decide(operatore_generico("99999"), DAY)

    assert decision.rule == "triage"
    assert (decision.assignment.kind, decision.assignment.code) == ("triage", TRIAGE_CODE)
    assert (
        decision.assignment.reason
        == "Il CAP 99999 non corrisponde ad alcun comune: richiesta nella coda di smistamento."
    )
    assert decision.assignment.queue == "pensioni"
    assert decision.inputs["why"] == ["unknown_cap"]
    assert ("operatore_generico_cap", NOT_RESOLVED, "unknown_cap") in chain_of(decision)
    assert chain_of(decision)[-1] == ("triage", MATCHED, "triage")


def test_province_without_sede_goes_to_triage(data):
    without_rome = RoutingTable(
        "partial", dataclasses.replace(data, sedi=tuple(s for s in data.sedi if s.province != "RM"))
    )

    decision = without_rome.decide(operatore_generico("00184"), DAY)

    assert decision.rule == "triage" and decision.inputs["why"] == ["no_sede"]
    assert "provincia RM" in decision.assignment.reason
    # the CAP says which region's triage owns it
    assert (decision.assignment.region, decision.inputs["region_from"]) == ("Lazio", "CAP 00184")


def test_triage_belongs_to_the_region_of_the_request_when_its_data_say_which(table):
    unknown_cap = table.decide(operatore_generico("00000"), DAY)  # office 001/0058 is in Roma
    unknown_prefix = table.decide(cassetto("0012345678"), DAY)

    assert (unknown_cap.rule, unknown_cap.assignment.region) == ("triage", "Lazio")
    assert unknown_cap.inputs["region_from"] == "ufficio di patronato 001/0058"
    assert (unknown_prefix.rule, unknown_prefix.assignment.region) == ("triage", None)


# ---- 1. referente regionale → CRIC of the office's region, section by subject -------------------


def test_referente_goes_to_the_cric_of_the_office_region_in_the_subject_section(table):
    decision = table.decide(referente(ufficio="0058", subject="chiarimento_normativo"), DAY)

    assert decision.rule == "referente_regionale_cric"
    assert (decision.assignment.kind, decision.assignment.code) == ("cric", "0790")
    assert decision.assignment.name == "CRIC Lazio – sezione Pensioni"
    assert decision.assignment.queue == "pensioni"
    assert decision.inputs["region"] == "Lazio" and decision.inputs["cric_section"] == "pensioni"
    assert "001/0058" in decision.assignment.reason


@pytest.mark.parametrize(
    "section, name",
    [
        ("sostegno_reddito", "CRIC Lazio – sezione Prestazioni a sostegno del reddito"),
        ("soggetto_contribuente", "CRIC Lazio – sezione Soggetto contribuente"),
        ("pensioni", "CRIC Lazio – sezione Pensioni"),
    ],
)
def test_a_referentes_question_reaches_the_cric_section_it_names(table, section, name):
    """Circ. 135/2011: pensioni, sostegno al reddito, soggetto contribuente; the referente
    says which area its question concerns, whatever the subject."""
    decision = table.decide(referente(subject="chiarimento_normativo", cric_section=section), DAY)

    assert (decision.assignment.name, decision.assignment.queue) == (name, section)
    assert (decision.inputs["cric_section"], decision.inputs["cric_section_from"]) == (section, "request")


def test_referente_with_an_office_in_another_region_than_its_cap_goes_to_the_office_region(table):
    # office 001/0001 is in Torino (Piemonte); the CAP 00184 is in Roma (Lazio)
    decision = table.decide(referente(ufficio="0001", cap="00184"), DAY)

    assert decision.rule == "referente_regionale_cric"
    assert decision.assignment.name.startswith("CRIC Piemonte")
    assert len(decision.rule_chain) == 1  # the first rule decided: nothing after it was considered


def test_referente_section_follows_the_subject(data):
    table = RoutingTable(
        "v",
        dataclasses.replace(
            data,
            subjects=tuple(
                dataclasses.replace(s, cric_section="sostegno_reddito")
                if s.code == "requisiti_accesso"
                else s
                for s in data.subjects
            ),
        ),
    )

    decision = table.decide(referente(subject="requisiti_accesso"), DAY)

    assert decision.assignment.queue == "sostegno_reddito"
    assert decision.assignment.name == "CRIC Lazio – sezione Prestazioni a sostegno del reddito"


def test_referente_from_an_unknown_office_goes_to_triage_with_the_reason(table):
    decision = table.decide(referente(ufficio="9999"), DAY)

    assert decision.rule == "triage" and decision.inputs["why"] == ["unknown_office"]
    assert "ufficio di patronato 001/9999 non presente" in decision.assignment.reason


def test_referente_with_a_subject_without_section_goes_to_triage(table):
    decision = table.decide(referente(subject="oggetto_nuovo"), DAY)

    assert decision.inputs["why"] == ["subject_without_section"]


# ---- 2. poli ---------------------------------------------------------------------------------------


def test_a_polo_subject_from_a_cap_whose_sede_differs_goes_to_the_polo(table):
    # Bergamo's CAP would go to the Bergamo sede; the subject has a polo for Lombardia in Milano
    by_cap = table.decide(operatore_generico("24121"), DAY)
    decision = table.decide(
        operatore_generico("24121", subject="prestazione_in_corso_o_respinta", area="sostegno_reddito"), DAY
    )

    assert by_cap.assignment.name == "Direzione provinciale di Bergamo"
    assert decision.rule == "polo"
    assert (decision.assignment.kind, decision.assignment.code) == ("polo", sede_of(table, "MI").code)
    assert decision.assignment.name == "Polo regionale Lombardia prestazioni a sostegno del reddito"
    assert decision.inputs == {
        "subject": "prestazione_in_corso_o_respinta",
        "polo_region": "Lombardia",
        "request_region": "Lombardia",
        "region_from": "CAP 24121",
    }
    assert decision.assignment.queue == "sostegno_reddito"


def test_a_regional_polo_does_not_apply_outside_its_region(table):
    decision = table.decide(operatore_generico("00184", subject="prestazione_in_corso_o_respinta"), DAY)

    assert decision.rule == "operatore_generico_cap"
    assert decision.assignment.name == "Direzione provinciale di Roma"


def test_a_cassetto_request_goes_to_the_sede_di_competenza_even_when_its_subject_has_a_polo(data):
    """Msg 1986/2011: the Cassetto sends a company's request "alla sede di competenza" of
    its matricola; poli place COMBIPAT requests (msg 3813/2021)."""
    national_f24 = Polo("f24", None, "0704", "Polo nazionale versamenti F24")
    table = RoutingTable("v", dataclasses.replace(data, poli=(*data.poli, national_f24)))

    decision = table.decide(cassetto("1501500125", subject="f24"), DAY)

    assert decision.rule == "cassetto_matricola"
    assert decision.assignment.code == sede_of(table, "MI").code
    assert ("polo", NOT_APPLICABLE, "cassetto_sede_di_competenza") in chain_of(decision)


def test_the_sample_has_no_polo_for_a_cassetto_subject(data):
    cassetto_subjects = {"generico_informativo", "regolarita_contributiva", "dm_uniemens", "f24"}
    assert not {polo.subject for polo in data.poli} & cassetto_subjects


def test_a_national_polo_takes_a_combipat_request_before_the_cap(data):
    national = Polo("sollecito_domanda", None, "0704", "Polo nazionale solleciti")
    table = RoutingTable("v", dataclasses.replace(data, poli=(*data.poli, national)))

    decision = table.decide(operatore_generico("24121"), DAY)

    assert (decision.rule, decision.assignment.name) == ("polo", "Polo nazionale solleciti")
    assert decision.assignment.code == sede_of(table, "RM").code


def test_a_regional_polo_wins_over_the_national_one_for_its_region(data):
    national = Polo("prestazione_in_corso_o_respinta", None, "0704", "Polo nazionale prestazioni")
    table = RoutingTable("v", dataclasses.replace(data, poli=(*data.poli, national)))
    subject = {"subject": "prestazione_in_corso_o_respinta", "area": "sostegno_reddito"}

    in_lombardy = table.decide(operatore_generico("24121", **subject), DAY)
    in_lazio = table.decide(operatore_generico("00184", **subject), DAY)

    assert in_lombardy.assignment.name == "Polo regionale Lombardia prestazioni a sostegno del reddito"
    assert in_lazio.assignment.name == "Polo nazionale prestazioni"


def test_a_polo_in_force_from_a_later_day_applies_from_that_day(data):
    later = Polo("sollecito_domanda", None, "0704", "Polo solleciti", valid_from=date(2027, 1, 1))
    table = RoutingTable("v", dataclasses.replace(data, poli=(*data.poli, later)))

    assert table.decide(operatore_generico("24121"), date(2026, 12, 31)).rule == "operatore_generico_cap"
    assert table.decide(operatore_generico("24121"), date(2027, 1, 1)).rule == "polo"


# ---- 4. cassetto → sede di competenza of the matricola -----------------------------------------------


def test_a_registered_matricola_goes_to_its_sede_di_competenza_even_against_its_prefix(table, data):
    # Monza e Brianza came out of Milano: its companies keep Milano's prefix 15
    monza = next(company for company in data.companies if company.sede_code == sede_of(table, "MB").code)
    assert monza.matricola.startswith("15")

    decision = table.decide(cassetto(monza.matricola), DAY)

    assert decision.rule == "cassetto_matricola"
    assert decision.assignment.name == "Direzione provinciale di Monza e della Brianza"
    assert decision.inputs["source"] == "registry"
    assert decision.assignment.queue == "soggetto_contribuente"


def test_an_unknown_matricola_with_a_known_prefix_goes_to_the_prefix_province(table):
    decision = table.decide(cassetto("1599999999"), DAY)

    assert decision.rule == "cassetto_matricola"
    assert decision.assignment.name == "Direzione provinciale di Milano"
    assert decision.inputs == {
        "channel": "cassetto",
        "matricola": "1599999999",
        "source": "prefix",
        "province": "MI",
    }
    assert (
        "non presente nell'anagrafica aziende → prefisso provinciale 15 → provincia MI"
        in decision.assignment.reason
    )


def test_an_unknown_matricola_with_an_unknown_prefix_goes_to_triage(table):
    decision = table.decide(cassetto("0099999999"), DAY)

    assert decision.rule == "triage" and decision.inputs["why"] == ["unknown_matricola"]
    assert "prefisso provinciale 00 sconosciuto" in decision.assignment.reason


def test_a_cassetto_request_without_matricola_goes_to_triage(table):
    decision = table.decide(cassetto(None), DAY)

    assert decision.inputs["why"] == ["missing_matricola"]


# ---- 5. triage ----------------------------------------------------------------------------------------


def test_without_reference_data_everything_goes_to_triage():
    decision = RoutingTable.empty().decide(operatore_generico("00184"), DAY)

    assert decision.rule == "triage" and decision.inputs["why"] == ["no_reference"]
    assert "dati di riferimento" in decision.assignment.reason
    assert decision.reference_version == "none"


def test_a_request_no_rule_knows_goes_to_triage(table):
    decision = table.decide({"channel": "fax", "profile": "contact_center", "area": "informazioni"}, DAY)

    assert decision.rule == "triage" and decision.inputs["why"] == ["no_rule"]
    assert [check.outcome for check in decision.rule_chain[:-1]] == [NOT_APPLICABLE] * 5


# ---- 1b. a contact-center scheda Linea INPS → the region's CRIC, section of its area --------------


def scheda(region="Lazio", cric_section="sostegno_reddito"):
    return {
        "channel": "linea_inps",
        "origin": "linea_inps",
        "profile": "contact_center",
        "subject": "scheda_linea_inps",
        "area": "consulenza",
        "citizen": {"codice_fiscale": "RSSMRA80A01H501U", "cap": None},
        "region": region,
        "cric_section": cric_section,
    }


def test_a_scheda_linea_inps_reaches_the_section_of_the_regions_cric(table):
    """Circ. 135/2011: the CCM operator "acquisire una scheda 'Linea INPS' ed indirizzarla
    alla specifica area di consulenza regionale"."""
    decision = table.decide(scheda(), DAY)

    assert decision.rule == "linea_inps_cric"
    assert (decision.assignment.kind, decision.assignment.code) == ("cric", "0790")
    assert decision.assignment.name == "CRIC Lazio – sezione Prestazioni a sostegno del reddito"
    assert (decision.assignment.queue, decision.assignment.region) == ("sostegno_reddito", "Lazio")


def test_a_scheda_without_its_area_waits_in_its_regions_triage(table):
    decision = table.decide(scheda(cric_section=None), DAY)

    assert decision.rule == "triage" and decision.inputs["why"] == ["missing_section"]
    assert decision.assignment.region == "Lazio"
    assert table.decide(scheda(region="Atlantide"), DAY).inputs["why"] == ["no_cric"]


# ---- the decision as recorded and as an event -----------------------------------------------------------


def test_a_decision_is_recorded_with_everything_needed_to_explain_it(table):
    recorded = table.decide(operatore_generico("00184"), DAY).as_dict()

    assert set(recorded) == {
        "assignment",
        "rule",
        "inputs",
        "reference_version",
        "rule_chain",
        "request",
        "effective_day",
    }
    assert RequestFacts.from_dict(recorded["request"]) == RequestFacts.from_payload(
        operatore_generico("00184")
    )
    replayed = table.decide_facts(
        RequestFacts.from_dict(recorded["request"]), date.fromisoformat(recorded["effective_day"])
    )
    assert replayed.as_dict() == recorded


def test_decision_becomes_a_valid_request_routed_payload(table):
    decision = table.decide(operatore_generico("00184"), DAY)
    previous = {"kind": "triage", "code": TRIAGE_CODE, "name": "Coda", "reason": "x", "queue": "pensioni"}

    plain = make_event(
        "request_routed",
        decision.routed_payload(uuid.uuid4(), datetime(2026, 11, 23, tzinfo=UTC)),
        producer="routing",
    )
    manual = make_event(
        "request_routed",
        decision.routed_payload(
            uuid.uuid4(), datetime(2026, 11, 23, tzinfo=UTC), manual=True, previous=previous
        ),
        producer="routing",
    )

    assert plain.payload["assignment"]["name"] == "Direzione provinciale di Roma"
    assert plain.payload["assignment"]["region"] == "Lazio"
    assert (plain.payload["manual"], plain.payload["previous"]) == (False, None)
    assert (manual.payload["manual"], manual.payload["previous"]) == (True, {**previous, "region": None})
