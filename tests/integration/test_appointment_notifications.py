"""Agenda's events consumed: notify's confirmation (with the .ics, through the real SMTP sink),
the office's cancellation, reminders (SMS recorded as skipped for companies), the closing
e-mail that offers booking only when it is possible; reporting's counts per sede and modality.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from deploy.local.smtp_sink import read_mails
from services.notify import use_cases as notify
from services.notify.mailer import SmtpMailer, SmtpSettings
from services.notify.models import Delivery
from services.reporting import appointments as reporting
from shared.clock import FixedClock
from shared.db import DatabaseAccess
from shared.events import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_HELD,
    APPOINTMENT_NO_SHOW,
    APPOINTMENT_REMINDER_DUE,
    REQUEST_CLOSED,
    make_event,
    parse_event,
)
from tests.integration.helpers import notify_and_dispatch, submitted_event

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
START = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


class FakeMailer:
    def __init__(self):
        self.sent = []

    def send(self, envelope):
        self.sent.append((envelope.to, envelope.subject, envelope.body, envelope.attachments))
        return f"<{envelope.delivery_id}@test>"


def facts(
    booking_id=None,
    sede="0704",
    modality="web_meeting",
    email="op@patronato.example",
    role="patronato_operatore",
):
    return {
        "booking_id": booking_id or uuid.uuid4(),
        "request_id": None,
        "punto_id": f"{sede}-S",
        "punto_name": "Direzione provinciale di Roma: punto di consulenza",
        "punto_address": "Via della Sede 0704, Roma",
        "sede": sede,
        "region": "Lazio",
        "modality": modality,
        "topic": "pensioni",
        "slot_start": START,
        "slot_end": START + timedelta(minutes=30),
        "booked_by": "op-1",
        "booked_by_role": role,
        "contact": {"email": email, "phone": "+393331234567"},
        "at": NOW,
    }


def event(event_type, payload):
    return parse_event(make_event(event_type, payload, producer="agenda").to_message())


def booked(**overrides):
    payload = {
        **facts(**overrides),
        "codici_fiscali": ["RSSMRA85T10A562S"],
        "room_url": "https://meet.inps.example/combid/tok123",
        "rescheduled_from": None,
    }
    return event(APPOINTMENT_BOOKED, payload)


@pytest.fixture(scope="module")
def notify_sessions(database_sessions):
    return database_sessions("notify")


@pytest.fixture(scope="module")
def reporting_sessions(database_sessions):
    return database_sessions("reporting")


def apply(sessions, handler, evt, mailer):
    channels = {"email": mailer}
    return notify_and_dispatch(sessions, handler.__name__, handler, evt, channels, FixedClock(NOW))


def deliveries(sessions, evt):
    with sessions() as session:
        return session.scalars(
            select(Delivery).where(Delivery.event_id == uuid.UUID(evt.event_id)).order_by(Delivery.channel)
        ).all()


def test_confirmation_mail_carries_the_ics_and_the_room(notify_sessions, infra):
    address = f"op.{secrets.token_hex(4)}@patronato.example"
    evt = booked(email=address)

    apply(
        notify_sessions,
        notify.notify_appointment_booked,
        evt,
        SmtpMailer(SmtpSettings("127.0.0.1", infra.smtp_port)),
    )

    (mail,) = [mail for mail in read_mails(infra.maildir) if mail["To"] == address]
    assert mail["Subject"].startswith("Appuntamento confermato")
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "https://meet.inps.example/combid/tok123" in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == f"appuntamento-{evt.payload['booking_id']}.ics"
    ics = attachment.get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert "BEGIN:VEVENT" in ics and "DTSTART:20261130T083000Z" in ics
    assert [row.channel for row in deliveries(notify_sessions, evt)] == ["email", "sms"]
    assert deliveries(notify_sessions, evt)[0].status == "sent"


def test_only_the_offices_cancellation_is_told(notify_sessions):
    mailer = FakeMailer()
    by_requester = event(APPOINTMENT_CANCELLED, {**facts(), "by": "requester", "reason": None})
    apply(notify_sessions, notify.notify_appointment_cancelled, by_requester, mailer)
    assert mailer.sent == []
    by_office = event(
        APPOINTMENT_CANCELLED, {**facts(), "by": "office", "reason": "Sede chiusa per sciopero"}
    )
    apply(notify_sessions, notify.notify_appointment_cancelled, by_office, mailer)
    (sent,) = mailer.sent
    assert "annullato" in sent[1] and "Sede chiusa per sciopero" in sent[2]


def test_reminders_by_mail_and_by_sms_to_the_phone_given_with_the_booking(notify_sessions):
    mailer = FakeMailer()
    company = event(
        APPOINTMENT_REMINDER_DUE, {**facts(role="azienda"), "lead_minutes": 1440, "room_url": None}
    )
    apply(notify_sessions, notify.notify_appointment_reminder, company, mailer)
    assert [row.channel for row in deliveries(notify_sessions, company)] == ["email", "sms"]
    no_phone = {**facts(), "contact": {"email": "op@patronato.example", "phone": None}}
    patronato = event(APPOINTMENT_REMINDER_DUE, {**no_phone, "lead_minutes": 120, "room_url": None})
    apply(notify_sessions, notify.notify_appointment_reminder, patronato, mailer)
    assert [row.channel for row in deliveries(notify_sessions, patronato)] == ["email"]
    assert all(sent[1].startswith("Promemoria appuntamento") for sent in mailer.sent)


def submitted(request_id):
    return submitted_event(request_id=request_id, submitted_at=NOW)


@pytest.mark.parametrize(
    "enabled, possible, offered",
    [
        (False, False, False),
        (False, True, True),
        (True, True, True),
        (False, None, False),
        (True, None, True),
    ],
)
def test_the_closing_mail_offers_booking_only_when_possible(notify_sessions, enabled, possible, offered):
    request_id, mailer = uuid.uuid4(), FakeMailer()
    apply(notify_sessions, notify.notify_protocol_registered, submitted(request_id), mailer)
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.00000001",
        "actor": "off-1",
        "actor_role": "sede_operatore",
        "at": NOW,
        "comment": None,
        "outcome": "Pratica definita",
        "booking_enabled": enabled,
        "booking_possible": possible,
    }
    closing = parse_event(make_event(REQUEST_CLOSED, payload, producer="intake").to_message())
    apply(notify_sessions, notify.notify_request_closed, closing, mailer)
    body = mailer.sent[-1][2]
    assert ("Prenota" in body) is offered


def test_reporting_counts_appointments_per_sede_and_modality(reporting_sessions):
    sede = f"9{secrets.randbelow(1000):03d}"
    ids = [uuid.uuid4() for _ in range(4)]
    outcome_events = [
        event(APPOINTMENT_HELD, {**facts(ids[0], sede=sede, modality="in_person"), "note": None}),
        event(APPOINTMENT_NO_SHOW, {**facts(ids[1], sede=sede, modality="in_person"), "note": None}),
        event(
            APPOINTMENT_CANCELLED,
            {**facts(ids[2], sede=sede, modality="phone"), "by": "office", "reason": "x"},
        ),
    ]
    bookings = [
        booked(booking_id=booking_id, sede=sede, modality=modality)
        for booking_id, modality in zip(ids, ("in_person", "in_person", "phone", "phone"), strict=True)
    ]
    db = DatabaseAccess(reporting_sessions, "reporting.appointments")
    # an outcome may arrive before its booking: the final state still wins
    for evt in [outcome_events[0], *bookings, *outcome_events[1:]]:
        db.apply_once(evt, reporting.record_appointment)

    with reporting_sessions() as session:
        rows = {row["modality"]: row for row in reporting.appointments_by_sede(session, sede)}
    assert (rows["in_person"]["total"], rows["in_person"]["held"], rows["in_person"]["no_show"]) == (2, 1, 1)
    assert rows["in_person"]["no_show_rate"] == 0.5
    assert (rows["phone"]["total"], rows["phone"]["cancelled_by_office"], rows["phone"]["confirmed"]) == (
        2,
        1,
        1,
    )
    assert rows["phone"]["no_show_rate"] is None


# ---- on the real broker: agenda books, its outbox publishes, notify and reporting consume -------


def test_a_booking_reaches_notify_and_reporting_through_the_broker(
    infra, container_factory, service_config, database_sessions
):
    from nameko.standalone.rpc import ClusterRpcClient
    from nameko.testing.services import entrypoint_waiter

    from services.agenda.reference import store
    from services.agenda.reference.dataset import SAMPLE_DIR, read_punti
    from services.agenda.service import AgendaService
    from services.notify.service import NotifyService
    from services.reporting.service import ReportingService
    from tests.integration.helpers import about

    with database_sessions("agenda").begin() as session:
        if store.active_version_id(session) is None:
            store.apply_punti(session, read_punti(SAMPLE_DIR)[0], "test sample", NOW)
    containers = {}
    for service_class in (NotifyService, ReportingService, AgendaService):
        containers[service_class.name] = container_factory(service_class, service_config(service_class.name))
        containers[service_class.name].start()
    address = f"op.{secrets.token_hex(4)}@patronato.example"
    caller = {
        "sub": f"op-{secrets.token_hex(4)}",
        "role": "patronato_operatore",
        "patronato": "001",
        "ufficio": "0001",
    }

    with ClusterRpcClient({"AMQP_URI": infra.amqp_uri}) as rpc:
        today = datetime.now(UTC).date()
        free = rpc.agenda.availability(
            caller,
            {"punto_id": "0101-S", "from": today.isoformat(), "to": (today + timedelta(days=20)).isoformat()},
        )
        command = {
            "punto_id": "0101-S",
            "slot_start": free["slots"][-1]["start"],
            "modality": "phone",
            "topic": "pensioni",
            "codici_fiscali": ["RSSMRA85T10A562S"],
            "contact": {"email": address},
            "motivazione": "Chiarimenti sulla domanda di pensione",
        }
        with (
            entrypoint_waiter(
                containers["notify"], "on_appointment_booked", callback=about(booked_by=caller["sub"])
            ),
            entrypoint_waiter(
                containers["reporting"], "on_appointment_booked", callback=about(booked_by=caller["sub"])
            ),
        ):
            booking = rpc.agenda.book(caller, command)
        assert booking["state"] == "confirmed"
        figures = {row["modality"]: row for row in rpc.reporting.appointments_by_sede("0101")}
        assert figures["phone"]["confirmed"] >= 1
    (mail,) = [mail for mail in infra.mails() if mail["To"] == address]
    assert any(part.get_content_type() == "text/calendar" for part in mail.iter_attachments())
