"""What a booking must satisfy, and how it moves, as plain functions (msg 3813/2021 §1.3 and §2;
Cassetto msg 1986/2011 "Agenda Appuntamenti").

- at most 2 codici fiscali per booking (same topic and same punto: a booking has one topic and
  one punto, so both citizens share them by construction);
- the motivazione is required ("Per confermare l'appuntamento sarà necessario specificare le
  motivazioni della prenotazione");
- web meeting needs a contact (e-mail and/or telephone) "che dovrà essere utilizzato per la
  gestione dell'appuntamento";
- the modality and the topic must be among those the punto offers.

States: confirmed → held | no_show (the office records the outcome, once the slot started)
| cancelled_by_requester | cancelled_by_office (with a reason). Only a confirmed booking
holds its slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.errors import Conflict, InvalidInput, field_error
from shared.identifiers import IdentifierError, check_codice_fiscale_persona

IN_PERSON, PHONE, WEB_MEETING = "in_person", "phone", "web_meeting"
MODALITIES = (IN_PERSON, PHONE, WEB_MEETING)
MODALITY_NAMES = {IN_PERSON: "in presenza", PHONE: "telefonica", WEB_MEETING: "web meeting"}

CONFIRMED = "confirmed"
HELD = "held"
NO_SHOW = "no_show"
CANCELLED_BY_REQUESTER = "cancelled_by_requester"
CANCELLED_BY_OFFICE = "cancelled_by_office"
STATES = (CONFIRMED, HELD, NO_SHOW, CANCELLED_BY_REQUESTER, CANCELLED_BY_OFFICE)
OUTCOMES = (HELD, NO_SHOW)

MAX_CITIZENS = 2


@dataclass(frozen=True)
class PuntoOffer:
    """What a punto offers, as the rules see it."""

    punto_id: str
    sede: str
    modalities: tuple[str, ...]
    topics: tuple[str, ...]


def check_booking(command: dict, offer: PuntoOffer) -> list[str]:
    """The normalised codici fiscali of a valid booking; ``InvalidInput`` naming every problem."""
    problems = []
    codici = [str(code).strip().upper() for code in command.get("codici_fiscali") or []]
    if not codici:
        problems.append(
            field_error("codici_fiscali", "citizen_required", "Indicare il codice fiscale del cittadino.")
        )
    if len(codici) > MAX_CITIZENS:
        problems.append(
            field_error(
                "codici_fiscali",
                "too_many_citizens",
                f"Una prenotazione può riguardare al massimo {MAX_CITIZENS} codici fiscali, "
                "per la stessa tematica e lo stesso punto di consulenza.",
            )
        )
    if len(set(codici)) != len(codici):
        problems.append(
            field_error(
                "codici_fiscali", "repeated_citizen", "Lo stesso codice fiscale è indicato due volte."
            )
        )
    for index, code in enumerate(codici[:MAX_CITIZENS]):
        try:
            check_codice_fiscale_persona(code)
        except IdentifierError as exc:
            problems.append(field_error(f"codici_fiscali.{index}", exc.code, exc.detail))
    if not (command.get("motivazione") or "").strip():
        problems.append(
            field_error(
                "motivazione",
                "motivazione_required",
                "Per confermare l'appuntamento occorre indicare la motivazione della prenotazione.",
            )
        )
    modality = command.get("modality")
    if modality not in offer.modalities:
        offered = ", ".join(MODALITY_NAMES.get(item, item) for item in offer.modalities)
        problems.append(
            field_error(
                "modality",
                "modality_not_offered",
                f"Il punto di consulenza non offre questa modalità (disponibili: {offered}).",
            )
        )
    if command.get("topic") not in offer.topics:
        problems.append(
            field_error(
                "topic", "topic_not_served", "Il punto di consulenza non tratta la tematica indicata."
            )
        )
    contact = command.get("contact") or {}
    if modality == WEB_MEETING and not (contact.get("email") or contact.get("phone")):
        problems.append(
            field_error(
                "contact",
                "contact_required",
                "Per il web meeting occorre indicare un recapito (e-mail e/o telefono) "
                "per la gestione dell'appuntamento.",
            )
        )
    if problems:
        raise InvalidInput.from_errors(problems)
    return codici


def check_slot(offered: bool, slot_start: datetime, now: datetime) -> None:
    """The slot is one the punto's calendar derives, and it has not started yet."""
    if slot_start <= now:
        raise Conflict("slot_in_the_past", "L'orario scelto è già passato.")
    if not offered:
        raise Conflict(
            "slot_not_offered",
            "L'orario scelto non è tra quelli messi a disposizione dal punto di consulenza.",
        )


def slot_taken() -> Conflict:
    return Conflict(
        "slot_taken", "L'orario scelto è stato appena prenotato da un altro utente: sceglierne un altro."
    )


def duplicate_booking() -> Conflict:
    return Conflict(
        "duplicate_booking",
        "Esiste già un appuntamento confermato per lo stesso cittadino e la stessa tematica.",
    )


def cancel(state: str, by_office: bool, reason: str | None, slot_start: datetime, now: datetime) -> str:
    """The state a cancellation moves a booking to."""
    if state != CONFIRMED:
        raise Conflict("not_confirmed", "L'appuntamento non è confermato: non può essere annullato.")
    if by_office:
        if not (reason or "").strip():
            raise InvalidInput.from_errors(
                [field_error("reason", "reason_required", "Indicare il motivo dell'annullamento.")]
            )
        return CANCELLED_BY_OFFICE
    if slot_start <= now:
        raise Conflict("appointment_started", "L'appuntamento è già iniziato: non può più essere annullato.")
    return CANCELLED_BY_REQUESTER


def record_outcome(state: str, outcome: str, slot_start: datetime, now: datetime) -> str:
    """The office records whether the appointment took place, once its time has come."""
    if outcome not in OUTCOMES:
        raise InvalidInput.from_errors(
            [field_error("outcome", "invalid_outcome", "Esito non valido: usare held o no_show.")]
        )
    if state != CONFIRMED:
        raise Conflict("not_confirmed", "L'esito si registra solo per un appuntamento confermato.")
    if slot_start > now:
        raise Conflict("appointment_not_started", "L'esito si registra solo dopo l'orario dell'appuntamento.")
    return outcome
