"""Notify's handlers on the real PostgreSQL test database, with a fake mailer or the real SMTP sink.

Each test uses its own request ids, so tests share the module's database without cleanup.
"""

from __future__ import annotations

import smtplib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from deploy.local.smtp_sink import read_mails
from services.notify import use_cases
from services.notify.dispatch import Dispatcher, RetryPolicy, lease_due
from services.notify.mailer import PermanentDeliveryError, SmtpMailer, SmtpSettings
from services.notify.models import Delivery, RequestContact
from services.notify.service import NotifyService
from services.notify.sms import NO_SMS_PROVIDER, UnconfiguredSmsGateway
from shared.clock import FixedClock
from shared.consumer import RetryLater
from shared.db import DatabaseAccess
from shared.events import (
    OUTBOUND_MESSAGE_SENT,
    REQUEST_CLOSED,
    REQUEST_ROUTED,
    REQUEST_SUBMITTED,
    make_event,
    parse_event,
)
from tests.integration.helpers import notify_and_dispatch, submitted_event

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("notify")


class FakeMailer:
    def __init__(self, fail_with: Exception | None = None):
        self.sent: list[tuple[str, str, str]] = []
        self.fail_with = fail_with

    def send(self, envelope):
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((envelope.to, envelope.subject, envelope.body))
        return f"<{envelope.delivery_id}@test>"


def submitted(request_id=None, email="mario.rossi@example.it", sms=None):
    return submitted_event(
        request_id=request_id or uuid.uuid4(), contacts={"email": email, "sms": sms}, submitted_at=NOW
    )


def routed(request_id, kind="sede", code="7000", name="Direzione provinciale di Roma"):
    payload = {
        "request_id": request_id,
        "assignment": {"kind": kind, "code": code, "name": name, "reason": "CAP 00184", "queue": "pensioni"},
        "rule": "cap_to_sede",
        "reference_version": "sample-1",
        "decided_at": NOW + timedelta(seconds=5),
    }
    return parse_event(make_event(REQUEST_ROUTED, payload, producer="routing").to_message())


def apply(sessions, consumer, handler, event, mailer, clock=None):
    """What the service entrypoint does: the handler inside the inbox's unit of work, then
    the dispatcher sends what it queued."""
    return notify_and_dispatch(
        sessions, consumer, handler, event, {"email": mailer}, clock or FixedClock(NOW)
    )


def on_submitted(sessions, event, mailer):
    return apply(sessions, "on_request_submitted", use_cases.notify_protocol_registered, event, mailer)


def on_routed(sessions, event, mailer):
    return apply(sessions, "on_request_routed", use_cases.notify_request_routed, event, mailer)


def deliveries(sessions, request_id):
    with sessions() as session:
        return session.scalars(
            select(Delivery).where(Delivery.request_id == request_id).order_by(Delivery.channel)
        ).all()


def test_submitted_sends_email_and_records_delivery(sessions):
    event, mailer = submitted(), FakeMailer()

    on_submitted(sessions, event, mailer)

    ((to, subject, body),) = mailer.sent
    assert to == "mario.rossi@example.it"
    assert subject == f"Richiesta protocollata n. {event.payload['protocol']}"
    assert event.payload["protocol"] in body and "sollecito_domanda" in body
    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.channel, delivery.status, delivery.recipient) == ("email", "sent", to)
    assert delivery.template == "protocol_registered"
    assert str(delivery.event_id) == event.event_id
    assert delivery.sent_at == NOW and delivery.error is None


def test_same_event_twice_sends_and_records_once(sessions):
    event, mailer = submitted(), FakeMailer()

    assert on_submitted(sessions, event, mailer) is True
    assert on_submitted(sessions, event, mailer) is False

    assert len(mailer.sent) == 1
    assert len(deliveries(sessions, event.payload["request_id"])) == 1


def test_submission_resent_under_a_new_event_id_sends_nothing(sessions):
    # intake's sweep re-publishes request_submitted of an unrouted request with a new event id
    first, mailer = submitted(), FakeMailer()
    resent = parse_event(make_event(REQUEST_SUBMITTED, dict(first.payload), producer="intake").to_message())
    assert resent.event_id != first.event_id

    assert on_submitted(sessions, first, mailer) is True
    assert on_submitted(sessions, resent, mailer) is True

    assert len(mailer.sent) == 1
    assert [d.event_id for d in deliveries(sessions, first.payload["request_id"])] == [
        uuid.UUID(first.event_id)
    ]


def test_no_email_records_skipped_delivery(sessions):
    event, mailer = submitted(email=None), FakeMailer()

    on_submitted(sessions, event, mailer)

    assert mailer.sent == []
    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.channel, delivery.status, delivery.recipient) == ("email", "skipped", None)
    assert delivery.error == use_cases.NO_EMAIL


def test_sms_is_recorded_as_skipped_without_provider(sessions):
    event, mailer = submitted(sms="+393331234567"), FakeMailer()

    on_submitted(sessions, event, mailer)

    email, sms = deliveries(sessions, event.payload["request_id"])
    assert email.status == "sent"
    assert (sms.channel, sms.status, sms.recipient, sms.error) == (
        "sms",
        "skipped",
        "+393331234567",
        "provider SMS non configurato",
    )


def test_routed_names_the_sede(sessions):
    submission, mailer = submitted(), FakeMailer()
    on_submitted(sessions, submission, mailer)

    on_routed(sessions, routed(submission.payload["request_id"]), mailer)

    to, subject, body = mailer.sent[-1]
    assert subject.endswith("inoltrata alla sede")
    assert "Direzione provinciale di Roma (codice 7000)" in body
    templates = sorted(d.template for d in deliveries(sessions, submission.payload["request_id"]))
    assert templates == ["protocol_registered", "request_routed"]


def test_routed_before_submitted_raises_and_changes_nothing(sessions):
    submission, mailer = submitted(), FakeMailer()
    routing = routed(submission.payload["request_id"])

    with pytest.raises(RetryLater):
        on_routed(sessions, routing, mailer)
    assert deliveries(sessions, submission.payload["request_id"]) == []

    # the retry, once the submission has arrived, goes through (the inbox did not keep the failed try)
    on_submitted(sessions, submission, mailer)
    assert on_routed(sessions, routing, mailer) is True
    assert len(mailer.sent) == 2


def test_smtp_failure_keeps_the_delivery_queued_and_a_later_attempt_sends_it(sessions):
    event = submitted()
    down = FakeMailer(fail_with=smtplib.SMTPServerDisconnected("down"))

    # the event is applied (contacts kept) and the e-mail waits, backed off, for the next try
    assert on_submitted(sessions, event, down) is True
    with sessions() as session:
        assert session.get(RequestContact, event.payload["request_id"]) is not None
    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert delivery.next_attempt_at == NOW + timedelta(seconds=5)
    assert delivery.error.startswith("SMTPServerDisconnected")

    mailer = FakeMailer()
    too_early = Dispatcher(sessions, {"email": mailer}, FixedClock(NOW + timedelta(seconds=4)), RetryPolicy())
    assert too_early.dispatch([delivery.id]) == 0
    later = FixedClock(NOW + timedelta(seconds=6))
    assert Dispatcher(sessions, {"email": mailer}, later, RetryPolicy()).dispatch([delivery.id]) == 1
    assert Dispatcher(sessions, {"email": mailer}, later, RetryPolicy()).dispatch([delivery.id]) == 0

    assert len(mailer.sent) == 1
    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, None)
    assert delivery.sent_at == later.now()


def test_transient_failures_past_the_retry_window_fail_with_the_reason(sessions):
    event = submitted()
    down = FakeMailer(fail_with=ConnectionRefusedError(111, "Connection refused"))
    on_submitted(sessions, event, down)
    (delivery,) = deliveries(sessions, event.payload["request_id"])

    an_hour_later = FixedClock(NOW + timedelta(seconds=3600))
    Dispatcher(sessions, {"email": down}, an_hour_later, RetryPolicy()).dispatch([delivery.id])

    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert delivery.error.startswith("tentativi esauriti dopo 2: ConnectionRefusedError")


def queue_only(sessions, event, clock) -> list:
    """The submission applied, its e-mail queued and not dispatched: the ids queued."""
    queued = []
    DatabaseAccess(sessions, "notify.on_request_submitted").apply_once(
        event,
        lambda session, event: queued.extend(
            use_cases.notify_protocol_registered(session, event, clock=clock)
        ),
    )
    return queued


def test_a_leased_delivery_waits_for_its_lease_to_run_out(sessions):
    """A sender that died between leasing and recording: nobody else sends the row until
    the lease runs out; then it is sent once more (same delivery id, same Message-ID)."""
    event = submitted()
    clock = FixedClock(NOW)
    queued = queue_only(sessions, event, clock)
    with sessions.begin() as session:
        (leased,) = lease_due(session, NOW, RetryPolicy(), queued)  # ...and the sender dies

    mailer = FakeMailer()
    assert Dispatcher(sessions, {"email": mailer}, clock, RetryPolicy()).dispatch(queued) == 0
    after_lease = FixedClock(NOW + timedelta(seconds=RetryPolicy().lease_seconds))
    assert Dispatcher(sessions, {"email": mailer}, after_lease, RetryPolicy()).dispatch(queued) == 1
    assert [to for to, _, _ in mailer.sent] == ["mario.rossi@example.it"]
    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.id, delivery.status, delivery.attempts) == (leased.id, "sent", 2)


class FlakySessions:
    """A sessionmaker whose next ``failures`` transactions fail as during a database restart."""

    def __init__(self, sessions, failures):
        self.sessions, self.failures = sessions, failures

    def begin(self):
        if self.failures:
            self.failures -= 1
            raise OperationalError("UPDATE deliveries", {}, Exception("server closed the connection"))
        return self.sessions.begin()


def test_the_outcome_of_a_send_is_recorded_through_a_database_restart(sessions):
    event = submitted()
    clock = FixedClock(NOW)
    queued = queue_only(sessions, event, clock)
    with sessions.begin() as session:
        (leased,) = lease_due(session, NOW, RetryPolicy(), queued)
        session.expunge(leased)
    pauses = []
    dispatcher = Dispatcher(
        FlakySessions(sessions, failures=3), {"email": FakeMailer()}, clock, RetryPolicy()
    )
    dispatcher.sleep = pauses.append

    dispatcher._send(leased)

    assert pauses == [0.2, 0.4, 0.8]  # backed off, then recorded: the row will not be sent again
    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert delivery.status == "sent"


def test_address_refused_for_good_is_recorded_as_failed(sessions):
    event = submitted(email="nessuno@example.it")

    on_submitted(sessions, event, FakeMailer(fail_with=PermanentDeliveryError("550 no such user")))

    (delivery,) = deliveries(sessions, event.payload["request_id"])
    assert (delivery.status, delivery.error, delivery.sent_at) == ("failed", "550 no such user", None)


def test_service_entrypoints_and_deliveries_rpc(sessions):
    mailer, event = FakeMailer(), submitted(sms="+393331234567")
    service = worker_factory(
        NotifyService,
        db=DatabaseAccess(sessions, "notify.on_request_submitted"),
        mailer=mailer,
        sms=UnconfiguredSmsGateway(),  # no SMS provider: the SMS is recorded as skipped
        clock=FixedClock(NOW),
    )

    service.on_request_submitted(event)
    service.on_request_submitted(event)

    listed = service.deliveries_for(str(event.payload["request_id"]))
    assert [(d["channel"], d["status"]) for d in listed] == [("email", "sent"), ("sms", "skipped")]
    assert listed[0]["sent_at"] == NOW.isoformat()
    assert service.deliveries_for(str(uuid.uuid4())) == []


def test_the_timer_sends_what_an_smtp_outage_left_queued(sessions):
    address = f"anna.{uuid.uuid4().hex[:8]}@example.it"
    event = submitted(email=address)
    down = worker_factory(
        NotifyService,
        db=DatabaseAccess(sessions, "notify.on_request_submitted"),
        mailer=FakeMailer(fail_with=smtplib.SMTPConnectError(421, "down")),
        clock=FixedClock(NOW),
    )
    down.on_request_submitted(event)
    assert [d["status"] for d in down.deliveries_for(str(event.payload["request_id"]))] == ["queued"]

    mailer = FakeMailer()
    back = worker_factory(
        NotifyService,
        db=DatabaseAccess(sessions, "notify.send_due_deliveries"),
        mailer=mailer,
        clock=FixedClock(NOW + timedelta(seconds=10)),
    )
    back.send_due_deliveries()
    back.send_due_deliveries()

    assert [to for to, _, _ in mailer.sent].count(address) == 1
    listed = back.deliveries_for(str(event.payload["request_id"]))
    assert [(d["status"], d["attempts"]) for d in listed] == [("sent", 2)]


@pytest.fixture
def smtp_sink(infra):
    """The session's SMTP sink; tests use unique addresses and read back only their mails."""
    return infra.smtp_port, infra.maildir


def plain_text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def mails_to(maildir, *addresses):
    return [mail for mail in read_mails(maildir) if mail["To"] in addresses]


def test_real_smtp_delivery_reads_back(sessions, smtp_sink):
    port, maildir = smtp_sink
    address = f"anna.{uuid.uuid4().hex[:8]}@example.it"
    event = submitted(email=address)

    on_submitted(sessions, event, SmtpMailer(SmtpSettings("127.0.0.1", port)))

    (mail,) = mails_to(maildir, address)
    assert mail["To"] == address
    assert mail["Subject"] == f"Richiesta protocollata n. {event.payload['protocol']}"
    assert mail["Message-ID"] and mail["Date"]
    assert "è stata protocollata" in plain_text(mail)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<!DOCTYPE html>" in html and "è stata protocollata" in html


# ---- request closed ----------------------------------------------------------------------------


def closed(request_id, outcome="accolta", comment="Pratica definita.", booking_enabled=False):
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.99999999",  # notify mails the protocol it stored at submission
        "actor": "op-1",
        "actor_role": "sede_operatore",
        "at": NOW + timedelta(days=3),
        "comment": comment,
        "outcome": outcome,
        "booking_enabled": booking_enabled,
    }
    return parse_event(make_event(REQUEST_CLOSED, payload, producer="intake").to_message())


def on_closed(sessions, event, mailer):
    return apply(sessions, "on_request_closed", use_cases.notify_request_closed, event, mailer)


def test_closed_mails_the_outcome_and_the_comment(sessions):
    submission, mailer = submitted(sms="+393331234567"), FakeMailer()
    on_submitted(sessions, submission, mailer)

    on_closed(sessions, closed(submission.payload["request_id"]), mailer)

    to, subject, body = mailer.sent[-1]
    assert (to, subject) == (
        "mario.rossi@example.it",
        f"Richiesta chiusa n. {submission.payload['protocol']}",
    )
    assert "Esito: accolta" in body and "Pratica definita." in body
    assert "appuntamento" not in body
    closing = [
        d for d in deliveries(sessions, submission.payload["request_id"]) if d.template == "request_closed"
    ]
    assert [(d.channel, d.status) for d in closing] == [("email", "sent"), ("sms", "skipped")]


def test_closed_with_booking_enabled_says_an_appointment_can_be_booked(sessions):
    submission, mailer = submitted(), FakeMailer()
    on_submitted(sessions, submission, mailer)

    on_closed(sessions, closed(submission.payload["request_id"], comment=None, booking_enabled=True), mailer)

    assert "prenotazione di un appuntamento" in mailer.sent[-1][2]


def test_closed_twice_mails_once(sessions):
    submission, mailer = submitted(), FakeMailer()
    on_submitted(sessions, submission, mailer)
    closing = closed(submission.payload["request_id"])

    assert on_closed(sessions, closing, mailer) is True
    assert on_closed(sessions, closing, mailer) is False

    assert [subject for _, subject, _ in mailer.sent].count(
        f"Richiesta chiusa n. {submission.payload['protocol']}"
    ) == 1


def test_closed_before_submitted_raises_so_the_kernel_retries(sessions):
    submission, mailer = submitted(), FakeMailer()
    closing = closed(submission.payload["request_id"])

    with pytest.raises(RetryLater):
        on_closed(sessions, closing, mailer)
    assert deliveries(sessions, submission.payload["request_id"]) == []

    on_submitted(sessions, submission, mailer)
    assert on_closed(sessions, closing, mailer) is True
    assert mailer.sent[-1][1].startswith("Richiesta chiusa")


# ---- outbound messages -------------------------------------------------------------------------


def outbound(email="azienda@example.it", sms=None, request_id=None, subject="Verifica versamenti F24"):
    payload = {
        "message_id": uuid.uuid4(),
        "request_id": request_id,
        "sede": "7000",
        "actor": "op-1",
        "recipient": {"kind": "azienda", "matricola": "7000123456"},
        "subject": subject,
        "contacts": {"email": email, "sms": sms},
        "sent_at": NOW,
    }
    return parse_event(make_event(OUTBOUND_MESSAGE_SENT, payload, producer="intake").to_message())


def on_outbound(sessions, event, mailer):
    return apply(sessions, "on_outbound_message_sent", use_cases.notify_outbound_message, event, mailer)


def deliveries_of(sessions, event):
    with sessions() as session:
        return session.scalars(
            select(Delivery).where(Delivery.event_id == uuid.UUID(event.event_id)).order_by(Delivery.channel)
        ).all()


def test_outbound_mails_the_contact_in_the_event_without_a_request(sessions):
    event, mailer = outbound(sms="+393331234567"), FakeMailer()

    assert on_outbound(sessions, event, mailer) is True
    assert on_outbound(sessions, event, mailer) is False

    ((to, subject, body),) = mailer.sent
    assert (to, subject) == ("azienda@example.it", "Comunicazione dalla sede INPS: Verifica versamenti F24")
    assert "codice 7000" in body
    email, sms = deliveries_of(sessions, event)
    assert (email.status, email.request_id, email.template) == ("sent", None, "outbound_message")
    assert (sms.status, sms.error) == ("skipped", NO_SMS_PROVIDER)


def test_outbound_about_a_request_is_listed_with_it(sessions):
    request_id = uuid.uuid4()

    on_outbound(sessions, outbound(request_id=request_id), FakeMailer())

    assert [d.template for d in deliveries(sessions, request_id)] == ["outbound_message"]


def test_outbound_without_email_records_a_skipped_delivery(sessions):
    event, mailer = outbound(email=None), FakeMailer()

    on_outbound(sessions, event, mailer)

    assert mailer.sent == []
    (delivery,) = deliveries_of(sessions, event)
    assert (delivery.channel, delivery.status, delivery.error) == ("email", "skipped", use_cases.NO_EMAIL)


def test_service_entrypoints_for_closed_and_outbound(sessions):
    mailer, submission = FakeMailer(), submitted()
    service = worker_factory(
        NotifyService, db=DatabaseAccess(sessions, "notify.entrypoints"), mailer=mailer, clock=FixedClock(NOW)
    )

    service.on_request_submitted(submission)
    service.on_request_closed(closed(submission.payload["request_id"]))
    service.on_outbound_message_sent(outbound())

    protocol = submission.payload["protocol"]
    assert [subject for _, subject, _ in mailer.sent] == [
        f"Richiesta protocollata n. {protocol}",
        f"Richiesta chiusa n. {protocol}",
        "Comunicazione dalla sede INPS: Verifica versamenti F24",
    ]


def test_real_smtp_delivery_of_closing_and_outbound(sessions, smtp_sink):
    port, maildir = smtp_sink
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port))
    requester, company = (
        f"anna.{uuid.uuid4().hex[:8]}@example.it",
        f"ufficio.{uuid.uuid4().hex[:8]}@azienda.example",
    )
    submission = submitted(email=requester)
    on_submitted(sessions, submission, mailer)

    on_closed(
        sessions, closed(submission.payload["request_id"], outcome="respinta", booking_enabled=True), mailer
    )
    on_outbound(sessions, outbound(email=company, subject="Documenti mancanti"), mailer)

    mails = {mail["Subject"]: mail for mail in mails_to(maildir, requester, company)}
    closing = mails[f"Richiesta chiusa n. {submission.payload['protocol']}"]
    assert closing["To"] == requester
    assert "Esito: respinta" in plain_text(closing) and "prenotazione di un appuntamento" in plain_text(
        closing
    )
    message = mails["Comunicazione dalla sede INPS: Documenti mancanti"]
    assert message["To"] == company
    assert "Documenti mancanti" in plain_text(message)
