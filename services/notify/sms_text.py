"""SMS numbers and texts: plain functions, no I/O.

``normalise_number`` turns what a person typed ("347 123 4567", "+39 347…", "0039…") into the
E.164 form a gateway expects ("+393471234567"), or raises ``InvalidNumber`` (a permanent
delivery error: retrying cannot fix a wrong number) with a stable ``code`` and an Italian
reason. Numbers without a country code are read as Italian; foreign numbers need their
``+CC``. Only mobile numbers are accepted: a landline cannot receive an SMS.

``sms_parts`` says how a text travels and what it costs: GSM-7 (the GSM 03.38 default
alphabet, 7-bit "septets"; the extension table's characters ``^ { } \\ [ ~ ] | €`` and form
feed take two, an escape and the character) or, as soon as one character is outside it,
UCS-2 (16-bit units; a character beyond the Basic Multilingual Plane, e.g. an emoji, takes
two). One message holds 160 septets or 70 units; a longer text is sent as a concatenated
message whose parts each lose room to the concatenation header: 153 septets or 67 units
per part. A part never splits an escape pair or a surrogate pair.

``fit_gsm7`` replaces the characters Italian texts commonly carry but GSM-7 lacks (capital
accented vowels, typographic quotes, dashes, the ellipsis, non-breaking spaces) with close
GSM-7 equivalents, so that a notice stays one GSM-7 message (160 characters) instead of
becoming UCS-2 (70). The lowercase ``à è é ì ò ù`` and ``É`` are GSM-7 already and are kept.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from services.notify.channels import PermanentDeliveryError

__all__ = [
    "GSM7",
    "UCS2",
    "InvalidNumber",
    "SmsParts",
    "fit_gsm7",
    "is_gsm7",
    "normalise_number",
    "sms_parts",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet (0x1B, the escape to the extension table, is not a character)
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each is sent as escape + character, two septets
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7_SEPTETS = 160
PART_GSM7_SEPTETS = 153  # 7 septets go to the concatenation header (UDH)
SINGLE_UCS2_UNITS = 70
PART_UCS2_UNITS = 67

# A phone number as typed is short; anything longer is not one (and is not parsed).
MAX_NUMBER_LENGTH = 40

# Types a number may have to receive an SMS: MOBILE, or FIXED_LINE_OR_MOBILE where the
# numbering plan cannot tell them apart (United States, Canada).
_SMS_CAPABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

# Close GSM-7 equivalents for characters Italian texts carry (applied after NFC).
_GSM7_EQUIVALENTS = {
    # capital accented vowels: written with an apostrophe, as Italian typing does without them
    "È": "E'",
    "À": "A'",
    "Ì": "I'",
    "Ò": "O'",
    "Ù": "U'",
    "Á": "A'",
    "Í": "I'",
    "Ó": "O'",
    "Ú": "U'",
    # acute where Italian has the grave (é is GSM-7 itself)
    "á": "à",
    "í": "ì",
    "ó": "ò",
    "ú": "ù",
    # GSM-7 has the capital cedilla only
    "ç": "Ç",
    # typographic punctuation
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’ (also the typographic apostrophe: "dell’ufficio")
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    "`": "'",
    "\u00b4": "'",  # ´
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u00ab": '"',  # «
    "\u00bb": '"',  # »
    "\u2033": '"',  # ″
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # …
    "\u2022": "-",  # • bullet
    # spaces GSM-7 lacks
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u2007": " ",
    "\u2009": " ",
    "\u202f": " ",  # narrow no-break space (before "€" in some locales)
    # invisible characters: dropped
    "\u200b": "",  # zero width space
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
}


class InvalidNumber(PermanentDeliveryError):
    """A number that can never receive an SMS: the delivery fails once, with the reason."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SmsParts:
    encoding: str  # "GSM-7" | "UCS-2"
    parts: int  # messages the text is sent (and billed) as; 0 for an empty text
    units: int  # septets (GSM-7) or 16-bit units (UCS-2), escapes and surrogates counted


def normalise_number(raw: str, default_region: str = "IT") -> str:
    """The number in E.164 ("+393471234567"), or ``InvalidNumber``.

    Without a country code the number is read as one of ``default_region`` (Italy):
    "347 123 4567", "0039 347 1234567" and "+39 347 1234567" are the same number.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidNumber("phone_number_missing", "numero di cellulare mancante")
    if len(raw) > MAX_NUMBER_LENGTH:
        raise InvalidNumber(
            "phone_number_too_long",
            f"numero di cellulare troppo lungo (massimo {MAX_NUMBER_LENGTH} caratteri)",
        )
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(
            "phone_number_unreadable", "il testo indicato non è un numero di telefono"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(
            "phone_number_invalid",
            "numero di telefono non valido (per un numero estero indicare il prefisso internazionale, "
            "ad esempio +44)",
        )
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise InvalidNumber(
            "phone_number_not_mobile", "il numero non è di un cellulare: non può ricevere SMS"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_parts(text: str) -> SmsParts:
    """Encoding, number of messages and length in septets/units of ``text`` as it is."""
    if is_gsm7(text):
        costs = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SmsParts(GSM7, _parts(costs, SINGLE_GSM7_SEPTETS, PART_GSM7_SEPTETS), sum(costs))
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SmsParts(UCS2, _parts(costs, SINGLE_UCS2_UNITS, PART_UCS2_UNITS), sum(costs))


def _parts(costs: list[int], single: int, per_part: int) -> int:
    """Parts of a text whose characters cost ``costs``: one if it fits ``single``, else
    filled greedily ``per_part`` at a time, a two-unit character never split across parts."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, room = 1, per_part
    for cost in costs:
        if cost > room:
            parts, room = parts + 1, per_part
        room -= cost
    return parts


def fit_gsm7(text: str) -> str:
    """``text`` with the characters GSM-7 lacks replaced by close GSM-7 equivalents where
    there is one (È → E', ’ → ', – → -, … → ...). Characters without one (an emoji, a
    Cyrillic letter) are kept: the text is then sent as UCS-2, never mangled."""
    # NFC first: an "e" followed by a combining grave accent becomes "è", which GSM-7 has
    composed = unicodedata.normalize("NFC", text)
    return "".join(_GSM7_EQUIVALENTS.get(char, char) for char in composed)
