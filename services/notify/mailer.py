"""E-mail over SMTP.

``Mailer`` reads the SMTP settings once per container (``setup``) and gives each worker an
``SmtpMailer`` with one method, ``send(to, subject, body)``. Tests replace it with a fake
that has the same method.

``send`` raises ``PermanentDeliveryError`` when the server refuses the recipient for good
(5xx): retrying cannot fix a wrong address. Any other failure (server down, timeout, 4xx)
propagates as is, so the event is retried.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from nameko import config
from nameko.extensions import DependencyProvider

DEFAULT_SENDER = "Comunicazione Bidirezionale INPS <noreply@combid.inps.example>"
DEFAULT_TIMEOUT_SECONDS = 10.0


class PermanentDeliveryError(Exception):
    """The message can never be delivered as addressed (recorded as 'failed', not retried)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str = DEFAULT_SENDER
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_config(cls, values) -> SmtpSettings:
        return cls(
            host=str(values.get("SMTP_HOST", "127.0.0.1")),
            port=int(values.get("SMTP_PORT", 8025)),
            sender=str(values.get("SMTP_FROM") or DEFAULT_SENDER),
            timeout=float(values.get("SMTP_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)),
        )


def build_message(
    sender: str, to: str, subject: str, body: str, now: datetime | None = None, attachments=()
) -> EmailMessage:
    """A plain-text UTF-8 message with the headers mail servers and clients expect, and its
    attachments ((file name, MIME type, bytes): the .ics of an appointment)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    # An explicit domain: without it make_msgid asks DNS for this host's name.
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message.set_content(body, charset="utf-8")
    for filename, mime_type, content in attachments:
        maintype, _, subtype = mime_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def _domain_of(address: str) -> str:
    _, email = parseaddr(address)
    return email.rpartition("@")[2] or "combid.inps.example"


def _refused_for_good(exc: smtplib.SMTPRecipientsRefused) -> bool:
    return all(code >= 500 for code, _ in exc.recipients.values())


class SmtpMailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def send(self, to: str, subject: str, body: str, attachments=()) -> str:
        """Send one message; returns its Message-ID."""
        message = build_message(self.settings.sender, to, subject, body, attachments=attachments)
        try:
            with smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.settings.timeout) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            if _refused_for_good(exc):
                raise PermanentDeliveryError(
                    f"destinatario rifiutato dal server di posta: {exc.recipients}"
                ) from exc
            raise
        return message["Message-ID"]


class Mailer(DependencyProvider):
    def setup(self):
        self.settings = SmtpSettings.from_config(config)

    def get_dependency(self, worker_ctx):
        return SmtpMailer(self.settings)
