"""The SMTP mailer, with smtplib replaced by a recording fake (no network)."""

import smtplib
from datetime import UTC, datetime

import pytest

from services.notify import mailer as mailer_module
from services.notify.mailer import (
    DEFAULT_SENDER,
    PermanentDeliveryError,
    SmtpMailer,
    SmtpSettings,
    build_message,
)


class RecordingSMTP:
    sent = []
    refuse_with = None

    def __init__(self, host, port, timeout):
        self.address = (host, port, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        if RecordingSMTP.refuse_with:
            raise smtplib.SMTPRecipientsRefused({message["To"]: RecordingSMTP.refuse_with})
        RecordingSMTP.sent.append((self.address, message))


@pytest.fixture
def smtp(monkeypatch):
    RecordingSMTP.sent, RecordingSMTP.refuse_with = [], None
    monkeypatch.setattr(mailer_module.smtplib, "SMTP", RecordingSMTP)
    return RecordingSMTP


def test_settings_from_config_default_sender_and_int_port():
    settings = SmtpSettings.from_config({"SMTP_HOST": "mail.example", "SMTP_PORT": "2525"})

    assert settings == SmtpSettings("mail.example", 2525, DEFAULT_SENDER, 10.0)


def test_message_is_utf8_text_with_date_and_message_id():
    message = build_message(
        DEFAULT_SENDER,
        "mario@example.it",
        "Richiesta protocollata",
        "Perché è così",
        now=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )

    assert message["Subject"] == "Richiesta protocollata"
    assert message["From"] == DEFAULT_SENDER
    assert message["Date"] == "Mon, 23 Nov 2026 10:00:00 +0000"
    assert message["Message-ID"].endswith("@combid.inps.example>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == "Perché è così"


def test_send_goes_to_configured_server(smtp):
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", 8025))

    message_id = mailer.send("mario@example.it", "Oggetto", "Testo")

    ((address, message),) = smtp.sent
    assert address == ("127.0.0.1", 8025, 10.0)
    assert message["To"] == "mario@example.it"
    assert message["Message-ID"] == message_id


def test_recipient_refused_for_good_is_permanent(smtp):
    smtp.refuse_with = (550, b"no such user")

    with pytest.raises(PermanentDeliveryError):
        SmtpMailer(SmtpSettings("127.0.0.1", 8025)).send("nessuno@example.it", "Oggetto", "Testo")


def test_recipient_refused_for_now_propagates_for_retry(smtp):
    smtp.refuse_with = (451, b"try again later")

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        SmtpMailer(SmtpSettings("127.0.0.1", 8025)).send("mario@example.it", "Oggetto", "Testo")
