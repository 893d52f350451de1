"""SMS through an HTTP gateway, in the JSON shape most Italian providers use (Skebby-like REST).

Configuration (``services/notify/config.yml``, from the environment):

- ``SMS_GATEWAY_URL``: the send endpoint, e.g. ``https://api.provider.example/API/v1.0/REST/sms``;
  **empty means no provider**: ``SmsGateway`` then gives an adapter whose ``configured`` is
  False, and the caller records the SMS as ``skipped`` instead of queueing it;
- ``SMS_GATEWAY_USER`` / ``SMS_GATEWAY_TOKEN``: the provider's user key and access token;
- ``SMS_SENDER``: the sender id shown on the phone (default ``INPS``; at most 11 letters
  and digits, or a number);
- ``SMS_TIMEOUT``: seconds to wait for the provider to connect and to answer (default 10).

Request (one per delivery, one recipient)::

    POST {SMS_GATEWAY_URL}
    user_key: {SMS_GATEWAY_USER}
    Access_token: {SMS_GATEWAY_TOKEN}
    Content-Type: application/json

    {"message_type": "N", "message": "La richiesta COMBID.2026.00000001 è stata ...",
     "recipient": ["+393471234567"], "sender": "INPS",
     "order_id": "6f1c1e9e-2b7e-4a51-9d0e-3f9c6b0d2a11"}

``recipient`` is the number normalised to E.164 (``sms_text.normalise_number``), ``message``
the envelope's body passed through ``sms_text.fit_gsm7`` (so an Italian notice stays GSM-7
where it can; the subject is not sent), ``order_id`` the delivery id: the same on every
attempt, so the provider keeps one SMS when a send whose answer was lost is tried again.

Response::

    201 {"result": "OK", "order_id": "6f1c...", "total_sent": 1, "internal_order_id": "..."}

How an answer is classified (what the dispatcher does with it):

- 2xx with ``"result": "OK"`` → sent (``send`` returns an ``SmsReceipt``);
- connection refused or reset, timeout, 429, 5xx, a 2xx whose body is not the JSON above,
  401/403 (our credentials refused: fixing the configuration makes the queued SMS go out) →
  ``TransientSmsError``, tried again with backoff;
- any other 4xx, or ``"result"`` other than ``"OK"`` → ``PermanentDeliveryError`` with the
  provider's reason (the number in it masked), recorded once as failed; an invalid number
  (``sms_text.InvalidNumber``), an empty text or one of more than ``MAX_PARTS`` parts are
  refused before anything is sent.

Logs name the delivery, the status and the parts, never the number or the text.
``SmsGateway`` keeps one ``requests.Session`` per container: connections to the provider are
reused across sends (TLS handshakes are the slow part of a send).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

import requests
from nameko import config
from nameko.extensions import DependencyProvider
from requests.adapters import HTTPAdapter

from services.notify.channels import Envelope, PermanentDeliveryError
from services.notify.sms_text import SmsParts, fit_gsm7, normalise_number, sms_parts

__all__ = [
    "NO_SMS_PROVIDER",
    "HttpSmsGateway",
    "SmsGateway",
    "SmsReceipt",
    "SmsSettings",
    "TransientSmsError",
    "UnconfiguredSmsGateway",
]

log = logging.getLogger(__name__)

DEFAULT_SENDER = "INPS"
DEFAULT_TIMEOUT_SECONDS = 10.0
MESSAGE_TYPE = "N"
# a notice longer than this many concatenated parts is a template mistake, not a message
MAX_PARTS = 6
NO_SMS_PROVIDER = "provider SMS non configurato"
REASON_MAX = 300  # characters of the provider's reason kept

_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .\-]{1,11}\Z")
_NUMERIC_SENDER = re.compile(r"\+?[0-9]{3,16}\Z")
_DIGITS = re.compile(r"\+?\d[\d ]{5,}\d")


class TransientSmsError(Exception):
    """The provider could not take the SMS now (down, slow, overloaded): try again later."""


@dataclass(frozen=True)
class SmsSettings:
    url: str  # "" = no provider
    user: str = ""
    token: str = field(default="", repr=False)  # kept out of logs and tracebacks
    sender: str = DEFAULT_SENDER
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    pool_size: int = 4
    default_region: str = "IT"

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @classmethod
    def from_config(cls, values) -> SmsSettings:
        """The settings, or ``ValueError`` naming the key (at start-up, not at the first SMS)."""
        url = str(values.get("SMS_GATEWAY_URL") or "").strip()
        settings = cls(
            url=url,
            user=str(values.get("SMS_GATEWAY_USER") or ""),
            token=str(values.get("SMS_GATEWAY_TOKEN") or ""),
            sender=str(values.get("SMS_SENDER") or DEFAULT_SENDER).strip(),
            timeout=float(values.get("SMS_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS),
            pool_size=int(values.get("SMS_POOL_SIZE") or 4),
        )
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError("SMS_GATEWAY_URL: un indirizzo http:// o https:// completo, o vuoto")
            if not settings.user or not settings.token:
                raise ValueError("SMS_GATEWAY_USER e SMS_GATEWAY_TOKEN sono obbligatori con SMS_GATEWAY_URL")
        if not (_ALPHANUMERIC_SENDER.match(settings.sender) or _NUMERIC_SENDER.match(settings.sender)):
            raise ValueError("SMS_SENDER: al massimo 11 lettere e cifre, oppure un numero")
        if not 0 < settings.timeout <= 120:
            raise ValueError("SMS_TIMEOUT: secondi, da 0 a 120")
        return settings


@dataclass(frozen=True)
class SmsReceipt:
    order_id: str
    internal_order_id: str | None
    total_sent: int
    parts: SmsParts


def new_session(pool_size: int) -> requests.Session:
    """A session whose connections are kept and reused; no retries of its own (the
    dispatcher retries, with backoff, and the order id makes a retry safe)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HttpSmsGateway:
    """``send(envelope)`` posts one SMS to the provider; ``configured`` is True."""

    configured = True

    def __init__(self, settings: SmsSettings, session: requests.Session | None = None):
        self.settings = settings
        self.session = session or new_session(settings.pool_size)

    def request_body(self, envelope: Envelope) -> tuple[dict, SmsParts]:
        """The JSON body for ``envelope`` and its parts; refuses (permanently) what can never
        be sent: an invalid number, an empty or overlong text."""
        number = normalise_number(envelope.to, self.settings.default_region)
        text = fit_gsm7(envelope.body or "").strip()
        parts = sms_parts(text)
        if parts.parts == 0:
            raise PermanentDeliveryError("testo SMS vuoto")
        if parts.parts > MAX_PARTS:
            raise PermanentDeliveryError(
                f"testo SMS troppo lungo: {parts.parts} parti (al massimo {MAX_PARTS})"
            )
        body = {
            "message_type": MESSAGE_TYPE,
            "message": text,
            "recipient": [number],
            "sender": self.settings.sender,
            "order_id": envelope.delivery_id,
        }
        return body, parts

    def send(self, envelope: Envelope) -> SmsReceipt:
        body, parts = self.request_body(envelope)
        headers = {"user_key": self.settings.user, "Access_token": self.settings.token}
        try:
            response = self.session.post(
                self.settings.url, json=body, headers=headers, timeout=self.settings.timeout
            )
        except requests.Timeout as exc:
            waited = self.settings.timeout
            raise TransientSmsError(f"gateway SMS: nessuna risposta entro {waited:g} s") from exc
        except requests.ConnectionError as exc:
            raise TransientSmsError("gateway SMS non raggiungibile") from exc
        except requests.RequestException as exc:
            raise TransientSmsError(f"gateway SMS: {type(exc).__name__}") from exc
        receipt = self._classified(response, envelope, parts)
        log.info(
            "SMS %s accettato dal gateway: %d parti %s, ordine %s",
            envelope.delivery_id,
            parts.parts,
            parts.encoding,
            receipt.internal_order_id,
        )
        return receipt

    def _classified(self, response: requests.Response, envelope: Envelope, parts: SmsParts) -> SmsReceipt:
        status, delivery = response.status_code, envelope.delivery_id
        answer = _json_or_none(response)
        if status == 429 or status >= 500 or status in (401, 403, 408):
            if status in (401, 403):
                log.error("gateway SMS: credenziali rifiutate (HTTP %d), SMS %s", status, delivery)
            else:
                log.info("gateway SMS: HTTP %d, SMS %s", status, envelope.delivery_id)
            raise TransientSmsError(f"gateway SMS: HTTP {status}")
        reason = _masked(_reason_of(answer, response), envelope.to)
        if not 200 <= status < 300:
            log.warning("gateway SMS: HTTP %d, SMS %s rifiutato", status, envelope.delivery_id)
            raise PermanentDeliveryError(f"SMS rifiutato dal gateway (HTTP {status}): {reason}")
        if not isinstance(answer, dict) or "result" not in answer:
            # accepted or not? Unknown: send again, the order id keeps it to one SMS
            raise TransientSmsError(f"gateway SMS: risposta HTTP {status} non riconosciuta")
        if answer.get("result") != "OK":
            log.warning("gateway SMS: esito %r, SMS %s rifiutato", answer.get("result"), envelope.delivery_id)
            raise PermanentDeliveryError(f"SMS rifiutato dal gateway: {reason}")
        return SmsReceipt(
            order_id=str(answer.get("order_id") or envelope.delivery_id),
            internal_order_id=_text_or_none(answer.get("internal_order_id")),
            total_sent=int(answer.get("total_sent") or 0),
            parts=parts,
        )

    def close(self) -> None:
        self.session.close()


class UnconfiguredSmsGateway:
    """No provider (``SMS_GATEWAY_URL`` empty): ``configured`` is False, so the caller records
    the SMS as skipped; a send that comes anyway fails once with the reason, not retried."""

    configured = False

    def send(self, envelope: Envelope):
        raise PermanentDeliveryError(NO_SMS_PROVIDER)


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _reason_of(answer, response: requests.Response) -> str:
    if isinstance(answer, dict):
        for key in ("error", "message", "reason", "detail", "result"):
            if isinstance(answer.get(key), str) and answer[key].strip():
                return answer[key].strip()[:REASON_MAX]
    return (response.reason or f"HTTP {response.status_code}")[:REASON_MAX]


def _masked(reason: str, number: str) -> str:
    """The provider's reason without the number in it (it may echo the recipient)."""
    if number:
        reason = reason.replace(number, "***")
    return _DIGITS.sub("***", reason)


def _text_or_none(value) -> str | None:
    return None if value is None else str(value)


class SmsGateway(DependencyProvider):
    """Gives each worker the SMS adapter: ``HttpSmsGateway`` sharing this container's
    ``requests.Session``, or ``UnconfiguredSmsGateway`` without a provider. Both have
    ``configured`` and ``send(envelope)``."""

    def setup(self):
        self.settings = SmsSettings.from_config(config)
        self.session = new_session(self.settings.pool_size) if self.settings.configured else None

    def stop(self):
        if self.session is not None:
            self.session.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        if self.session is None:
            return UnconfiguredSmsGateway()
        return HttpSmsGateway(self.settings, self.session)
