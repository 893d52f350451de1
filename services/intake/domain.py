"""Intake rules, as plain functions: who submits on which channel and profile, what a
valid submission is, what an attachment may be, who may read a request.

No nameko, no SQLAlchemy session here: everything is testable with plain data.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import filetype

from services.intake.catalog import Catalog, Subject
from shared.contracts import OFFICIAL_GROUP
from shared.errors import Forbidden, InvalidInput, field_error
from shared.identifiers import (
    IdentifierError,
    check_cap,
    check_case_identifier,
    check_codice_fiscale_persona,
    check_matricola,
)

PATRONATO_ATTACHMENTS_MAX_TOTAL = 6 * 1024 * 1024  # 6 MB in total (COMBIPAT, 2021)
ATTACHMENT_MAX_SIZE = PATRONATO_ATTACHMENTS_MAX_TOTAL
CASSETTO_MAX_ATTACHMENTS = 3  # stored together as one compressed archive (messaggio 1986/2011)


@dataclass(frozen=True)
class Channel:
    name: str  # combipat | cassetto
    profile: str  # operatore_generico | referente_regionale | azienda | intermediario
    origin: str  # patronato | cassetto


def is_referente(caller: dict, referente_granted: bool = False) -> bool:
    """Referente regionale by token role, or by a grant of the patronato's amministratore."""
    return caller["role"] == "patronato_referente" or (caller["role"] == "patronato_operatore" and referente_granted)


def channel_for(caller: dict, submission: dict, referente_granted: bool = False) -> Channel:
    """The channel and profile a submission is made under.

    A referente regionale may also act as operatore generico (COMBIPAT 2021): a request
    that names a citizen is an operatore generico request.
    """
    role = caller["role"]
    if role == "patronato_operatore" and not referente_granted:
        return Channel("combipat", "operatore_generico", "patronato")
    if is_referente(caller, referente_granted):
        profile = "operatore_generico" if submission.get("citizen") else "referente_regionale"
        return Channel("combipat", profile, "patronato")
    if role in ("azienda", "intermediario"):
        return Channel("cassetto", role, "cassetto")
    raise Forbidden("role_cannot_submit", "Il profilo dell'utente non consente di inviare richieste.")


def subject_profiles_for(caller: dict, referente_granted: bool = False) -> tuple[str, tuple[str, ...]]:
    """Channel and profiles whose subjects the caller may see in the catalog."""
    role = caller["role"]
    if is_referente(caller, referente_granted):
        return "combipat", ("referente_regionale", "operatore_generico")
    if role == "patronato_operatore":
        return "combipat", ("operatore_generico",)
    if role in ("azienda", "intermediario"):
        return "cassetto", (role,)
    return "", ()


@dataclass
class ValidSubmission:
    channel: Channel
    subject: Subject
    text: str
    citizen: dict | None
    matricola: str | None
    patronato: dict | None
    case_identifier: dict | None
    contacts: dict
    attachment_ids: list[str] = field(default_factory=list)
    parent_id: str | None = None


def _identifier_errors(path: str, check, value):
    try:
        return check(value), []
    except IdentifierError as exc:
        return None, [field_error(path, exc.code, exc.detail)]


def validate_submission(caller: dict, submission: dict, catalog: Catalog, referente_granted: bool = False) -> ValidSubmission:
    """Apply every rule of DESIGN.md §2 "Requests" that needs no stored data.

    Raises ``InvalidInput`` listing every field at fault, ``Forbidden`` for a caller who
    cannot submit on this channel.
    """
    channel = channel_for(caller, submission, referente_granted)
    errors: list[dict] = []

    subject = catalog.find_active(channel.name, channel.profile, submission["subject"])
    if subject is None:
        errors.append(
            field_error(
                "subject",
                "unknown_subject",
                f"Oggetto '{submission['subject']}' non disponibile per il profilo {channel.profile.replace('_', ' ')}.",
            )
        )

    citizen = None
    if channel.profile == "operatore_generico":
        raw = submission.get("citizen")
        if not raw:
            errors.append(field_error("citizen", "citizen_required", "Indicare codice fiscale e CAP di residenza del cittadino."))
        else:
            cf, cf_errors = _identifier_errors("citizen.codice_fiscale", check_codice_fiscale_persona, raw["codice_fiscale"])
            cap, cap_errors = _identifier_errors("citizen.cap", check_cap, raw["cap"])
            errors += cf_errors + cap_errors
            citizen = {"codice_fiscale": cf, "cap": cap}

    patronato = None
    if channel.origin == "patronato":
        if not caller.get("patronato") or not caller.get("ufficio"):
            raise Forbidden(
                "missing_patronato_scope",
                "Il token non indica il codice del patronato e dell'ufficio: impossibile inviare la richiesta.",
            )
        patronato = {"ente": caller["patronato"], "ufficio": caller["ufficio"]}

    matricola = None
    if channel.name == "cassetto":
        matricola, matricola_errors = _identifier_errors("matricola", check_matricola, submission.get("matricola") or "")
        errors += matricola_errors
        if matricola and matricola not in (caller.get("matricole") or []):
            errors.append(field_error("matricola", "matricola_not_delegated", "La matricola non è tra quelle per cui l'utente è abilitato."))

    case_identifier = None
    raw_identifier = submission.get("case_identifier")
    if subject is not None:
        if subject.identifier_required and not raw_identifier:
            errors.append(
                field_error(
                    "case_identifier",
                    "identifier_required",
                    f"Per l'oggetto '{subject.label}' è indispensabile indicare il numero di protocollo, il numero Domus o il numero pensione.",
                )
            )
        elif raw_identifier:
            if raw_identifier["kind"] not in subject.identifier_kinds:
                errors.append(
                    field_error(
                        "case_identifier.kind",
                        "identifier_not_expected",
                        f"L'oggetto '{subject.label}' non prevede un identificativo di tipo {raw_identifier['kind']}.",
                    )
                )
            else:
                value, id_errors = _identifier_errors(
                    "case_identifier.value",
                    lambda v: check_case_identifier(raw_identifier["kind"], v),
                    raw_identifier["value"],
                )
                errors += id_errors
                case_identifier = {"kind": raw_identifier["kind"], "value": value}

    if errors:
        raise InvalidInput.from_errors(errors)

    return ValidSubmission(
        channel=channel,
        subject=subject,
        text=submission["text"].strip(),
        citizen=citizen,
        matricola=matricola,
        patronato=patronato,
        case_identifier=case_identifier,
        contacts={k: v for k, v in (submission.get("contacts") or {}).items() if v},
        attachment_ids=[str(a) for a in submission.get("attachments") or []],
        parent_id=str(submission["parent_id"]) if submission.get("parent_id") else None,
    )


# ---- attachments ---------------------------------------------------------------------

ALLOWED_CONTENT_TYPES = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
    "application/zip": "zip",
    "text/plain": "txt",
}
# Office documents are ZIP containers; filetype reports their own types.
ALLOWED_CONTENT_TYPES.update(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
        "application/vnd.oasis.opendocument.text": "odt",
        "application/vnd.oasis.opendocument.spreadsheet": "ods",
    }
)

_EXECUTABLE_SIGNATURES = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")


def sniff_content_type(data: bytes) -> str | None:
    """The type the bytes really are (not what the name or the client says), if allowed."""
    if data.startswith(_EXECUTABLE_SIGNATURES):
        return None
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_CONTENT_TYPES else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain" if "\x00" not in text else None


_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


def sanitise_filename(name: str, content_type: str) -> str:
    """A name safe for storage keys and download headers, with the extension of the real type."""
    base = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")
    base = base.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip(" ._") or "allegato"
    stem = base.rsplit(".", 1)[0][:100] or "allegato"
    return f"{stem}.{ALLOWED_CONTENT_TYPES[content_type]}"


def check_attachment(filename: str, data: bytes) -> tuple[str, str]:
    """Return (content type, safe file name) or raise InvalidInput."""
    if not data:
        raise InvalidInput.from_errors([field_error("file", "empty_file", "Il file è vuoto.")])
    if len(data) > ATTACHMENT_MAX_SIZE:
        raise InvalidInput.from_errors(
            [field_error("file", "file_too_large", "Il file supera la dimensione massima di 6 MB.")]
        )
    content_type = sniff_content_type(data)
    if content_type is None:
        raise InvalidInput.from_errors(
            [field_error("file", "file_type_not_allowed", "Tipo di file non ammesso: sono accettati PDF, immagini (PNG, JPEG, TIFF), testo, ZIP e documenti Office/OpenDocument.")]
        )
    return content_type, sanitise_filename(filename, content_type)


def check_attachment_count(channel: Channel, count: int) -> None:
    if channel.name == "cassetto" and count > CASSETTO_MAX_ATTACHMENTS:
        raise InvalidInput.from_errors(
            [field_error("attachments", "too_many_attachments", f"Si possono allegare al massimo {CASSETTO_MAX_ATTACHMENTS} file.")]
        )


def check_attachments_total(channel: Channel, sizes: list[int]) -> None:
    if channel.origin == "patronato" and sum(sizes) > PATRONATO_ATTACHMENTS_MAX_TOTAL:
        raise InvalidInput.from_errors(
            [field_error("attachments", "attachments_too_large", "Gli allegati superano il limite di 6 MB complessivi.")]
        )


# ---- visibility ----------------------------------------------------------------------

def can_read(caller: dict, request: dict) -> bool:
    """Whether ``caller`` may see ``request`` (anything else answers 404: no leak).

    ``request`` is the view of ``handlers.request_view``: matricola, patronato office,
    consulente codice fiscale, assigned sede.
    """
    role = caller["role"]
    if role == "admin":
        return True
    if role in ("patronato_operatore", "patronato_referente", "patronato_admin"):
        office = request.get("patronato") or {}
        return office.get("ente") == caller.get("patronato") and office.get("ufficio") == caller.get("ufficio")
    if role in ("azienda", "intermediario"):
        by_matricola = request.get("matricola") is not None and request.get("matricola") in (caller.get("matricole") or [])
        by_consulente = bool(caller.get("codice_fiscale")) and request.get("consulente") == caller.get("codice_fiscale")
        return by_matricola or by_consulente
    if role == "sede_operatore":
        return OFFICIAL_GROUP in (caller.get("groups") or []) and request.get("assigned_sede") == caller.get("sede")
    if role == "direttore":
        return director_sees(caller, request.get("assigned_sede"), request.get("assigned_region"))
    return False


def director_sees(caller: dict, assigned_sede: str | None, assigned_region: str | None) -> bool:
    """A director of a sede sees its requests, a regional director those of the region, a
    national director (neither claim in the token) all of them."""
    if caller.get("sede"):
        return assigned_sede == caller["sede"]
    if caller.get("regione"):
        return assigned_region == caller["regione"]
    return True
