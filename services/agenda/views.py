"""Agenda's read side: punti, availability, a booking's detail and its iCalendar, the lists of
the bookers and the day/week view of the offices. Plain functions of a session and rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from services.agenda.models import Booking, BookingCitizen, Punto
from services.agenda.reference.store import active_version_id
from services.agenda.rules import booking as rules
from services.agenda.rules import slots
from shared import access, appointment_ics
from shared.access import Caller
from shared.clock import ROME, rome_date


def parties(booking: Booking) -> access.AppointmentParties:
    return access.AppointmentParties(booked_by=booking.booked_by, sede=booking.sede, region=booking.region)


def room_url(booking: Booking, base_url: str) -> str | None:
    """The web meeting room: the configured base and the booking's unguessable token."""
    if booking.modality != rules.WEB_MEETING or not booking.room_token:
        return None
    return f"{base_url.rstrip('/')}/{booking.room_token}"


def _may_enter_room(caller: Caller, booking: Booking) -> bool:
    """The booker and the office (officials of the sede, admins): not a director looking on."""
    if caller.role == "admin":
        return True
    if caller.role in access.BOOKER_ROLES:
        return caller.sub == booking.booked_by
    return caller.is_official and caller.sede == booking.sede


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def summary(booking: Booking) -> dict:
    return {
        "id": str(booking.id),
        "punto_id": booking.punto_id,
        "punto_name": booking.punto_name,
        "sede": booking.sede,
        "slot_start": _instant(booking.slot_start),
        "slot_end": _instant(booking.slot_end),
        "modality": booking.modality,
        "topic": booking.topic,
        "state": booking.state,
        "codici_fiscali": [citizen.codice_fiscale for citizen in booking.citizens],
        "request_id": str(booking.request_id) if booking.request_id else None,
    }


def detail(booking: Booking, caller: Caller, base_url: str) -> dict:
    return {
        **summary(booking),
        "punto_address": booking.punto_address,
        "region": booking.region,
        "booked_by": booking.booked_by,
        "booked_by_role": booking.booked_by_role,
        "booked_by_name": booking.booked_by_name,
        "matricola": booking.matricola,
        "motivazione": booking.motivazione,
        "contact": {"email": booking.contact_email, "phone": booking.contact_phone},
        "attachments": list(booking.attachment_ids or []),
        "room_url": room_url(booking, base_url) if _may_enter_room(caller, booking) else None,
        "rescheduled_from": str(booking.rescheduled_from) if booking.rescheduled_from else None,
        "created_at": _instant(booking.created_at),
        "cancelled_at": _instant(booking.cancelled_at),
        "cancel_reason": booking.cancel_reason,
        "outcome_at": _instant(booking.outcome_at),
        "outcome_note": booking.outcome_note,
    }


# ---- punti and availability -------------------------------------------------------------------


def punto(row: Punto, calendar: slots.Calendar, exceptions=()) -> dict:
    return {
        "punto_id": row.punto_id,
        "sede": row.sede,
        "region": row.region,
        "kind": row.kind,
        "name": row.name,
        "address": row.address,
        "comune": row.comune,
        "modalities": list(row.modalities),
        "topics": list(row.topics),
        "weekly": slots.format_weekly(calendar.weekly),
        "slot_minutes": calendar.slot_minutes,
        "patron_day": row.patron_day,
        "exceptions": [
            {
                "id": str(item.id),
                "day": item.day.isoformat(),
                "kind": item.kind,
                "hours": item.hours,
                "reason": item.reason,
            }
            for item in exceptions
        ],
    }


def list_punti(session, calendar_of, filters: dict) -> list[dict]:
    statement = select(Punto).where(Punto.version_id == active_version_id(session))
    if filters.get("sede"):
        statement = statement.where(Punto.sede == filters["sede"])
    rows = session.scalars(statement.order_by(Punto.sede, Punto.punto_id).limit(500)).all()
    return [
        punto(row, calendar_of(session, row))
        for row in rows
        if (not filters.get("modality") or filters["modality"] in row.modalities)
        and (not filters.get("topic") or filters["topic"] in row.topics)
    ]


def taken_slots(session, punto_id: str, first: datetime, last: datetime) -> set[datetime]:
    return set(
        session.scalars(
            select(Booking.slot_start).where(
                Booking.punto_id == punto_id,
                Booking.state == rules.CONFIRMED,
                Booking.slot_start >= first,
                Booking.slot_start <= last,
            )
        ).all()
    )


def availability(session, row: Punto, calendar: slots.Calendar, filters: dict, now: datetime) -> dict:
    """The free slots of a punto from ``from`` to ``to`` (Rome days, at most 62): derived from
    its calendar, minus the confirmed bookings and the slots already started."""
    first_day, last_day = filters["from_day"], filters["to_day"]
    slots.check_range(first_day, last_day)
    offered = (not filters.get("modality") or filters["modality"] in row.modalities) and (
        not filters.get("topic") or filters["topic"] in row.topics
    )
    derived = slots.slots_between(calendar, first_day, last_day) if offered else []
    taken = taken_slots(session, row.punto_id, derived[0], derived[-1]) if derived else set()
    length = timedelta(minutes=calendar.slot_minutes)
    free = [start for start in derived if start > now and start not in taken]
    return {
        "punto": punto(row, calendar),
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "slot_minutes": calendar.slot_minutes,
        "slots": [{"start": _instant(start), "end": _instant(start + length)} for start in free],
    }


# ---- lists --------------------------------------------------------------------------------


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=ROME)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=ROME)
    return start.astimezone(UTC), end.astimezone(UTC)


def search(session, caller: Caller, filters: dict, now: datetime) -> dict:
    """A booker's own bookings, an office's (sede, region, country) ones. Without a date, the
    upcoming confirmed ones ("Home": the appointments in corso)."""
    scope = access.appointment_scope(caller)
    statement = select(Booking)
    if scope is None:
        statement = statement.where(Booking.booked_by == caller.sub)
    else:
        statement = statement.where(
            access.sql_condition(scope, {"assigned_sede": Booking.sede, "assigned_region": Booking.region})
        )
    if filters.get("from_day") or filters.get("to_day"):
        first = filters.get("from_day") or date(1900, 1, 1)
        last = filters.get("to_day") or date(2100, 12, 31)
        start, end = _day_bounds(first, last)
        statement = statement.where(Booking.slot_start >= start, Booking.slot_start < end)
    else:
        statement = statement.where(Booking.slot_start >= now)
        if not filters.get("state"):
            statement = statement.where(Booking.state == rules.CONFIRMED)
    if filters.get("state"):
        statement = statement.where(Booking.state == filters["state"])
    if filters.get("codice_fiscale"):
        statement = statement.where(
            Booking.id.in_(
                select(BookingCitizen.booking_id).where(
                    BookingCitizen.codice_fiscale == filters["codice_fiscale"].upper()
                )
            )
        )
    if filters.get("punto_id"):
        statement = statement.where(Booking.punto_id == filters["punto_id"])
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    page, size = filters.get("page", 1), filters.get("page_size", 20)
    rows = session.scalars(
        statement.order_by(Booking.slot_start, Booking.id).offset((page - 1) * size).limit(size)
    ).all()
    return {"items": [summary(row) for row in rows], "total": total, "page": page, "page_size": size}


def day_view(session, row: Punto, calendar: slots.Calendar, first_day: date, days: int) -> dict:
    """An office's view of a punto for a day or a week: every slot, free or with its booking."""
    last_day = first_day + timedelta(days=days - 1)
    start, end = _day_bounds(first_day, last_day)
    bookings = session.scalars(
        select(Booking)
        .where(Booking.punto_id == row.punto_id, Booking.slot_start >= start, Booking.slot_start < end)
        .order_by(Booking.slot_start)
    ).all()
    by_start: dict[datetime, list[Booking]] = {}
    for booking in bookings:
        by_start.setdefault(booking.slot_start, []).append(booking)
    length = timedelta(minutes=calendar.slot_minutes)
    result_days = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        derived = slots.day_slots(calendar, day)
        starts = sorted(set(derived) | {start for start in by_start if rome_date(start) == day})
        result_days.append(
            {
                "day": day.isoformat(),
                "holiday": slots.closed_for(day, calendar.patron_day),
                "slots": [
                    {
                        "start": _instant(start),
                        "end": _instant(start + length),
                        "offered": start in derived,
                        "bookings": [
                            {
                                **summary(booking),
                                "booked_by_name": booking.booked_by_name,
                                "motivazione": booking.motivazione,
                                "contact": {"email": booking.contact_email, "phone": booking.contact_phone},
                            }
                            for booking in by_start.get(start, [])
                        ],
                    }
                    for start in starts
                ],
            }
        )
    return {"punto_id": row.punto_id, "name": row.name, "days": result_days}


# ---- iCalendar ----------------------------------------------------------------------------


def ics(booking: Booking, caller: Caller, base_url: str) -> dict:
    """The booking as an iCalendar file, for a download (notify builds the same from the event)."""
    facts = {
        "booking_id": booking.id,
        "punto_name": booking.punto_name,
        "punto_address": booking.punto_address,
        "modality": booking.modality,
        "topic": booking.topic,
        "slot_start": booking.slot_start,
        "slot_end": booking.slot_end,
        "motivazione": booking.motivazione,
        "stamped_at": booking.updated_at,
    }
    link = room_url(booking, base_url) if _may_enter_room(caller, booking) else None
    return {
        "filename": appointment_ics.filename(booking.id),
        "content_type": "text/calendar; charset=utf-8",
        "content": appointment_ics.appointment_ics(facts, link, booking.state),
    }
