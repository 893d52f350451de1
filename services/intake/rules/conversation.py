"""The rules of a request after submission, as plain functions over its current facts.

States: open → in_progress → closed. Officials take in charge, answer, close (with an
outcome) and re-classify; requesters follow up and remind as their channel allows
(``catalog.ChannelRules``: on COMBIPAT at most 2 follow-ups after the first answer, a
reminder only without an answer from the 15th day after submission, Europe/Rome days; the
Cassetto has neither and continues with chained requests);
a sede may write first, to a recipient it names. Each function either returns what
changes or raises a typed error with a stable code and an Italian message; the request
aggregate (services/intake/aggregate.py) applies what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.intake.catalog import Catalog, ChannelRules, Subject
from shared.clock import rome_date
from shared.errors import Conflict, InvalidInput, field_error
from shared.identifiers import IdentifierError, check_matricola
from shared.vocabulary import (
    DAYS_WITHOUT_ANSWER,
    MAX_FOLLOWUPS,
    OUTBOUND_ORIGINS,
    STATE_CLOSED,
    STATE_IN_PROGRESS,
)


@dataclass(frozen=True)
class RequestFacts:
    """What the rules look at; built from the stored request."""

    state: str
    origin: str
    submitted_at: datetime
    assigned_sede: str | None
    first_answer_at: datetime | None = None
    followups_count: int = 0
    last_reminder_at: datetime | None = None
    closed_at: datetime | None = None
    # the channel's rules (catalog ``channels``); COMBIPAT's unless told otherwise
    max_followups: int = MAX_FOLLOWUPS
    reminder_after_days: int | None = DAYS_WITHOUT_ANSWER


def facts_of(request, rules: ChannelRules | None = None) -> RequestFacts:
    """The facts of a stored request (``models.Request``, or anything with its attributes),
    under its channel's ``rules``."""
    limits = {}
    if rules is not None:
        limits = {
            "max_followups": rules.followups_after_first_answer,
            "reminder_after_days": rules.reminder_after_days,
        }
    return RequestFacts(
        state=request.state,
        origin=request.origin,
        submitted_at=request.created_at,
        assigned_sede=request.assigned_sede,
        first_answer_at=request.first_answer_at,
        followups_count=request.followups_count,
        last_reminder_at=request.last_reminder_at,
        closed_at=request.closed_at,
        **limits,
    )


# ---- what the official does -----------------------------------------------------------


def _not_closed(facts: RequestFacts) -> None:
    if facts.state == STATE_CLOSED:
        raise Conflict("request_closed", "La richiesta è chiusa: non sono possibili altre operazioni.")
    if facts.origin in OUTBOUND_ORIGINS:
        raise Conflict(
            "outbound_message", "Si tratta di una comunicazione in uscita, non di una richiesta da lavorare."
        )


def take_in_charge(facts: RequestFacts) -> str:
    _not_closed(facts)
    if facts.state == STATE_IN_PROGRESS:
        raise Conflict("already_in_progress", "La richiesta è già in carico.")
    return STATE_IN_PROGRESS


def answer(facts: RequestFacts) -> str:
    """Answering a request that nobody took in charge takes it in charge."""
    _not_closed(facts)
    return STATE_IN_PROGRESS


def close(facts: RequestFacts, outcome: str | None) -> str:
    _not_closed(facts)
    if not outcome or not outcome.strip():
        raise InvalidInput.from_errors(
            [field_error("outcome", "outcome_required", "Indicare l'esito della richiesta.")]
        )
    return STATE_CLOSED


def change_subject(facts: RequestFacts, current_subject: str, new_subject: str) -> None:
    _not_closed(facts)
    if new_subject == current_subject:
        raise InvalidInput.from_errors(
            [field_error("subject", "same_subject", "L'oggetto indicato è già quello della richiesta.")]
        )


def new_subject(catalog: Catalog, channel: str, profile: str, code: str) -> Subject:
    """The active subject a request of this channel and profile may be re-classified under."""
    subject = catalog.find_active(channel, profile, code)
    if subject is None:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "subject",
                    "unknown_subject",
                    f"Oggetto '{code}' non previsto per questo canale e profilo.",
                )
            ]
        )
    return subject


# ---- what the requester does ----------------------------------------------------------


def followups_left(facts: RequestFacts) -> int:
    if not facts.first_answer_at:
        return facts.max_followups
    return max(0, facts.max_followups - facts.followups_count)


def closed_by_first_answer(facts: RequestFacts) -> bool:
    """Closed in the same step as its first answer (``answer`` with ``close``): the requester
    has not yet had the further interactions the first answer opens (msg 3813/2021 §1.2)."""
    return (
        facts.state == STATE_CLOSED
        and facts.first_answer_at is not None
        and facts.closed_at is not None
        and facts.closed_at == facts.first_answer_at
    )


def add_followup(facts: RequestFacts) -> tuple[int, bool]:
    """How many further interactions have been used after this one, and whether it reopens
    the request.

    COMBIPAT (msg 3813/2021 §1.2): "una volta ottenuta la prima risposta [...] l'Operatore
    di Patronato può proseguire il contatto [...] per un massimo di n. 2 ulteriori
    interazioni". An office that closes with its first answer does not take those away: the
    follow-up reopens the request and counts as one of the two. It goes back to
    ``in_progress``, not ``open``: the sede has already taken it in charge and answered, and
    the follow-up continues that same conversation with it (``open`` would put it back in
    the queue of requests nobody has looked at yet).
    """
    if facts.max_followups == 0:
        raise Conflict(
            "followups_not_offered",
            "Su questo canale la conversazione prosegue con una nuova richiesta concatenata a questa "
            "(indicarla come richiesta precedente).",
        )
    reopens = closed_by_first_answer(facts)
    if facts.state == STATE_CLOSED and not reopens:
        raise Conflict(
            "request_closed",
            "La richiesta è chiusa: per proseguire inviare una nuova richiesta collegata a questa.",
        )
    if facts.first_answer_at is None:
        raise Conflict(
            "no_answer_yet",
            "Si può proseguire il contatto solo dopo la prima risposta della sede; "
            "in attesa, è possibile inviare un sollecito dal 15° giorno.",
        )
    if facts.followups_count >= facts.max_followups:
        raise Conflict(
            "followups_exhausted",
            f"Sono già state utilizzate le {facts.max_followups} ulteriori interazioni consentite "
            "dopo la prima risposta.",
            extra={"followups_left": 0},
        )
    return facts.followups_count + 1, reopens


def booking_possible_on_closing(facts: RequestFacts, enable_booking: bool) -> bool:
    """Whether the requester may book an appointment once the request is closed: the office
    enabled it, or the first answer came and both further interactions are used up
    (msg 3813/2021 §1.3). Carried by ``request_closed`` so that the closing e-mail offers
    booking only when it is really possible."""
    interactions_used_up = (
        facts.max_followups > 0
        and facts.first_answer_at is not None
        and facts.followups_count >= facts.max_followups
    )
    return enable_booking or interactions_used_up


def reminder_allowed_from(facts: RequestFacts) -> date | None:
    """First day (Europe/Rome) a reminder may be sent: the channel's days (15 on COMBIPAT)
    after submission, and after the last reminder; None on a channel without reminders."""
    if facts.reminder_after_days is None:
        return None
    since = facts.last_reminder_at or facts.submitted_at
    return rome_date(since) + timedelta(days=facts.reminder_after_days)


def add_reminder(facts: RequestFacts, now: datetime) -> int:
    """Returns the days waited since submission."""
    if facts.reminder_after_days is None:
        raise Conflict(
            "reminder_not_offered",
            "Su questo canale non è previsto il sollecito: per aggiungere informazioni inviare una "
            "nuova richiesta concatenata a questa.",
        )
    if facts.first_answer_at is not None:
        raise Conflict("already_answered", "La sede ha già risposto: il sollecito non è più possibile.")
    _not_closed(facts)
    allowed_from = reminder_allowed_from(facts)
    if rome_date(now) < allowed_from:
        raise Conflict(
            "reminder_too_early",
            f"Il sollecito è consentito trascorsi almeno {facts.reminder_after_days} giorni: "
            f"sarà possibile dal {allowed_from:%d/%m/%Y}.",
            extra={"reminder_allowed_from": allowed_from.isoformat()},
        )
    return (rome_date(now) - rome_date(facts.submitted_at)).days


def next_actions(facts: RequestFacts, now: datetime) -> dict:
    """What the requester may do next, shown in the detail."""
    open_request = facts.state != STATE_CLOSED and facts.origin not in OUTBOUND_ORIGINS
    allowed_from = reminder_allowed_from(facts)
    waiting = open_request and facts.first_answer_at is None and allowed_from is not None
    return {
        "followups_left": followups_left(facts),
        "can_follow_up": (open_request or closed_by_first_answer(facts))
        and facts.first_answer_at is not None
        and facts.followups_count < facts.max_followups,
        "can_remind": waiting and rome_date(now) >= allowed_from,
        "reminder_allowed_from": allowed_from.isoformat() if waiting else None,
    }


# ---- what the sede writes first -------------------------------------------------------


def check_recipient(recipient: dict) -> None:
    """A sede's message names who receives it: a company by matricola, an intermediary by
    codice fiscale or matricola, a patronato by its office."""
    kind = recipient["kind"]
    problems = []
    if kind == "azienda" and not recipient.get("matricola"):
        problems.append(
            field_error("recipient.matricola", "matricola_required", "Indicare la matricola dell'azienda.")
        )
    if kind == "intermediario" and not (recipient.get("codice_fiscale") or recipient.get("matricola")):
        problems.append(
            field_error(
                "recipient.codice_fiscale",
                "codice_fiscale_required",
                "Indicare il codice fiscale dell'intermediario o una matricola.",
            )
        )
    if kind == "patronato" and not recipient.get("patronato"):
        problems.append(
            field_error(
                "recipient.patronato",
                "patronato_required",
                "Indicare codice ente e codice ufficio del patronato.",
            )
        )
    if recipient.get("matricola"):
        try:
            check_matricola(recipient["matricola"])
        except IdentifierError as exc:
            problems.append(field_error("recipient.matricola", exc.code, exc.detail))
    if problems:
        raise InvalidInput.from_errors(problems)
