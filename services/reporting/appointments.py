"""Appointments in the read model: a projection of agenda's events and the figures per sede
and modality (how many, how they ended, the no-show rate).

Events may arrive in any order: a booking's row is created by whichever comes first (every
appointment event carries the booking's facts), and its state only moves from ``confirmed``
to a final one, never back. The booking instant (``booked_at``, Customer Care's days to the
appointment) is taken from ``appointment_booked`` alone, whenever it arrives: the other events'
``at`` is the instant of the cancellation or of the outcome. The Rome days of the slot and of
the booking are kept beside the instants, so that the dashboard counts days without converting
every row.
"""

from __future__ import annotations

from sqlalchemy import case, func, select

from services.reporting.models import AppointmentFact
from shared.clock import rome_date
from shared.upsert import insert  # cached compiled SQL (shared/upsert.py)

ROWS = AppointmentFact.__table__
CONFIRMED = "confirmed"
FINAL_STATES = ("held", "no_show", "cancelled_by_requester", "cancelled_by_office")
BOOKED = "appointment_booked"
STATE_OF_EVENT = {
    BOOKED: CONFIRMED,
    "appointment_held": "held",
    "appointment_no_show": "no_show",
}


def record_appointment(session, event) -> None:
    payload = event.payload
    state = STATE_OF_EVENT.get(event.type)
    if state is None:  # appointment_cancelled
        state = "cancelled_by_office" if payload["by"] == "office" else "cancelled_by_requester"
    booked_at = payload["at"] if event.type == BOOKED else None
    statement = insert(AppointmentFact).values(
        booking_id=payload["booking_id"],
        sede=payload["sede"],
        region=payload.get("region"),
        modality=payload["modality"],
        topic=payload["topic"],
        slot_start=payload["slot_start"],
        slot_day=rome_date(payload["slot_start"]),
        state=state,
        updated_at=payload["at"],
        booked_at=booked_at,
        booked_day=rome_date(booked_at) if booked_at else None,
    )
    incoming = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[ROWS.c.booking_id],
        set_={
            # a final state wins over confirmed, whichever arrives first
            "state": case((ROWS.c.state == CONFIRMED, incoming.state), else_=ROWS.c.state),
            # the booking's instant, once known, is never replaced (a cancellation's is NULL)
            "booked_at": func.coalesce(ROWS.c.booked_at, incoming.booked_at),
            "booked_day": func.coalesce(ROWS.c.booked_day, incoming.booked_day),
        },
    )
    session.execute(statement)


def appointments_by_sede(session, sede: str | None = None) -> list[dict]:
    """Per sede and modality: bookings, each final state, and the no-show rate (no-shows over
    the appointments whose outcome was recorded; None before any)."""
    counts = {
        name: func.count().filter(ROWS.c.state == name).label(name) for name in (CONFIRMED, *FINAL_STATES)
    }
    statement = select(ROWS.c.sede, ROWS.c.modality, func.count().label("total"), *counts.values()).group_by(
        ROWS.c.sede, ROWS.c.modality
    )
    if sede:
        statement = statement.where(ROWS.c.sede == sede)
    rows = session.execute(statement.order_by(ROWS.c.sede, ROWS.c.modality)).mappings().all()
    result = []
    for row in rows:
        recorded = row["held"] + row["no_show"]
        result.append(
            {
                **dict(row),
                "no_show_rate": round(row["no_show"] / recorded, 4) if recorded else None,
            }
        )
    return result
