"""Intake rules with plain data: no broker, no database."""
from __future__ import annotations

import pytest

from services.intake import domain
from services.intake.catalog import Catalog, default_catalog
from shared.errors import Forbidden, InvalidInput

OPERATORE = {"sub": "op-1", "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}
REFERENTE = {"sub": "ref-1", "role": "patronato_referente", "patronato": "001", "ufficio": "0001"}
INTERMEDIARIO = {"sub": "cdl-1", "role": "intermediario", "matricole": ["7012345678"]}
CITIZEN = {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"}
PROTOCOLLO = {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"}


def submit(caller, **fields):
    body = {"subject": "requisiti_accesso", "text": "Quali requisiti?", "contacts": {}}
    body.update(fields)
    return domain.validate_submission(caller, body, default_catalog())


def field_codes(excinfo):
    return {(e["field"], e["code"]) for e in excinfo.value.errors}


def test_operatore_generico_request_is_valid_with_citizen():
    valid = submit(OPERATORE, citizen=CITIZEN)
    assert valid.channel == domain.Channel("combipat", "operatore_generico", "patronato")
    assert valid.subject.sla_days == 10
    assert valid.patronato == {"ente": "001", "ufficio": "0001"}


@pytest.mark.parametrize("subject", ["sollecito_domanda", "prestazione_in_corso_o_respinta"])
def test_subjects_that_need_a_case_identifier(subject):
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE, subject=subject, citizen=CITIZEN)
    assert ("case_identifier", "identifier_required") in field_codes(refused)
    assert submit(OPERATORE, subject=subject, citizen=CITIZEN, case_identifier=PROTOCOLLO).case_identifier == PROTOCOLLO


def test_malformed_protocol_number_names_the_field():
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE, subject="sollecito_domanda", citizen=CITIZEN, case_identifier={"kind": "protocollo", "value": "12345"})
    assert field_codes(refused) == {("case_identifier.value", "invalid_protocollo")}


def test_every_fault_is_listed_at_once():
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE, subject="inesistente", citizen={"codice_fiscale": "XX", "cap": "00000"})
    assert field_codes(refused) == {
        ("subject", "unknown_subject"),
        ("citizen.codice_fiscale", "invalid_codice_fiscale"),
        ("citizen.cap", "unknown_cap"),
    }


def test_operatore_needs_the_citizen():
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE)
    assert ("citizen", "citizen_required") in field_codes(refused)


def test_referente_without_citizen_is_a_referente_request_and_with_citizen_an_operatore_one():
    assert submit(REFERENTE, subject="chiarimento_normativo").channel.profile == "referente_regionale"
    assert submit(REFERENTE, citizen=CITIZEN).channel.profile == "operatore_generico"
    with pytest.raises(InvalidInput):
        submit(OPERATORE, subject="chiarimento_normativo", citizen=CITIZEN)


def test_patronato_request_needs_office_scope_in_the_token():
    with pytest.raises(Forbidden):
        submit({"sub": "x", "role": "patronato_operatore"}, citizen=CITIZEN)


def test_cassetto_matricola_must_be_delegated():
    assert submit(INTERMEDIARIO, subject="f24", matricola="7012345678").matricola == "7012345678"
    with pytest.raises(InvalidInput) as refused:
        submit(INTERMEDIARIO, subject="f24", matricola="7099999999")
    assert field_codes(refused) == {("matricola", "matricola_not_delegated")}


def test_officials_cannot_submit():
    with pytest.raises(Forbidden):
        submit({"sub": "s", "role": "sede_operatore"})


def test_closed_2020_catalog_is_readable_but_not_offered():
    catalog = default_catalog()
    old = catalog.find_version("combipat-2020", "sollecito_pratica")
    assert old.label == "Sollecito su pratica presentata" and not old.active
    offered = {s.code for s in catalog.offered("combipat", ("operatore_generico",))}
    assert offered == {"sollecito_domanda", "prestazione_in_corso_o_respinta", "requisiti_accesso"}


def test_catalog_refuses_an_sla_outside_the_four_thresholds():
    version = {"version": "x", "channel": "c", "status": "active", "subjects": [
        {"code": "a", "label": "A", "profiles": [], "identifier_kinds": [], "identifier_required": False, "sla_days": 7, "area": "x"}]}
    with pytest.raises(ValueError):
        Catalog([version])


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        ("Testo semplice àèì".encode(), "text/plain"),
        (b"MZ\x90\x00" + b"\x00" * 60, None),  # a Windows executable, whatever its name
        (b"\x7fELF\x02\x01", None),
    ],
)
def test_attachment_type_is_taken_from_the_content(data, expected):
    assert domain.sniff_content_type(data) == expected


def test_disguised_executable_is_refused():
    with pytest.raises(InvalidInput) as refused:
        domain.check_attachment("fattura.pdf", b"MZ\x90\x00" + b"\x00" * 60)
    assert field_codes(refused) == {("file", "file_type_not_allowed")}


def test_file_names_are_sanitised_and_get_the_real_extension():
    assert domain.sanitise_filename("../../etc/passwd", "text/plain") == "passwd.txt"
    assert domain.sanitise_filename("Domanda “firmata” è.PDF", "application/pdf") == "Domanda firmata e.pdf"
    assert domain.sanitise_filename("a<b>|c.pdf", "application/pdf") == "a_b_c.pdf"
    assert domain.sanitise_filename("", "image/png") == "allegato.png"


def test_patronato_attachments_limited_to_6_mb_in_total():
    channel = domain.Channel("combipat", "operatore_generico", "patronato")
    domain.check_attachments_total(channel, [3 * 1024 * 1024, 3 * 1024 * 1024])
    with pytest.raises(InvalidInput) as refused:
        domain.check_attachments_total(channel, [3 * 1024 * 1024, 3 * 1024 * 1024 + 1])
    assert field_codes(refused) == {("attachments", "attachments_too_large")}


def test_visibility_by_scope():
    request = {"patronato": {"ente": "001", "ufficio": "0001"}, "matricola": None, "consulente": None, "assigned_sede": "0701"}
    assert domain.can_read(OPERATORE, request)
    assert not domain.can_read(dict(OPERATORE, ufficio="0002"), request)
    official = {"sub": "f", "role": "sede_operatore", "sede": "0701", "groups": ["APP_FEA_COMBID"]}
    assert domain.can_read(official, request)
    assert not domain.can_read(dict(official, groups=[]), request)
    assert not domain.can_read(dict(official, sede="0702"), request)
    assert not domain.can_read(INTERMEDIARIO, request)


def test_intermediary_sees_its_matricole_and_what_names_its_codice_fiscale():
    consulente = {"sub": "c", "role": "intermediario", "matricole": ["7012345678"], "codice_fiscale": "RSSMRA85T10A562S"}
    assert domain.can_read(consulente, {"matricola": "7012345678", "consulente": None, "assigned_sede": None})
    assert domain.can_read(consulente, {"matricola": None, "consulente": "RSSMRA85T10A562S", "assigned_sede": None})
    assert not domain.can_read(consulente, {"matricola": "7099999999", "consulente": "XXXXXX00X00X000X", "assigned_sede": None})


def test_granted_operator_may_act_as_referente():
    assert domain.channel_for(OPERATORE, {}, referente_granted=True).profile == "referente_regionale"
    assert domain.channel_for(OPERATORE, {}, referente_granted=False).profile == "operatore_generico"
    assert domain.subject_profiles_for(OPERATORE, referente_granted=True)[1] == ("referente_regionale", "operatore_generico")


def test_cassetto_allows_at_most_three_files():
    channel = domain.Channel("cassetto", "intermediario", "cassetto")
    domain.check_attachment_count(channel, 3)
    with pytest.raises(InvalidInput) as refused:
        domain.check_attachment_count(channel, 4)
    assert field_codes(refused) == {("attachments", "too_many_attachments")}


def test_directors_see_their_sede_their_region_or_everything():
    request = {"patronato": None, "matricola": None, "consulente": None, "assigned_sede": "0704", "assigned_region": "Lazio"}
    assert domain.can_read({"sub": "d", "role": "direttore", "sede": "0704"}, request)
    assert not domain.can_read({"sub": "d", "role": "direttore", "sede": "0101"}, request)
    assert domain.can_read({"sub": "d", "role": "direttore", "regione": "Lazio"}, request)
    assert not domain.can_read({"sub": "d", "role": "direttore", "regione": "Piemonte"}, request)
    assert domain.can_read({"sub": "d", "role": "direttore"}, request)
