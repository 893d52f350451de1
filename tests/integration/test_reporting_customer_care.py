"""Customer Care on the real PostgreSQL: agenda's events delivered in any order and some twice
keep one row per booking with the booking's instant from ``appointment_booked`` alone; the
dashboard's figures (SQL, grouping sets) equal the rules applied booking by booking to what
the events say, in total, per modality and per sede; a sede known only from its appointments
is placed in its region.

Each test uses sedi and a region of its own (``unique``), so its rows are told apart from those
of other tests sharing the database.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from services.reporting import appointments, customer_care
from services.reporting.models import AppointmentFact
from services.reporting.rules.customer_care import figures_of_rows
from services.reporting.service import allowed_view
from shared.access import Caller, DashboardView
from shared.clock import rome_date
from shared.db import DatabaseAccess
from shared.errors import Forbidden
from shared.events import make_event, parse_event

TODAY = date(2026, 4, 20)
MODALITIES = ("in_person", "phone", "web_meeting")


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("reporting")


def apply(sessions, ev) -> bool:
    return DatabaseAccess(sessions, f"reporting.on_{ev.type}").apply_once(ev, appointments.record_appointment)


class Booking:
    """One booking's events as agenda publishes them, drawn at random: booked, then perhaps
    cancelled (by the requester or the office) or its outcome recorded after the slot."""

    def __init__(self, rng: random.Random, sede: str, region: str):
        self.id = uuid.uuid4()
        self.sede, self.region = sede, region
        self.modality = rng.choice(MODALITIES)
        self.booked_at = datetime(2026, 3, 1, 7, tzinfo=UTC) + timedelta(
            days=rng.randrange(40), minutes=rng.randrange(17 * 60)
        )
        # some late in the evening, so that the Rome day and the UTC day differ
        self.slot_start = (self.booked_at + timedelta(days=rng.randrange(0, 25))).replace(
            hour=rng.choice([6, 8, 13, 22]), minute=30
        )
        if self.slot_start <= self.booked_at:
            self.slot_start += timedelta(days=1)
        self.state = "confirmed"
        self.events = [self._event("appointment_booked", self.booked_at)]
        ending = rng.random()
        if ending < 0.15:
            self._end("appointment_cancelled", self.booked_at + timedelta(hours=1), by="requester")
        elif ending < 0.25:
            self._end("appointment_cancelled", self.booked_at + timedelta(hours=2), by="office")
        elif self.slot_start.date() < TODAY and ending < 0.85:
            kind = "appointment_held" if ending < 0.7 else "appointment_no_show"
            self._end(kind, self.slot_start + timedelta(minutes=40))
        # else: still confirmed (upcoming, or its outcome never recorded)

    def _end(self, event_type, at, **extra):
        self.state = {
            "appointment_held": "held",
            "appointment_no_show": "no_show",
        }.get(event_type) or f"cancelled_by_{extra['by']}"
        self.events.append(self._event(event_type, at, **extra))

    def _event(self, event_type, at, **extra):
        payload = {
            "booking_id": self.id,
            "request_id": None,
            "punto_id": f"{self.sede}-S",
            "punto_name": "Sportello",
            "punto_address": "Via Roma 1",
            "sede": self.sede,
            "region": self.region,
            "modality": self.modality,
            "topic": "pensioni",
            "slot_start": self.slot_start,
            "slot_end": self.slot_start + timedelta(minutes=30),
            "booked_by": "op-1",
            "booked_by_role": "patronato_operatore",
            "contact": {"email": "a@example.it", "phone": None},
            "at": at,
            **extra,
        }
        if event_type == "appointment_booked":
            payload.update(codici_fiscali=["RSSMRA80A01H501U"], room_url=None, rescheduled_from=None)
        if event_type == "appointment_cancelled":
            payload.setdefault("reason", None)
        return parse_event(make_event(event_type, payload, producer="agenda").to_message())

    def as_row(self, booked_known: bool = True):
        return SimpleNamespace(
            state=self.state, slot_start=self.slot_start, booked_at=self.booked_at if booked_known else None
        )


def world(unique: str, bookings: int, seed: int):
    rng = random.Random(seed)
    region = f"Regione {unique}"
    sedi = [f"{unique[:8]}{index}" for index in range(3)]
    return rng, region, sedi, [Booking(rng, rng.choice(sedi), region) for _ in range(bookings)]


def delivered_in_any_order_with_duplicates(rng, stories) -> list:
    events = [ev for story in stories for ev in story.events]
    events += rng.sample(events, len(events) // 4)
    rng.shuffle(events)
    return events


def in_period(story, first: date, last: date) -> bool:
    return first <= rome_date(story.slot_start) <= last


@pytest.mark.parametrize("seed", [1, 2])
def test_the_figures_equal_the_rules_booking_by_booking_for_any_order_and_duplicates(sessions, unique, seed):
    rng, region, sedi, stories = world(unique, bookings=80, seed=seed)
    # one booking whose appointment_booked has not arrived: its booking day is unknown
    withheld = next(story for story in stories if len(story.events) > 1)
    withheld.events = withheld.events[1:]
    events = delivered_in_any_order_with_duplicates(rng, stories)

    applied = [apply(sessions, ev) for ev in events]

    assert applied.count(True) == sum(len(story.events) for story in stories)
    with sessions() as session:
        rows = {
            row.booking_id: row
            for row in session.scalars(
                select(AppointmentFact).where(AppointmentFact.booking_id.in_([s.id for s in stories]))
            )
        }
    for story in stories:
        assert rows[story.id].state == story.state
        assert rows[story.id].booked_at == (None if story is withheld else story.booked_at)

    first, last = date(2026, 3, 10), date(2026, 4, 30)  # past TODAY: upcoming ones too
    expected_rows = {
        story.id: story.as_row(booked_known=rows[story.id].booked_at is not None)
        for story in stories
        if in_period(story, first, last)
    }
    query = {"from_day": first, "to_day": last}
    with sessions() as session:
        regional = customer_care.customer_care(session, DashboardView("region", region), query, TODAY)
        one_sede = customer_care.customer_care(session, DashboardView("sede", sedi[0], region), query, TODAY)
        phone = customer_care.customer_care(
            session, DashboardView("region", region), {**query, "modality": "phone"}, TODAY
        )

    def expected(which) -> dict:
        return figures_of_rows([row for story_id, row in expected_rows.items() if which(story_id)], TODAY)

    by_id = {story.id: story for story in stories}
    assert regional["totals"] == expected(lambda _: True)
    assert regional["totals"]["booked"] == len(expected_rows) > 0
    assert one_sede["totals"] == expected(lambda i: by_id[i].sede == sedi[0])
    assert one_sede["children"] == []
    children = {child["code"]: child for child in regional["children"]}
    for sede in sedi:
        figures = expected(lambda i, sede=sede: by_id[i].sede == sede)
        if figures["booked"]:
            child = children.pop(sede)
            assert (child["level"], {k: child[k] for k in figures}) == ("sede", figures)
    assert children == {}
    for item in regional["modalities"]:
        assert {k: item[k] for k in item if k != "modality"} == expected(
            lambda i, m=item["modality"]: by_id[i].modality == m
        )
    assert phone["totals"] == expected(lambda i: by_id[i].modality == "phone")
    assert [item["modality"] for item in phone["modalities"]] in ([], ["phone"])


def test_the_booking_instant_comes_from_appointment_booked_whatever_arrives_first(sessions, unique):
    story = Booking(random.Random(3), unique, f"Regione {unique}")
    story._end("appointment_cancelled", story.booked_at + timedelta(days=1), by="office")
    cancelled, booked = story.events[1], story.events[0]

    apply(sessions, cancelled)
    with sessions() as session:
        before = session.get(AppointmentFact, story.id)
        assert (before.state, before.booked_at, before.booked_day) == ("cancelled_by_office", None, None)
        assert before.slot_day == rome_date(story.slot_start)
    apply(sessions, booked)
    apply(sessions, booked)  # redelivered: refused by the inbox

    with sessions() as session:
        after = session.get(AppointmentFact, story.id)
        assert (after.state, after.booked_at) == ("cancelled_by_office", story.booked_at)
        assert after.booked_day == rome_date(story.booked_at)


def test_a_sede_known_only_from_its_appointments_is_placed_in_its_region(sessions, unique):
    region = f"Regione {unique}"
    sede = f"x{unique[:9]}"
    story = Booking(random.Random(4), sede, region)
    apply(sessions, story.events[0])
    regional = Caller.from_claims({"sub": "d", "role": "direttore", "regione": region})
    other = Caller.from_claims({"sub": "d", "role": "direttore", "regione": "Molise"})

    with sessions() as session:
        view = allowed_view(session, regional, {"level": "sede", "code": sede})
        assert view == DashboardView("sede", sede, region)
        with pytest.raises(Forbidden):
            allowed_view(session, other, {"level": "sede", "code": sede})
