"""Notify use cases, as plain functions of (session, event, clock).

The service runs each inside ``DatabaseAccess.apply_once``: the inbox row and the delivery
rows, queued with their whole text, share one unit of work; a redelivered event that was
already applied changes nothing. Each handler returns the ids of the deliveries it queued,
which the service hands to the dispatcher (``dispatch.py``) once the transaction commits:
nothing is sent from inside a transaction, so a send can never be undone by a rollback.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from services.notify.channels import attachments_to_json
from services.notify.messages import (
    OutgoingMessage,
    render_appointment_booked,
    render_appointment_cancelled,
    render_appointment_reminder,
    render_outbound_message,
    render_protocol_registered,
    render_request_closed,
    render_request_routed,
)
from services.notify.models import (
    CHANNEL_EMAIL,
    CHANNEL_SMS,
    STATUS_FAILED,
    STATUS_QUEUED,
    STATUS_SKIPPED,
    Delivery,
    RequestContact,
)
from shared import appointment_ics
from shared.consumer import RetryLater
from shared.errors import NotFound

NO_EMAIL = "nessun indirizzo e-mail indicato dal richiedente"
NO_SMS_PROVIDER = "provider SMS non configurato"


@dataclass(frozen=True)
class Recipient:
    """Where to reach someone for one message: a ``RequestContact`` fits this shape, and an
    outbound message builds one from its own contacts (it may concern no request)."""

    request_id: uuid.UUID | None
    email: str | None
    sms: str | None


# ---- event handlers ----------------------------------------------------------------------


def notify_protocol_registered(session, event, *, clock) -> list:
    """``request_submitted``: remember the contacts, tell the requester the protocol number.

    A request whose contacts are already known was told already (they are stored in the
    same unit of work as that e-mail): a submission re-sent by intake's sweep sends nothing.
    """
    if session.get(RequestContact, event.payload["request_id"]) is not None:
        return []
    contact = remember_contacts(session, event.payload)
    message = render_protocol_registered(contact.protocol, contact.subject, contact.submitted_at)
    return deliver(session, clock, event, contact, message)


def notify_request_routed(session, event, *, clock) -> list:
    """``request_routed``: tell the requester which office will handle the request."""
    payload = event.payload
    contact = known_contact(session, event)
    message = render_request_routed(contact.protocol, contact.subject, payload["assignment"])
    return deliver(session, clock, event, contact, message)


def notify_request_closed(session, event, *, clock) -> list:
    """``request_closed``: tell the requester the outcome, and whether an appointment can be booked."""
    payload = event.payload
    contact = known_contact(session, event)
    message = render_request_closed(
        contact.protocol,
        contact.subject,
        payload["outcome"],
        payload["comment"],
        payload["booking_enabled"],
        payload["at"],
        payload.get("booking_possible"),
    )
    return deliver(session, clock, event, contact, message)


def notify_outbound_message(session, event, *, clock) -> list:
    """``outbound_message_sent``: tell the recipient a sede wrote to them (contacts in the event)."""
    payload = event.payload
    contacts = payload["contacts"] or {}
    recipient = Recipient(payload["request_id"], contacts.get("email"), contacts.get("sms"))
    message = render_outbound_message(payload["subject"], payload["sede"], payload["sent_at"])
    return deliver(session, clock, event, recipient, message)


# ---- appointments (agenda) -----------------------------------------------------------------

# Cassetto (msg 1986/2011): companies and intermediaries get appointment reminders "tramite
# e-mail ed SMS"; without an SMS provider the SMS is recorded as skipped, as for requests.
SMS_ROLES = ("azienda", "intermediario")


def appointment_recipient(session, payload: dict) -> Recipient:
    """The booking's contact; without an e-mail there, the one given with its request."""
    contact = payload.get("contact") or {}
    email = contact.get("email")
    if not email and payload.get("request_id"):
        known = session.get(RequestContact, payload["request_id"])
        email = known.email if known else None
    sms = contact.get("phone") if payload["booked_by_role"] in SMS_ROLES else None
    return Recipient(payload.get("request_id"), email, sms)


def notify_appointment_booked(session, event, *, clock) -> list:
    """``appointment_booked``: the confirmation, with the .ics and, for a web meeting, the room."""
    payload = event.payload
    facts = {**payload, "stamped_at": payload["at"]}
    ics_text = appointment_ics.appointment_ics(facts, payload.get("room_url"))
    message = render_appointment_booked(payload, ics_text, appointment_ics.filename(payload["booking_id"]))
    return queue_email(session, clock, event, appointment_recipient(session, payload), message)


def notify_appointment_cancelled(session, event, *, clock) -> list:
    """``appointment_cancelled``: the office's cancellation is told to whoever booked; the
    requester's own (or a reschedule) needs no message."""
    payload = event.payload
    if payload["by"] != "office":
        return []
    return queue_email(
        session,
        clock,
        event,
        appointment_recipient(session, payload),
        render_appointment_cancelled(payload),
    )


def notify_appointment_reminder(session, event, *, clock) -> list:
    """``appointment_reminder_due``: by e-mail, and for companies by SMS (recorded as skipped)."""
    payload = event.payload
    return deliver(
        session,
        clock,
        event,
        appointment_recipient(session, payload),
        render_appointment_reminder(payload),
    )


def known_contact(session, event) -> RequestContact:
    contact = session.get(RequestContact, event.payload["request_id"])
    if contact is None:
        raise RetryLater(f"{event.type} prima di request_submitted per {event.payload['request_id']}")
    return contact


def remember_contacts(session, payload: dict) -> RequestContact:
    contact = session.get(RequestContact, payload["request_id"])
    if contact is None:
        contacts = payload["contacts"] or {}
        contact = RequestContact(
            request_id=payload["request_id"],
            protocol=payload["protocol"],
            email=contacts.get("email"),
            sms=contacts.get("sms"),
            subject=payload["subject"],
            submitted_at=payload["submitted_at"],
        )
        session.add(contact)
    return contact


# ---- channels ----------------------------------------------------------------------------


def deliver(session, clock, event, recipient: Recipient | RequestContact, message: OutgoingMessage) -> list:
    """The e-mail queued (ids returned for the dispatcher); the SMS recorded as skipped."""
    queued = queue_email(session, clock, event, recipient, message)
    if recipient.sms:
        record_sms_skipped(session, clock, event, recipient, message)
    return queued


def queue_email(session, clock, event, recipient, message: OutgoingMessage) -> list:
    """One e-mail delivery row, ``queued`` with its text (or ``skipped`` without an address);
    returns the ids to dispatch after the commit."""
    delivery = _new_delivery(clock, event, recipient, message, CHANNEL_EMAIL, recipient.email)
    session.add(delivery)
    if not recipient.email:
        delivery.status, delivery.error = STATUS_SKIPPED, NO_EMAIL
        return []
    delivery.status = STATUS_QUEUED
    delivery.body = message.body
    delivery.attachments = attachments_to_json(message.attachments)
    delivery.next_attempt_at = delivery.created_at
    return [delivery.id]


def record_sms_skipped(session, clock, event, recipient, message: OutgoingMessage) -> Delivery:
    # No SMS provider yet: say so in the record rather than pretend the SMS went out.
    delivery = _new_delivery(clock, event, recipient, message, CHANNEL_SMS, recipient.sms)
    delivery.status, delivery.error = STATUS_SKIPPED, NO_SMS_PROVIDER
    session.add(delivery)
    return delivery


def _new_delivery(
    clock, event, recipient, message: OutgoingMessage, channel: str, address: str | None
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
