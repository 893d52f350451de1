"""SMS numbers and texts: E.164 normalisation, GSM-7/UCS-2 part counting at the edges, and
the GSM-7 equivalents for Italian text (no I/O)."""

import pytest

from services.notify.channels import PermanentDeliveryError
from services.notify.sms_text import (
    GSM7,
    UCS2,
    InvalidNumber,
    SmsParts,
    fit_gsm7,
    is_gsm7,
    normalise_number,
    sms_parts,
)

# ---- numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "347 123 4567",
        "3471234567",
        "+39 347 1234567",
        "0039 347 1234567",
        "+39 (347) 123-4567",
        " 347.123.4567 ",
    ],
)
def test_an_italian_mobile_number_however_typed_is_one_e164_number(raw):
    assert normalise_number(raw) == "+393471234567"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 7911 123456", "+447911123456"),
        ("+49 1512 3456789", "+4915123456789"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0044 7911 123456", "+447911123456"),
    ],
)
def test_a_foreign_mobile_number_with_its_country_code_is_accepted(raw, expected):
    assert normalise_number(raw) == expected


def test_without_a_country_code_the_number_is_read_in_the_default_region():
    # a British mobile typed as at home: not an Italian number, fine once the region is GB
    with pytest.raises(InvalidNumber):
        normalise_number("07911 123456")
    assert normalise_number("07911 123456", default_region="GB") == "+447911123456"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "phone_number_missing"),
        ("   ", "phone_number_missing"),
        (None, "phone_number_missing"),
        ("chiamami", "phone_number_unreadable"),
        ("347", "phone_number_invalid"),
        ("347 123 45678 999", "phone_number_invalid"),
        ("06 1234 5678", "phone_number_not_mobile"),  # a Rome landline
        ("+39 06 12345678", "phone_number_not_mobile"),
        ("800 123456", "phone_number_not_mobile"),  # toll-free
        ("3" * 41, "phone_number_too_long"),
    ],
)
def test_a_number_that_cannot_receive_an_sms_is_refused_with_a_stable_code(raw, code):
    with pytest.raises(InvalidNumber) as refused:
        normalise_number(raw)

    assert refused.value.code == code
    assert refused.value.reason == str(refused.value)
    assert refused.value.reason  # an Italian sentence for the delivery record


def test_an_invalid_number_is_a_permanent_delivery_error_not_retried():
    with pytest.raises(PermanentDeliveryError, match="non è di un cellulare"):
        normalise_number("06 1234 5678")


def test_the_reason_does_not_repeat_the_number():
    with pytest.raises(InvalidNumber) as refused:
        normalise_number("06 1234 5678")
    assert "1234" not in str(refused.value)


# ---- parts ---------------------------------------------------------------------------


def test_an_empty_text_is_no_message():
    assert sms_parts("") == SmsParts(GSM7, 0, 0)


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_one_message_holds_160_septets_a_concatenated_part_153(length, parts):
    assert sms_parts("a" * length) == SmsParts(GSM7, parts, length)


def test_italian_accented_letters_of_the_gsm7_alphabet_keep_the_text_gsm7():
    text = "àèéìòùÉ"
    assert is_gsm7(text)
    assert sms_parts(text) == SmsParts(GSM7, 1, 7)
    # and cost one septet each: 160 of them are still one message
    assert sms_parts("è" * 160) == SmsParts(GSM7, 1, 160)


def test_extension_characters_count_two_septets():
    assert sms_parts("€") == SmsParts(GSM7, 1, 2)
    assert sms_parts("[]{}|~^\\€") == SmsParts(GSM7, 1, 18)
    # 80 euro signs are 160 septets: one message; 81 are not
    assert sms_parts("€" * 80) == SmsParts(GSM7, 1, 160)
    assert sms_parts("€" * 81) == SmsParts(GSM7, 2, 162)
    # 159 letters and a euro sign: 161 septets, two parts
    assert sms_parts("a" * 159 + "€") == SmsParts(GSM7, 2, 161)


def test_an_escape_pair_is_never_split_across_parts():
    # 152 septets, then a euro sign: it does not fit the first part's last septet
    # (153 - 152 = 1), so it opens the second part; 152 + 2 + 152 = 306 septets need 3 parts
    text = "a" * 152 + "€" + "a" * 152
    assert sms_parts(text) == SmsParts(GSM7, 3, 306)
    # the same length with the pair not straddling the boundary fits two parts
    assert sms_parts("€" + "a" * 304) == SmsParts(GSM7, 2, 306)


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_one_message_holds_70_units_a_concatenated_part_67(length, parts):
    text = "Ж" * length
    assert sms_parts(text) == SmsParts(UCS2, parts, length)


def test_one_character_outside_gsm7_makes_the_whole_text_ucs2():
    text = "a" * 69 + "È"  # È is not GSM-7
    assert sms_parts(text) == SmsParts(UCS2, 1, 70)
    assert sms_parts("a" * 70 + "È") == SmsParts(UCS2, 2, 71)


def test_a_character_beyond_the_bmp_takes_two_units_never_split():
    assert sms_parts("🙂") == SmsParts(UCS2, 1, 2)
    assert sms_parts("🙂" * 35) == SmsParts(UCS2, 1, 70)
    # 66 units then a surrogate pair: the pair opens the second part
    assert sms_parts("Ж" * 66 + "🙂" + "Ж" * 66) == SmsParts(UCS2, 3, 134)


# ---- fitting into GSM-7 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fitted"),
    [
        ("È stata protocollata", "E' stata protocollata"),
        ("PERCHÉ, CITTÀ, COSÌ, PERCIÒ, PIÙ", "PERCHÉ, CITTA', COSI', PERCIO', PIU'"),
        ("dell’ufficio", "dell'ufficio"),
        ("“Richiesta” «urgente»", '"Richiesta" "urgente"'),
        ("09:00 – 12:00 — sede", "09:00 - 12:00 - sede"),
        ("a breve…", "a breve..."),
        ("10\u00a0€", "10 €"),
        ("perchè perché", "perchè perché"),  # both GSM-7: untouched
        ("e\u0300", "è"),  # a combining accent composed first
    ],
)
def test_fit_gsm7_replaces_what_italian_text_needs(text, fitted):
    assert fit_gsm7(text) == fitted
    assert is_gsm7(fitted)


def test_fit_gsm7_keeps_a_text_already_gsm7_as_it_is():
    text = "Gentile utente, la richiesta COMBID.2026.00000001 è stata presa in carico. €5 [ok]"
    assert fit_gsm7(text) == text


def test_fit_gsm7_keeps_one_message_where_the_raw_text_would_need_three():
    text = "È stata fissata la Sua consulenza “in sede” – lunedì 7 dicembre alle 9:30… " * 2
    assert sms_parts(text).encoding == UCS2
    assert sms_parts(text).parts == 3
    fitted = sms_parts(fit_gsm7(text))
    assert fitted.encoding == GSM7
    assert fitted.parts == 1


def test_what_has_no_gsm7_equivalent_is_kept_and_the_text_stays_ucs2():
    assert fit_gsm7("Grazie 🙂") == "Grazie 🙂"
    assert sms_parts(fit_gsm7("Grazie 🙂")).encoding == UCS2
