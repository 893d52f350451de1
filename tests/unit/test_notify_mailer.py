"""The SMTP mailer, with smtplib replaced by a recording fake (no network)."""

import email
import email.policy
import smtplib
from datetime import UTC, datetime

import pytest

from services.notify import mailer as mailer_module
from services.notify.channels import Envelope
from services.notify.mailer import (
    DEFAULT_SENDER,
    PermanentDeliveryError,
    SmtpMailer,
    SmtpSettings,
    build_message,
)


class RecordingSMTP:
    sent = []
    opened = 0
    refuse_with = None
    drop_next = False  # the server closed the session while it was idle

    def __init__(self, host, port, timeout):
        self.address = (host, port, timeout)
        self.closed = False
        RecordingSMTP.opened += 1

    def send_message(self, message):
        if RecordingSMTP.drop_next:
            RecordingSMTP.drop_next = False
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if RecordingSMTP.refuse_with:
            raise smtplib.SMTPRecipientsRefused({message["To"]: RecordingSMTP.refuse_with})
        RecordingSMTP.sent.append((self.address, message))

    def quit(self):
        self.closed = True

    close = quit


@pytest.fixture
def smtp(monkeypatch):
    RecordingSMTP.sent, RecordingSMTP.refuse_with, RecordingSMTP.opened = [], None, 0
    RecordingSMTP.drop_next = False
    monkeypatch.setattr(mailer_module.smtplib, "SMTP", RecordingSMTP)
    return RecordingSMTP


def envelope(to="mario@example.it", delivery_id="6f1c1e9e-2b7e-4a51-9d0e-3f9c6b0d2a11"):
    return Envelope(delivery_id, to, "Oggetto", "Testo")


def test_settings_from_config_default_sender_and_int_port():
    settings = SmtpSettings.from_config({"SMTP_HOST": "mail.example", "SMTP_PORT": "2525"})

    assert settings == SmtpSettings("mail.example", 2525, DEFAULT_SENDER, 10.0)


def received(message):
    """The message as a mail client reads it (parsed from its bytes)."""
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_message_is_utf8_text_with_date_and_message_id():
    message = received(
        build_message(
            DEFAULT_SENDER,
            "mario@example.it",
            "Richiesta protocollata",
            "Perché è così",
            now=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        )
    )

    assert message["Subject"] == "Richiesta protocollata"
    assert message["From"] == DEFAULT_SENDER
    assert message["Date"] == "Mon, 23 Nov 2026 10:00:00 +0000"
    assert message["Message-ID"].endswith("@combid.inps.example>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == "Perché è così"


def test_html_alternative_attachment_and_an_accented_subject_read_back():
    message = received(
        build_message(
            DEFAULT_SENDER,
            "mario@example.it",
            "Appuntamento confermato: lunedì alle 9:00",
            "Testo è",
            html="<p>Testo è</p>",
            attachments=(("appuntamento.ics", "text/calendar", b"BEGIN:VCALENDAR"),),
            delivery_id="d-1",
        )
    )

    assert message["Subject"] == "Appuntamento confermato: lunedì alle 9:00"
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "Testo è"
    assert message.get_body(preferencelist=("html",)).get_content().strip() == "<p>Testo è</p>"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "appuntamento.ics"
    assert attachment.get_content() in (b"BEGIN:VCALENDAR", "BEGIN:VCALENDAR")


def test_the_message_id_is_the_deliverys_on_every_attempt():
    """A message sent again after an unknown outcome is the same message to the receiver."""
    first = build_message(DEFAULT_SENDER, "a@example.it", "Oggetto", "Testo", delivery_id="d-1")
    again = build_message(DEFAULT_SENDER, "a@example.it", "Oggetto", "Testo", delivery_id="d-1")
    other = build_message(DEFAULT_SENDER, "a@example.it", "Oggetto", "Testo", delivery_id="d-2")

    assert first["Message-ID"] == again["Message-ID"] == "<d-1@combid.inps.example>"
    assert other["Message-ID"] != first["Message-ID"]


def test_send_goes_to_configured_server(smtp):
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", 8025))

    message_id = mailer.send(envelope())

    ((address, message),) = smtp.sent
    assert address == ("127.0.0.1", 8025, 10.0)
    assert message["To"] == "mario@example.it"
    assert message["Message-ID"] == message_id == "<6f1c1e9e-2b7e-4a51-9d0e-3f9c6b0d2a11@combid.inps.example>"


def test_one_smtp_session_serves_many_messages(smtp):
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", 8025))

    for number in range(5):
        mailer.send(envelope(delivery_id=f"d-{number}"))

    assert (len(smtp.sent), smtp.opened) == (5, 1)


def test_a_session_the_server_dropped_is_replaced_and_the_message_sent(smtp):
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", 8025))
    mailer.send(envelope(delivery_id="d-1"))
    smtp.drop_next = True

    mailer.send(envelope(delivery_id="d-2"))

    assert [message["Message-ID"] for _, message in smtp.sent] == [
        "<d-1@combid.inps.example>",
        "<d-2@combid.inps.example>",
    ]
    assert smtp.opened == 2


def test_a_new_session_that_fails_propagates_for_retry(smtp):
    smtp.drop_next = True

    with pytest.raises(smtplib.SMTPServerDisconnected):
        SmtpMailer(SmtpSettings("127.0.0.1", 8025)).send(envelope())


def test_recipient_refused_for_good_is_permanent(smtp):
    smtp.refuse_with = (550, b"no such user")

    with pytest.raises(PermanentDeliveryError):
        SmtpMailer(SmtpSettings("127.0.0.1", 8025)).send(envelope("nessuno@example.it"))


def test_recipient_refused_for_now_propagates_for_retry(smtp):
    smtp.refuse_with = (451, b"try again later")

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        SmtpMailer(SmtpSettings("127.0.0.1", 8025)).send(envelope())
