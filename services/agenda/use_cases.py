"""Agenda's commands: book, reschedule, cancel, record the outcome, set a punto's availability,
emit the reminders that are due. Each runs in the caller's transaction (``session``) and
adds its events to the outbox in that same transaction.

The database decides the races: a slot holds one confirmed booking and a requester one
confirmed booking per citizen and topic (partial unique indexes, see ``models``). A booking
that loses a race is refused with ``slot_taken`` or ``duplicate_booking`` (409) and the
transaction rolls back.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError

from services.agenda import views
from services.agenda.models import (
    Booking,
    BookingCitizen,
    BookingEligibility,
    CalendarException,
    Punto,
    PuntoCalendar,
    ReminderEmitted,
)
from services.agenda.reference.store import active_version_id
from services.agenda.rules import booking as rules
from services.agenda.rules import slots
from services.agenda.rules.eligibility import booking_allowed, booking_possible_from
from shared import access
from shared.access import Caller
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from shared.events import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_HELD,
    APPOINTMENT_NO_SHOW,
    APPOINTMENT_REMINDER_DUE,
    make_event,
)
from shared.outbox import add_event
from shared.upsert import insert  # cached compiled SQL (shared/upsert.py)
from shared.vocabulary import ORIGIN_CASSETTO

PRODUCER = "agenda"
DEFAULT_REMINDER_LEADS_MINUTES = (24 * 60, 120)
ROOM_TOKEN_BYTES = 24


@dataclass(frozen=True)
class Settings:
    """What the service's config decides (``WEB_MEETING_BASE_URL``, ``REMINDER_LEAD_MINUTES``)."""

    web_meeting_base_url: str = "https://meet.inps.example/combid"
    reminder_leads_minutes: tuple[int, ...] = DEFAULT_REMINDER_LEADS_MINUTES


# ---- booking -------------------------------------------------------------------------------


def book(
    session, settings: Settings, caller: Caller, command: dict, now: datetime, correlation_id=None
) -> dict:
    """A new confirmed booking; its detail."""
    booking = _new_booking(session, settings, caller, command, now, correlation_id)
    return views.detail(booking, caller, settings.web_meeting_base_url)


def reschedule(
    session,
    settings: Settings,
    caller: Caller,
    booking_id: str,
    command: dict,
    now: datetime,
    correlation_id=None,
) -> dict:
    """Cancel and book again in one transaction: if the new booking is refused, the old one stands."""
    old = _own_booking(session, caller, booking_id, for_update=True)
    command = {
        **command,
        "request_id": command.get("request_id") or (str(old.request_id) if old.request_id else None),
        "matricola": command.get("matricola") or old.matricola,
        "rescheduled_from": old.id,
    }
    _cancel(
        session,
        old,
        by_office=False,
        reason="Appuntamento spostato",
        now=now,
        correlation_id=correlation_id,
        flush=True,
    )
    booking = _new_booking(session, settings, caller, command, now, correlation_id)
    return views.detail(booking, caller, settings.web_meeting_base_url)


def _new_booking(session, settings, caller, command, now, correlation_id) -> Booking:
    access.require_role(caller, access.BOOKER_ROLES)
    punto = active_punto(session, command["punto_id"])
    offer = rules.PuntoOffer(punto.punto_id, punto.sede, tuple(punto.modalities), tuple(punto.topics))
    codici = rules.check_booking(command, offer)
    request_id = command.get("request_id")
    matricola = command.get("matricola")
    if request_id:
        eligibility = _bookable_request(session, caller, request_id, punto, now)
        matricola = matricola or eligibility.matricola
    else:
        _check_direct_booking(caller, matricola)
    slot_start = command["slot_start"].astimezone(UTC)
    calendar = calendar_of(session, punto)
    rules.check_slot(slots.offers_slot(calendar, slot_start), slot_start, now)
    contact = command.get("contact") or {}
    booking = Booking(
        id=uuid.uuid4(),
        punto_id=punto.punto_id,
        punto_name=punto.name,
        punto_address=punto.address,
        sede=punto.sede,
        region=punto.region,
        slot_start=slot_start,
        slot_end=slot_start + timedelta(minutes=calendar.slot_minutes),
        modality=command["modality"],
        topic=command["topic"],
        state=rules.CONFIRMED,
        request_id=uuid.UUID(str(request_id)) if request_id else None,
        booked_by=caller.sub,
        booked_by_role=caller.role,
        booked_by_name=caller.name or "",
        matricola=matricola,
        motivazione=command["motivazione"].strip(),
        contact_email=contact.get("email"),
        contact_phone=contact.get("phone"),
        attachment_ids=[str(item) for item in command.get("attachments") or []],
        room_token=secrets.token_urlsafe(ROOM_TOKEN_BYTES)
        if command["modality"] == rules.WEB_MEETING
        else None,
        rescheduled_from=command.get("rescheduled_from"),
        created_at=now,
        updated_at=now,
    )
    booking.citizens = [
        BookingCitizen(
            codice_fiscale=code,
            position=index,
            booked_by=caller.sub,
            topic=booking.topic,
            state=rules.CONFIRMED,
        )
        for index, code in enumerate(codici)
    ]
    session.add(booking)
    try:
        session.flush()
    except IntegrityError as exc:
        raise _refusal(exc) from None
    payload = {
        **_facts(booking, now),
        "codici_fiscali": codici,
        "room_url": views.room_url(booking, settings.web_meeting_base_url),
        "rescheduled_from": booking.rescheduled_from,
    }
    _emit(session, APPOINTMENT_BOOKED, payload, now, correlation_id)
    return booking


def _refusal(exc: IntegrityError) -> Conflict:
    """Which guard of the database refused the booking."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or str(exc.orig)
    if "uq_booking_citizens_confirmed" in constraint:
        return rules.duplicate_booking()
    if "uq_bookings_confirmed_slot" in constraint:
        return rules.slot_taken()
    raise exc


def _bookable_request(session, caller: Caller, request_id, punto: Punto, now: datetime) -> BookingEligibility:
    """The request the booking comes from: the caller may see it, booking is allowed, and a
    company books at the sede the request was routed to (the sede di competenza)."""
    row = session.get(BookingEligibility, _uuid(request_id, "request_not_found", "Richiesta non trovata."))
    if row is None or row.submitted_at is None:
        raise NotFound("request_not_found", "Richiesta non trovata.")
    access.require_own_request(caller, _ownership(row))
    allowed, code, reason = booking_allowed(row, now)
    if not allowed:
        possible_from = booking_possible_from(row, now)
        extra = {"reason_code": code}
        if possible_from:
            extra["booking_possible_from"] = possible_from.isoformat()
        raise Conflict("booking_not_allowed", reason, extra=extra)
    if row.origin == ORIGIN_CASSETTO or caller.role in access.CASSETTO_ROLES:
        if row.assigned_sede is None:
            raise Conflict(
                "request_not_routed",
                "La richiesta non è ancora stata assegnata a una sede: riprovare tra qualche minuto.",
            )
        if punto.sede != row.assigned_sede:
            raise Conflict(
                "not_competent_sede",
                "L'appuntamento si prenota presso la sede di competenza della richiesta.",
                extra={"sede": row.assigned_sede},
            )
    return row


def _check_direct_booking(caller: Caller, matricola: str | None) -> None:
    """Without a request: a company or intermediary names a matricola it is delegated for;
    patronato operators (msg 3813/2021 §2) and the contact center book directly."""
    if caller.role not in access.CASSETTO_ROLES:
        return
    if not matricola:
        raise InvalidInput.from_errors(
            [field_error("matricola", "matricola_required", "Indicare la matricola aziendale.")]
        )
    if matricola not in caller.matricole:
        raise Forbidden("matricola_not_delegated", "La matricola indicata non è tra quelle dell'utente.")


def _ownership(row: BookingEligibility) -> access.Ownership:
    return access.Ownership(
        origin=row.origin,
        requester=row.requester,
        patronato_ente=row.patronato_ente,
        patronato_ufficio=row.patronato_ufficio,
        matricola=row.matricola,
        assigned_sede=row.assigned_sede,
        assigned_region=row.assigned_region,
        area=row.area,
    )


# ---- cancelling and outcome ------------------------------------------------------------------


def cancel(
    session,
    settings: Settings,
    caller: Caller,
    booking_id: str,
    command: dict,
    now: datetime,
    correlation_id=None,
) -> dict:
    """By whoever booked (``cancelled_by_requester``) or by the punto's office, with a reason
    (``cancelled_by_office``). The slot is free again at once."""
    booking = _visible_booking(session, caller, booking_id, for_update=True)
    by_office = caller.role not in access.BOOKER_ROLES
    if by_office:
        access.require_appointment_office(caller, booking.sede)
    _cancel(session, booking, by_office, command.get("reason"), now, correlation_id)
    return views.detail(booking, caller, settings.web_meeting_base_url)


def _cancel(session, booking, by_office, reason, now, correlation_id, flush=False) -> None:
    booking.state = rules.cancel(booking.state, by_office, reason, booking.slot_start, now)
    booking.cancelled_at = booking.updated_at = now
    booking.cancel_reason = (reason or "").strip() or None
    for citizen in booking.citizens:
        citizen.state = booking.state
    if flush:  # the slot must be free before a new booking of the same transaction takes it
        session.flush()
    payload = {
        **_facts(booking, now),
        "by": "office" if by_office else "requester",
        "reason": booking.cancel_reason,
    }
    _emit(session, APPOINTMENT_CANCELLED, payload, now, correlation_id)


def record_outcome(
    session,
    settings: Settings,
    caller: Caller,
    booking_id: str,
    command: dict,
    now: datetime,
    correlation_id=None,
) -> dict:
    booking = _visible_booking(session, caller, booking_id, for_update=True)
    access.require_appointment_office(caller, booking.sede)
    booking.state = rules.record_outcome(booking.state, command.get("outcome"), booking.slot_start, now)
    booking.outcome_at = booking.updated_at = now
    booking.outcome_by = caller.sub
    booking.outcome_note = (command.get("note") or "").strip() or None
    for citizen in booking.citizens:
        citizen.state = booking.state
    event_type = APPOINTMENT_HELD if booking.state == rules.HELD else APPOINTMENT_NO_SHOW
    _emit(session, event_type, {**_facts(booking, now), "note": booking.outcome_note}, now, correlation_id)
    return views.detail(booking, caller, settings.web_meeting_base_url)


# ---- availability (officials) ----------------------------------------------------------------


def set_availability(session, caller: Caller, punto_id: str, command: dict, now: datetime) -> dict:
    """The office sets a punto's weekly pattern and slot length, adds exceptions (closures,
    extra openings) and removes some. Bookings already confirmed are kept: the office cancels
    them one by one, with a reason, if it closes their hours."""
    punto = active_punto(session, punto_id)
    access.require_appointment_office(caller, punto.sede)
    problems = []
    if command.get("weekly") is not None or command.get("slot_minutes") is not None:
        current = calendar_of(session, punto)
        try:
            weekly = (
                slots.format_weekly(slots.parse_weekly(command["weekly"]))
                if command.get("weekly") is not None
                else slots.format_weekly(current.weekly)
            )
        except ValueError as exc:
            problems.append(field_error("weekly", "invalid_weekly", str(exc)))
        slot_minutes = command.get("slot_minutes") or current.slot_minutes
        if slot_minutes not in slots.SLOT_MINUTES_CHOICES:
            problems.append(
                field_error(
                    "slot_minutes",
                    "invalid_slot_minutes",
                    "Durata dello slot non ammessa: "
                    + ", ".join(map(str, slots.SLOT_MINUTES_CHOICES))
                    + " minuti.",
                )
            )
    new_exceptions = []
    for index, item in enumerate(command.get("add_exceptions") or []):
        try:
            hours = slots.parse_range(item["hours"]) if item.get("hours") else None
        except ValueError as exc:
            problems.append(field_error(f"add_exceptions.{index}.hours", "invalid_hours", str(exc)))
            continue
        if item["kind"] == slots.EXTRA_OPENING and hours is None:
            problems.append(
                field_error(
                    f"add_exceptions.{index}.hours",
                    "hours_required",
                    "Indicare l'orario dell'apertura straordinaria.",
                )
            )
            continue
        new_exceptions.append(
            CalendarException(
                id=uuid.uuid4(),
                punto_id=punto.punto_id,
                day=item["day"],
                kind=item["kind"],
                hours=str(hours) if hours else None,
                reason=(item.get("reason") or "").strip(),
                created_by=caller.sub,
                created_at=now,
            )
        )
    if problems:
        raise InvalidInput.from_errors(problems)
    if command.get("weekly") is not None or command.get("slot_minutes") is not None:
        session.merge(
            PuntoCalendar(
                punto_id=punto.punto_id,
                weekly=weekly,
                slot_minutes=slot_minutes,
                updated_by=caller.sub,
                updated_at=now,
            )
        )
    session.add_all(new_exceptions)
    removed = [uuid.UUID(str(item)) for item in command.get("remove_exceptions") or []]
    if removed:
        session.execute(
            delete(CalendarException).where(
                CalendarException.punto_id == punto.punto_id, CalendarException.id.in_(removed)
            )
        )
    session.flush()
    return views.punto(punto, calendar_of(session, punto), exceptions_of(session, punto.punto_id))


# ---- reminders -------------------------------------------------------------------------------


def emit_due_reminders(session, settings: Settings, now: datetime) -> int:
    """For each lead time, the confirmed bookings starting within it get their reminder, once.

    A lead that had already passed when the booking was made is skipped (a booking made an
    hour ahead gets no "24 hours before"). Rows are locked with SKIP LOCKED and each reminder
    is recorded under a primary key (booking, lead) in the transaction that adds its event:
    of two agenda instances racing, one emits it.
    """
    emitted = 0
    for lead in settings.reminder_leads_minutes:
        window = timedelta(minutes=lead)
        already = exists().where(
            ReminderEmitted.booking_id == Booking.id, ReminderEmitted.lead_minutes == lead
        )
        due = session.scalars(
            select(Booking)
            .where(
                Booking.state == rules.CONFIRMED,
                Booking.slot_start > now,
                Booking.slot_start <= now + window,
                Booking.created_at <= Booking.slot_start - window,
                ~already,
            )
            .order_by(Booking.slot_start)
            .limit(200)
            .with_for_update(skip_locked=True)
        ).all()
        for booking in due:
            recorded = session.execute(
                insert(ReminderEmitted)
                .values(booking_id=booking.id, lead_minutes=lead, emitted_at=now)
                .on_conflict_do_nothing()
                .returning(ReminderEmitted.booking_id)
            ).first()
            if recorded is None:
                continue
            payload = {
                **_facts(booking, now),
                "lead_minutes": lead,
                "room_url": views.room_url(booking, settings.web_meeting_base_url),
            }
            _emit(session, APPOINTMENT_REMINDER_DUE, payload, now, None)
            emitted += 1
    return emitted


# ---- lookups shared with the views ------------------------------------------------------------


def active_punto(session, punto_id: str) -> Punto:
    punto = session.scalar(
        select(Punto).where(Punto.punto_id == str(punto_id), Punto.version_id == active_version_id(session))
    )
    if punto is None:
        raise NotFound("punto_not_found", "Punto di consulenza non trovato.")
    return punto


def exceptions_of(session, punto_id: str) -> list[CalendarException]:
    return session.scalars(
        select(CalendarException)
        .where(CalendarException.punto_id == punto_id)
        .order_by(CalendarException.day)
    ).all()


def calendar_of(session, punto: Punto) -> slots.Calendar:
    """The punto's calendar: the office's pattern if it set one, else the reference data's."""
    override = session.get(PuntoCalendar, punto.punto_id)
    weekly = override.weekly if override else punto.weekly
    slot_minutes = override.slot_minutes if override else punto.slot_minutes
    exceptions = tuple(
        slots.CalendarException(
            day=item.day,
            kind=item.kind,
            hours=slots.parse_range(item.hours) if item.hours else None,
            reason=item.reason,
        )
        for item in exceptions_of(session, punto.punto_id)
    )
    return slots.Calendar(
        weekly=slots.parse_weekly(weekly),
        slot_minutes=slot_minutes,
        exceptions=exceptions,
        patron_day=slots.parse_patron_day(punto.patron_day),
    )


def _visible_booking(session, caller: Caller, booking_id: str, for_update: bool = False) -> Booking:
    statement = select(Booking).where(
        Booking.id == _uuid(booking_id, "appointment_not_found", "Appuntamento non trovato.")
    )
    booking = session.scalar(statement.with_for_update() if for_update else statement)
    if booking is None:
        raise NotFound("appointment_not_found", "Appuntamento non trovato.")
    access.require_appointment_party(caller, views.parties(booking))
    return booking


def _own_booking(session, caller: Caller, booking_id: str, for_update: bool = False) -> Booking:
    access.require_role(caller, access.BOOKER_ROLES)
    return _visible_booking(session, caller, booking_id, for_update)


def find_booking(session, caller: Caller, booking_id: str) -> Booking:
    return _visible_booking(session, caller, booking_id)


def _uuid(value, code: str, detail: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(code, detail) from None


def _facts(booking: Booking, now: datetime) -> dict:
    return {
        "booking_id": booking.id,
        "request_id": booking.request_id,
        "punto_id": booking.punto_id,
        "punto_name": booking.punto_name,
        "punto_address": booking.punto_address,
        "sede": booking.sede,
        "region": booking.region,
        "modality": booking.modality,
        "topic": booking.topic,
        "slot_start": booking.slot_start,
        "slot_end": booking.slot_end,
        "booked_by": booking.booked_by,
        "booked_by_role": booking.booked_by_role,
        "contact": {"email": booking.contact_email, "phone": booking.contact_phone},
        "at": now,
    }


def _emit(session, event_type: str, payload: dict, now: datetime, correlation_id) -> None:
    add_event(
        session,
        make_event(event_type, payload, producer=PRODUCER, correlation_id=correlation_id, occurred_at=now),
    )
