"""Notify use cases, as plain functions of (session, event, clock).

The service runs each inside ``DatabaseAccess.apply_once``: the inbox row (Notifiche), the
delivery rows queued with their whole text, and the inbox of processed events share one
unit of work; a redelivered event that was already applied changes nothing. Each handler
returns the deliveries it queued, which the service leases and hands to the dispatcher
(``dispatch.py``) once the transaction commits: nothing is sent from inside a transaction,
so a send can never be undone by a rollback.

Who is told what, on which channel, is ``rules.py``; the texts are ``messages.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, literal, select

from services.notify import messages, rules, sms_text, views
from services.notify.channels import attachments_to_json
from services.notify.messages import OutgoingMessage
from services.notify.models import (
    CHANNEL_EMAIL,
    CHANNEL_SMS,
    STATUS_FAILED,
    STATUS_QUEUED,
    STATUS_SKIPPED,
    Delivery,
    Notice,
    NoticeRead,
    PatronatoOffice,
    Preference,
    RegionalDirectorate,
    RequestContact,
)
from shared import appointment_ics
from shared.consumer import RetryLater
from shared.errors import InvalidInput, NotFound, field_error
from shared.upsert import insert  # cached compiled SQL (shared/upsert.py)

NO_EMAIL = "nessun indirizzo e-mail indicato dal richiedente"
SWITCHED_OFF = "canale disattivato nelle preferenze del richiedente"

OWNERSHIP = ("origin", "requester", "patronato_ente", "patronato_ufficio", "matricola", "consulente")


@dataclass(frozen=True)
class Audience:
    """Who may see a notice (the facts ``shared.access`` reads) and whose preferences choose
    its e-mail and SMS."""

    origin: str | None = None
    requester: str | None = None
    patronato_ente: str | None = None
    patronato_ufficio: str | None = None
    matricola: str | None = None
    consulente: str | None = None

    @classmethod
    def of(cls, row) -> Audience:
        return cls(**{name: getattr(row, name) for name in OWNERSHIP})


@dataclass(frozen=True)
class Recipient:
    """Where to reach someone for one notice."""

    request_id: uuid.UUID | None
    email: str | None
    sms: str | None


# ---- requests ----------------------------------------------------------------------------


def notify_protocol_registered(session, event, *, clock) -> list:
    """``request_submitted``: remember the contacts and who may see the request's notices,
    tell the requester the protocol number.

    A request whose contacts are already known was told already (they are stored in the
    same unit of work as that notice): a submission re-sent by intake's sweep tells nothing.
    """
    if session.get(RequestContact, event.payload["request_id"]) is not None:
        return []
    contact = remember_contacts(session, event.payload)
    message = messages.render_protocol_registered(contact.protocol, contact.subject, contact.submitted_at)
    return tell_about_request(session, clock, event, contact, message)


def notify_request_routed(session, event, *, clock) -> list:
    """``request_routed``: where the request went (or that it waits for triage); after a
    reassignment, only if the sede really changed."""
    payload = event.payload
    contact = known_contact(session, event)
    kind = rules.routing_notice(payload["assignment"], payload.get("previous"))
    if kind is None:
        return []
    if kind == messages.TEMPLATE_REQUEST_REASSIGNED:
        message = messages.render_request_reassigned(
            contact.protocol, contact.subject, payload["assignment"], payload.get("previous")
        )
    else:
        message = messages.render_request_routed(contact.protocol, contact.subject, payload["assignment"])
    return tell_about_request(session, clock, event, contact, message)


def notify_request_taken_in_charge(session, event, *, clock) -> list:
    """``request_taken_in_charge``: the notice promised to a request that waited in triage,
    and to every other."""
    payload = event.payload
    contact = known_contact(session, event)
    message = messages.render_request_taken_in_charge(
        contact.protocol, contact.subject, payload.get("sede"), payload["at"]
    )
    return tell_about_request(session, clock, event, contact, message)


def notify_request_answered(session, event, *, clock) -> list:
    """``request_answered``: the sede answered; the text is read in the portal."""
    contact = known_contact(session, event)
    message = messages.render_request_answered(contact.protocol, contact.subject, event.payload["at"])
    return tell_about_request(session, clock, event, contact, message)


def notify_request_closed(session, event, *, clock) -> list:
    """``request_closed``: the outcome, and whether an appointment can be booked."""
    payload = event.payload
    contact = known_contact(session, event)
    message = messages.render_request_closed(
        contact.protocol,
        contact.subject,
        payload["outcome"],
        payload["comment"],
        payload["booking_enabled"],
        payload["at"],
        payload.get("booking_possible"),
    )
    return tell_about_request(session, clock, event, contact, message)


def notify_outbound_message(session, event, *, clock) -> list:
    """``outbound_message_sent``: tell the recipient a sede wrote to them (contacts in the
    event); listed to whoever may see the request it concerns, else to the recipient named."""
    payload = event.payload
    contacts = payload["contacts"] or {}
    recipient = Recipient(payload["request_id"], contacts.get("email"), contacts.get("sms"))
    message = messages.render_outbound_message(payload["subject"], payload["sede"], payload["sent_at"])
    known = session.get(RequestContact, payload["request_id"]) if payload["request_id"] else None
    if known is not None:
        audience, protocol = Audience.of(known), known.protocol
    else:
        audience, protocol = outbound_audience(payload["recipient"]), None
    return tell(session, clock, event, message, audience, recipient, protocol=protocol)


def outbound_audience(recipient: dict) -> Audience:
    office = recipient.get("patronato") or {}
    return Audience(
        patronato_ente=office.get("ente"),
        patronato_ufficio=office.get("ufficio"),
        matricola=recipient.get("matricola"),
        consulente=recipient.get("codice_fiscale"),
    )


# ---- appointments (agenda) -----------------------------------------------------------------


def appointment_recipient(session, payload: dict) -> tuple[Recipient, Audience]:
    """The booking's contact (without an e-mail there, the request's) and who sees the notice:
    whoever booked, and whoever may see the request it comes from."""
    contact = payload.get("contact") or {}
    known = session.get(RequestContact, payload["request_id"]) if payload.get("request_id") else None
    email = contact.get("email") or (known.email if known else None)
    recipient = Recipient(payload.get("request_id"), email, contact.get("phone"))
    if known is not None:
        facts = {name: getattr(known, name) for name in OWNERSHIP}
        audience = Audience(**{**facts, "requester": payload["booked_by"]})
    else:
        audience = Audience(requester=payload["booked_by"])
    return recipient, audience


def _tell_about_appointment(session, clock, event, message: OutgoingMessage) -> list:
    recipient, audience = appointment_recipient(session, event.payload)
    return tell(session, clock, event, message, audience, recipient, booking_id=event.payload["booking_id"])


def notify_appointment_booked(session, event, *, clock) -> list:
    """``appointment_booked``: the confirmation, with the .ics and, for a web meeting, the room."""
    payload = event.payload
    facts = {**payload, "stamped_at": payload["at"]}
    ics_text = appointment_ics.appointment_ics(facts, payload.get("room_url"))
    message = messages.render_appointment_booked(
        payload, ics_text, appointment_ics.filename(payload["booking_id"])
    )
    return _tell_about_appointment(session, clock, event, message)


def notify_appointment_cancelled(session, event, *, clock) -> list:
    """``appointment_cancelled``: the office's cancellation is told to whoever booked; the
    requester's own (or a reschedule) needs no message."""
    if event.payload["by"] != "office":
        return []
    return _tell_about_appointment(
        session, clock, event, messages.render_appointment_cancelled(event.payload)
    )


def notify_appointment_reminder(session, event, *, clock) -> list:
    """``appointment_reminder_due``: by e-mail and SMS, and in the inbox."""
    return _tell_about_appointment(session, clock, event, messages.render_appointment_reminder(event.payload))


# ---- offices ---------------------------------------------------------------------------------

NO_DIRECTORATE_ADDRESS = "nessun indirizzo registrato per la Direzione regionale"


def notify_report_published(session, event, *, clock, pdf: bytes | None = None) -> list:
    """``report_published``: the month's report to its Direzione regionale, the PDF attached
    (read from the object store by the service); no address registered: skipped, with why."""
    payload = event.payload
    directorate = session.get(RegionalDirectorate, payload["region"])
    recipient = Recipient(None, directorate.email if directorate else None, None)
    message = messages.render_report_published(payload, pdf)
    return queue_email(session, clock, event, recipient, message, no_address=NO_DIRECTORATE_ADDRESS)


# ---- contacts ------------------------------------------------------------------------------


def known_contact(session, event) -> RequestContact:
    contact = session.get(RequestContact, event.payload["request_id"])
    if contact is None:
        raise RetryLater(f"{event.type} prima di request_submitted per {event.payload['request_id']}")
    return contact


def remember_contacts(session, payload: dict) -> RequestContact:
    """The request's contacts and ownership, stored once (the caller checked they were not)."""
    contacts = payload["contacts"] or {}
    office = payload.get("patronato") or {}
    contact = RequestContact(
        request_id=payload["request_id"],
        protocol=payload["protocol"],
        email=rules.contact_email(
            contacts.get("email"),
            payload.get("requester_email"),
            # looked up only when needed: the request and the token usually give an address
            None
            if contacts.get("email") or payload.get("requester_email")
            else office_email(session, office),
        ),
        sms=contacts.get("sms"),
        subject=payload["subject"],
        submitted_at=payload["submitted_at"],
        origin=payload["origin"],
        requester=payload["requester"],
        patronato_ente=office.get("ente"),
        patronato_ufficio=office.get("ufficio"),
        matricola=payload.get("matricola"),
        consulente=payload.get("consulente"),
    )
    session.add(contact)
    return contact


def office_email(session, office: dict) -> str | None:
    if not office.get("ente") or not office.get("ufficio"):
        return None
    registered = session.get(PatronatoOffice, (office["ente"], office["ufficio"]))
    return registered.email if registered else None


# ---- telling: the inbox and the channels ------------------------------------------------------


def tell_about_request(session, clock, event, contact: RequestContact, message: OutgoingMessage) -> list:
    recipient = Recipient(contact.request_id, contact.email, contact.sms)
    return tell(session, clock, event, message, Audience.of(contact), recipient, protocol=contact.protocol)


def tell(
    session,
    clock,
    event,
    message: OutgoingMessage,
    audience: Audience,
    recipient: Recipient,
    *,
    protocol: str | None = None,
    booking_id=None,
) -> list:
    """One notice: listed in the inbox, e-mailed and sent by SMS as its kind and the
    requester's preferences say. Returns the deliveries queued (for the dispatcher)."""
    kind = message.template
    if rules.INBOX in rules.NOTICE_KINDS[kind].channels:
        session.add(
            Notice(
                id=uuid.uuid4(),
                event_id=uuid.UUID(str(event.event_id)),
                kind=kind,
                request_id=recipient.request_id,
                booking_id=booking_id,
                protocol=protocol,
                title=message.subject_line,
                text=message.short,
                created_at=event.occurred_at,  # newest first by when it happened, even if told late
                **{name: getattr(audience, name) for name in OWNERSHIP},
            )
        )
    choice = rules.channels_for(kind, preference_of(session, audience.requester, kind))
    queued = queue_email(session, clock, event, recipient, message, switched_off=not choice.email)
    if recipient.sms and rules.SMS in rules.NOTICE_KINDS[kind].channels:
        queued += queue_sms(session, clock, event, recipient, message, switched_off=not choice.sms)
    return queued


def preference_of(session, user_id: str | None, kind: str) -> rules.ChannelChoice | None:
    if not user_id:
        return None
    row = session.get(Preference, (user_id, kind))
    return rules.ChannelChoice(email=row.email, sms=row.sms) if row else None


def queue_email(
    session,
    clock,
    event,
    recipient: Recipient,
    message: OutgoingMessage,
    *,
    switched_off: bool = False,
    no_address: str = NO_EMAIL,
) -> list:
    """One e-mail delivery row, ``queued`` with its texts (or ``skipped`` with the reason:
    no address, or switched off); returns what to dispatch after the commit."""
    delivery = _new_delivery(clock, event, recipient, message, CHANNEL_EMAIL, recipient.email)
    session.add(delivery)
    if not recipient.email or switched_off:
        delivery.status, delivery.error = STATUS_SKIPPED, (SWITCHED_OFF if recipient.email else no_address)
        return []
    delivery.status = STATUS_QUEUED
    delivery.body = message.body
    delivery.html = message.html or None
    delivery.attachments = attachments_to_json(message.attachments)
    delivery.next_attempt_at = delivery.created_at
    return [delivery]


def queue_sms(
    session, clock, event, recipient: Recipient, message: OutgoingMessage, *, switched_off: bool = False
) -> list:
    """One SMS delivery row with the notice's short text: ``queued`` to the number in E.164,
    ``failed`` at once for a number that can never receive an SMS (nothing retried), or
    ``skipped`` when the requester switched SMS off. Without a provider the dispatcher
    records it as skipped."""
    delivery = _new_delivery(clock, event, recipient, message, CHANNEL_SMS, recipient.sms)
    session.add(delivery)
    if switched_off:
        delivery.status, delivery.error = STATUS_SKIPPED, SWITCHED_OFF
        return []
    try:
        delivery.recipient = sms_text.normalise_number(recipient.sms)
    except sms_text.InvalidNumber as exc:
        delivery.status, delivery.error = STATUS_FAILED, exc.reason
        return []
    delivery.status = STATUS_QUEUED
    delivery.body = message.short
    delivery.sms_parts = sms_text.sms_parts(sms_text.fit_gsm7(message.short)).parts
    delivery.next_attempt_at = delivery.created_at
    return [delivery]


def _new_delivery(
    clock, event, recipient: Recipient, message: OutgoingMessage, channel: str, address: str | None
) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        request_id=recipient.request_id,
        event_id=uuid.UUID(str(event.event_id)),
        channel=channel,
        recipient=address,
        template=message.template,
        subject_line=message.subject_line,
        status=STATUS_SKIPPED,
        created_at=clock.now(),
    )


# ---- queries -----------------------------------------------------------------------------


def deliveries_for(session, request_id: str) -> list[dict]:
    """Every delivery for a request, oldest first (empty if none)."""
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
    rows = session.scalars(
        select(Delivery).where(Delivery.request_id == key).order_by(Delivery.created_at, Delivery.channel)
    ).all()
    return [delivery_view(row) for row in rows]


def failed_deliveries_count(session) -> int:
    """Messages refused for good (for the operators' status)."""
    return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == STATUS_FAILED))


def delivery_view(delivery: Delivery) -> dict:
    return {
        "id": str(delivery.id),
        "request_id": str(delivery.request_id),
        "event_id": str(delivery.event_id),
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "template": delivery.template,
        "subject_line": delivery.subject_line,
        "status": delivery.status,
        "error": delivery.error,
        "created_at": delivery.created_at.isoformat(),
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
        "attempts": delivery.attempts,
    }


# ---- the inbox and the preferences (commands from the portal) -----------------------------------


def mark_read(session, scope, reader: str, notice_id: str, now) -> dict:
    """One notice read by ``reader``; 404 for a notice they cannot see (as for a missing one)."""
    try:
        key = uuid.UUID(str(notice_id))
    except ValueError:
        raise NotFound("notification_not_found", "Notifica non trovata.") from None
    notice = session.scalar(select(Notice).where(Notice.id == key, views.visible(scope)))
    if notice is None:
        raise NotFound("notification_not_found", "Notifica non trovata.")
    session.execute(
        insert(NoticeRead).values(notice_id=key, reader=reader, read_at=now).on_conflict_do_nothing()
    )
    read_at = session.scalar(
        select(NoticeRead.read_at).where(NoticeRead.notice_id == key, NoticeRead.reader == reader)
    )
    return views.notice_view(notice, read_at)


def mark_all_read(session, scope, reader: str, now) -> dict:
    """Every notice ``reader`` can see, read now; returns how many were unread."""
    unread = select(Notice.id, literal(reader), literal(now)).where(
        views.visible(scope),
        ~select(NoticeRead.notice_id)
        .where(NoticeRead.notice_id == Notice.id, NoticeRead.reader == reader)
        .exists(),
    )
    result = session.execute(
        insert(NoticeRead).from_select(["notice_id", "reader", "read_at"], unread).on_conflict_do_nothing()
    )
    return {"marked": result.rowcount or 0, "unread": views.unread_count(session, scope, reader)}


def set_preferences(session, user_id: str, choices: list[dict], now) -> dict:
    """The user's e-mail and SMS choices for the kinds named (others unchanged)."""
    for choice in choices:
        if choice["kind"] not in rules.NOTICE_KINDS:  # the input schema refuses it first
            raise InvalidInput.from_errors(
                [
                    field_error(
                        "preferences.kind", "unknown_kind", f"Tipo di notifica sconosciuto: {choice['kind']}."
                    )
                ]
            )
        values = {"email": choice["email"], "sms": choice["sms"], "updated_at": now}
        session.execute(
            insert(Preference)
            .values(user_id=user_id, kind=choice["kind"], **values)
            .on_conflict_do_update(index_elements=["user_id", "kind"], set_=values)
        )
    return views.preferences_of(session, user_id)
