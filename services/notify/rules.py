"""Who is told what, on which channel: notify's rules as plain values and functions.

Every notice goes to the portal's Notifiche inbox of whoever may see its request (or was
addressed by it); e-mail and SMS go to the request's contacts, each only when the kind of
notice uses that channel and the requester has not switched it off in their preferences.
The README's table "Chi riceve cosa" is this module in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

INBOX, EMAIL, SMS = "inbox", "email", "sms"


@dataclass(frozen=True)
class NoticeKind:
    code: str
    label: str  # for people: the preferences page, the inbox filter
    channels: tuple[str, ...]


# Cassetto msg 1986/2011: notices "tramite e-mail e SMS" at protocol, routing and closing;
# COMBIPAT msg 3813/2021: the booking confirmation in the portal's Notifiche; appointments'
# reminders by e-mail and SMS. Taking in charge and answers: inbox and e-mail.
NOTICE_KINDS: dict[str, NoticeKind] = {
    kind.code: kind
    for kind in (
        NoticeKind("protocol_registered", "Richiesta protocollata", (INBOX, EMAIL, SMS)),
        NoticeKind("request_routed", "Richiesta inoltrata alla sede", (INBOX, EMAIL, SMS)),
        NoticeKind("request_reassigned", "Richiesta assegnata a un'altra sede", (INBOX, EMAIL, SMS)),
        NoticeKind("request_taken_in_charge", "Richiesta presa in carico", (INBOX, EMAIL)),
        NoticeKind("request_answered", "Risposta della sede", (INBOX, EMAIL)),
        NoticeKind("request_closed", "Richiesta chiusa", (INBOX, EMAIL, SMS)),
        NoticeKind("outbound_message", "Comunicazione dalla sede", (INBOX, EMAIL, SMS)),
        NoticeKind("appointment_booked", "Appuntamento confermato", (INBOX, EMAIL, SMS)),
        NoticeKind("appointment_cancelled", "Appuntamento annullato dalla sede", (INBOX, EMAIL, SMS)),
        NoticeKind("appointment_reminder", "Promemoria appuntamento", (INBOX, EMAIL, SMS)),
    )
}


# Notices to offices, not portal users: no inbox, no preferences.
OFFICE_KINDS: dict[str, NoticeKind] = {
    "report_published": NoticeKind(
        "report_published", "Rapporto mensile della Direzione regionale", (EMAIL,)
    ),
}


@dataclass(frozen=True)
class ChannelChoice:
    email: bool = True
    sms: bool = True


def channels_for(kind: str, preference: ChannelChoice | None) -> ChannelChoice:
    """The channels a notice of ``kind`` uses for a requester with ``preference`` (None: no
    choice made, every channel of the kind)."""
    channels = NOTICE_KINDS[kind].channels
    chosen = preference or ChannelChoice()
    return ChannelChoice(email=EMAIL in channels and chosen.email, sms=SMS in channels and chosen.sms)


def routing_notice(assignment: Mapping, previous: Mapping | None) -> str | None:
    """The notice a routing decision deserves: the first one says where the request went (or
    that it waits for triage); a later one only when the sede really changed — a move
    between areas of the same sede, or back to the same office, tells the requester nothing."""
    if previous is None:
        return "request_routed"
    if (previous.get("kind"), previous.get("code")) == (assignment.get("kind"), assignment.get("code")):
        return None
    return "request_reassigned"


def contact_email(request_email: str | None, token_email: str | None, office_email: str | None) -> str | None:
    """Where e-mails about a request go: the address given with it, else the one in the
    requester's token, else the patronato office's registered address."""
    return request_email or token_email or office_email or None
