import pytest

from shared.clock import days_between, parse_instant
from shared.identifiers import (
    IdentifierError,
    check_cap,
    check_case_identifier,
    check_codice_fiscale_persona,
    check_matricola,
    check_partita_iva,
)


def test_codice_fiscale_valid_and_omocodic_variant_accepted():
    assert check_codice_fiscale_persona("rssmra85t10a562s") == "RSSMRA85T10A562S"
    # omocodia: digits replaced by letters (here the last digit of the birth-place code),
    # check character recomputed
    assert check_codice_fiscale_persona("RSSMRA85T10A56NH") == "RSSMRA85T10A56NH"


@pytest.mark.parametrize(
    "value, code",
    [
        ("RSSMRA85T10A562X", "invalid_codice_fiscale"),
        ("RSS", "invalid_codice_fiscale"),
        ("", "invalid_codice_fiscale"),
    ],
)
def test_codice_fiscale_refused(value, code):
    with pytest.raises(IdentifierError) as refused:
        check_codice_fiscale_persona(value)
    assert refused.value.code == code


def test_partita_iva():
    assert check_partita_iva("00000010215")
    with pytest.raises(IdentifierError):
        check_partita_iva("00000010216")


def test_cap_must_exist():
    assert check_cap("00184") == "00184"
    with pytest.raises(IdentifierError) as unknown:
        check_cap("00000")
    assert unknown.value.code == "unknown_cap"
    with pytest.raises(IdentifierError) as malformed:
        check_cap("1234")
    assert malformed.value.code == "invalid_cap"


@pytest.mark.parametrize(
    "kind, value",
    [
        ("protocollo", "INPS.7000.15/03/2026.0012345"),
        ("domus", "123456789"),
        ("pensione", "VO 12345678"),
        ("pensione", "so12345678"),
    ],
)
def test_case_identifiers_accepted(kind, value):
    assert check_case_identifier(kind, value)


@pytest.mark.parametrize(
    "kind, value, code",
    [
        ("protocollo", "INPS.700.15/03/2026.0012345", "invalid_protocollo"),
        ("protocollo", "INPS.7000.31/02/2026.0012345", "invalid_protocollo"),
        ("protocollo", "INPS.7000.15/03/2026.12345", "invalid_protocollo"),
        ("domus", "12AB", "invalid_domus"),
        ("pensione", "12345678", "invalid_pensione"),
        ("targa", "AB123CD", "unknown_identifier_kind"),
    ],
)
def test_case_identifiers_refused(kind, value, code):
    with pytest.raises(IdentifierError) as refused:
        check_case_identifier(kind, value)
    assert refused.value.code == code


def test_matricola_shape_only():
    assert check_matricola("7012345678") == "7012345678"
    with pytest.raises(IdentifierError):
        check_matricola("70123A5678")


def test_days_are_counted_on_the_rome_calendar():
    # 23:30 UTC on 1 March is already 2 March in Rome
    start = parse_instant("2026-03-01T23:30:00Z")
    assert days_between(start, parse_instant("2026-03-16T23:30:00Z")) == 15
    assert days_between(parse_instant("2026-03-01T22:30:00Z"), parse_instant("2026-03-01T23:30:00Z")) == 1
