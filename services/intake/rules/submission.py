"""Submission rules, as plain functions: who submits on which channel and profile, which
subjects a caller is offered, what a valid submission is.

No nameko, no SQLAlchemy session here: everything is testable with plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.intake.catalog import Catalog, Subject
from shared.access import Caller
from shared.errors import Forbidden, InvalidInput, field_error
from shared.identifiers import (
    IdentifierError,
    check_cap,
    check_case_identifier,
    check_codice_fiscale_persona,
    check_matricola,
)
from shared.vocabulary import CRIC_SECTIONS, ORIGIN_CASSETTO, ORIGIN_PATRONATO


@dataclass(frozen=True)
class Channel:
    name: str  # combipat | cassetto
    profile: str  # operatore_generico | referente_regionale | azienda | intermediario
    origin: str  # patronato | cassetto


def is_referente(caller: Caller, referente_granted: bool = False) -> bool:
    """Referente regionale by token role, or by a grant of the patronato's amministratore."""
    return caller.role == "patronato_referente" or (
        caller.role == "patronato_operatore" and referente_granted
    )


def channel_for(caller: Caller, submission: dict, referente_granted: bool = False) -> Channel:
    """The channel and profile a submission is made under.

    A referente regionale may also act as operatore generico (COMBIPAT 2021): a request
    that names a citizen is an operatore generico request.
    """
    role = caller.role
    if role == "patronato_operatore" and not referente_granted:
        return Channel("combipat", "operatore_generico", ORIGIN_PATRONATO)
    if is_referente(caller, referente_granted):
        profile = "operatore_generico" if submission.get("citizen") else "referente_regionale"
        return Channel("combipat", profile, ORIGIN_PATRONATO)
    if role in ("azienda", "intermediario"):
        return Channel("cassetto", role, ORIGIN_CASSETTO)
    raise Forbidden("role_cannot_submit", "Il profilo dell'utente non consente di inviare richieste.")


def subject_profiles_for(caller: Caller, referente_granted: bool = False) -> tuple[str, tuple[str, ...]]:
    """Channel and profiles whose subjects the caller may see in the catalog."""
    role = caller.role
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
    cric_section: str | None = None


def _identifier_errors(path: str, check, value):
    try:
        return check(value), []
    except IdentifierError as exc:
        return None, [field_error(path, exc.code, exc.detail)]


def validate_submission(
    caller: Caller, submission: dict, catalog: Catalog, referente_granted: bool = False
) -> ValidSubmission:
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
                f"Oggetto '{submission['subject']}' non disponibile "
                f"per il profilo {channel.profile.replace('_', ' ')}.",
            )
        )

    citizen = None
    if channel.profile == "operatore_generico":
        raw = submission.get("citizen")
        if not raw:
            errors.append(
                field_error(
                    "citizen", "citizen_required", "Indicare codice fiscale e CAP di residenza del cittadino."
                )
            )
        else:
            cf, cf_errors = _identifier_errors(
                "citizen.codice_fiscale", check_codice_fiscale_persona, raw["codice_fiscale"]
            )
            cap, cap_errors = _identifier_errors("citizen.cap", check_cap, raw["cap"])
            errors += cf_errors + cap_errors
            citizen = {"codice_fiscale": cf, "cap": cap}

    patronato = None
    if channel.origin == ORIGIN_PATRONATO:
        if not caller.patronato or not caller.ufficio:
            raise Forbidden(
                "missing_patronato_scope",
                "Il token non indica il codice del patronato e dell'ufficio: "
                "impossibile inviare la richiesta.",
            )
        patronato = {"ente": caller.patronato, "ufficio": caller.ufficio}

    matricola = None
    if channel.name == "cassetto":
        matricola, matricola_errors = _identifier_errors(
            "matricola", check_matricola, submission.get("matricola") or ""
        )
        errors += matricola_errors
        if matricola and matricola not in (caller.matricole or []):
            errors.append(
                field_error(
                    "matricola",
                    "matricola_not_delegated",
                    "La matricola non è tra quelle per cui l'utente è abilitato.",
                )
            )

    cric_section = submission.get("cric_section")
    if channel.profile == "referente_regionale" and not cric_section:
        errors.append(
            field_error(
                "cric_section",
                "cric_section_required",
                "Indicare la sezione del CRIC a cui si rivolge la richiesta: "
                + ", ".join(f"{code} ({label})" for code, label in CRIC_SECTIONS.items())
                + ".",
            )
        )
    elif channel.profile != "referente_regionale" and cric_section:
        errors.append(
            field_error(
                "cric_section",
                "cric_section_not_expected",
                "La sezione del CRIC si indica solo nelle richieste del referente regionale.",
            )
        )

    case_identifier = None
    raw_identifier = submission.get("case_identifier")
    if subject is not None:
        if subject.identifier_required and not raw_identifier:
            errors.append(
                field_error(
                    "case_identifier",
                    "identifier_required",
                    f"Per l'oggetto '{subject.label}' è indispensabile indicare il numero di protocollo, "
                    "il numero Domus o il numero pensione.",
                )
            )
        elif raw_identifier:
            if raw_identifier["kind"] not in subject.identifier_kinds:
                errors.append(
                    field_error(
                        "case_identifier.kind",
                        "identifier_not_expected",
                        f"L'oggetto '{subject.label}' non prevede un identificativo "
                        f"di tipo {raw_identifier['kind']}.",
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
        cric_section=cric_section,
    )
