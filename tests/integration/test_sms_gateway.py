"""The SMS gateway adapter against the local SMS sink over real HTTP on 127.0.0.1 (and a
canned local server for answers the sink never gives); then through the dispatcher on the
real notify database: 503 retried then sent once, an invalid number failed once."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nameko import config as nameko_config

from deploy.local.sms_sink import SmsSink
from services.notify.channels import Envelope, PermanentDeliveryError
from services.notify.dispatch import Dispatcher, RetryPolicy, outcome_of
from services.notify.models import CHANNEL_SMS, STATUS_QUEUED, Delivery
from services.notify.sms import (
    MAX_PARTS,
    NO_SMS_PROVIDER,
    HttpSmsGateway,
    SmsGateway,
    SmsSettings,
    TransientSmsError,
    UnconfiguredSmsGateway,
)
from services.notify.sms_text import GSM7, InvalidNumber
from shared.clock import FixedClock
from tests.harness import free_port

USER, TOKEN = "combid", "token-di-prova"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


PROTOCOLLATA = "La richiesta COMBID.2026.00000001 è stata protocollata."


def envelope(to="347 123 4567", body=PROTOCOLLATA, delivery_id=None):
    return Envelope(delivery_id or str(uuid.uuid4()), to, "Richiesta protocollata", body)


@pytest.fixture
def sink(tmp_path):
    with SmsSink(tmp_path / "sms", user=USER, token=TOKEN) as running:
        yield running


def gateway_for(url, **changes) -> HttpSmsGateway:
    values = {"SMS_GATEWAY_URL": url, "SMS_GATEWAY_USER": USER, "SMS_GATEWAY_TOKEN": TOKEN, **changes}
    return HttpSmsGateway(SmsSettings.from_config(values))


@pytest.fixture
def gateway(sink):
    adapter = gateway_for(sink.url)
    yield adapter
    adapter.close()


# ---- settings ------------------------------------------------------------------------


def test_settings_defaults_and_an_empty_url_means_no_provider():
    settings = SmsSettings.from_config({})
    assert (settings.url, settings.sender, settings.timeout, settings.configured) == ("", "INPS", 10.0, False)
    assert SmsSettings.from_config({"SMS_GATEWAY_URL": None}).configured is False

    configured = SmsSettings.from_config(
        {
            "SMS_GATEWAY_URL": "https://sms.example/API/v1.0/REST/sms",
            "SMS_GATEWAY_USER": "u",
            "SMS_GATEWAY_TOKEN": "t",
            "SMS_SENDER": "INPSRoma",
            "SMS_TIMEOUT": "2.5",
        }
    )
    assert (configured.configured, configured.sender, configured.timeout) == (True, "INPSRoma", 2.5)


def test_the_token_is_not_in_the_settings_repr():
    values = {"SMS_GATEWAY_URL": "https://sms.example/sms", "SMS_GATEWAY_USER": "u"}
    values["SMS_GATEWAY_TOKEN"] = "s3greto"
    settings = SmsSettings.from_config(values)
    assert "s3greto" not in repr(settings)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"SMS_GATEWAY_URL": "sms.example/send", "SMS_GATEWAY_USER": "u", "SMS_GATEWAY_TOKEN": "t"}, "URL"),
        ({"SMS_GATEWAY_URL": "https://sms.example/send"}, "SMS_GATEWAY_USER"),
        ({"SMS_SENDER": "ComunicazioneINPS"}, "SMS_SENDER"),
        ({"SMS_TIMEOUT": "0"}, "SMS_TIMEOUT"),
    ],
)
def test_bad_settings_are_refused_at_start_up_naming_the_key(values, key):
    with pytest.raises(ValueError, match=key):
        SmsSettings.from_config(values)


def test_the_dependency_gives_an_unconfigured_adapter_without_a_provider():
    provider = SmsGateway()
    with nameko_config.patch({"SMS_GATEWAY_URL": ""}):
        provider.setup()
    adapter = provider.get_dependency(None)

    assert isinstance(adapter, UnconfiguredSmsGateway)
    assert adapter.configured is False
    with pytest.raises(PermanentDeliveryError, match=NO_SMS_PROVIDER):
        adapter.send(envelope())
    provider.stop()


def test_the_dependency_shares_one_session_across_workers(sink):
    provider = SmsGateway()
    with nameko_config.patch(
        {"SMS_GATEWAY_URL": sink.url, "SMS_GATEWAY_USER": USER, "SMS_GATEWAY_TOKEN": TOKEN}
    ):
        provider.setup()
    first, second = provider.get_dependency(None), provider.get_dependency(None)

    assert first.configured is True
    assert first.session is second.session
    first.send(envelope())
    second.send(envelope())
    assert sink.server.connections == 1
    provider.stop()


# ---- sending -------------------------------------------------------------------------


def test_an_sms_is_posted_in_the_providers_shape_and_the_receipt_returned(sink, gateway):
    sent = envelope(body="È stata fissata la Sua consulenza “in sede” – lunedì alle 9:30…")

    receipt = gateway.send(sent)

    [stored] = sink.received()
    assert stored["recipient"] == ["+393471234567"]
    assert stored["sender"] == "INPS"
    assert stored["message_type"] == "N"
    assert stored["order_id"] == sent.delivery_id
    # the text as fitted to GSM-7: one message, not a UCS-2 one
    assert stored["message"] == 'E\' stata fissata la Sua consulenza "in sede" - lunedì alle 9:30...'
    assert receipt.order_id == sent.delivery_id
    assert receipt.internal_order_id == stored["internal_order_id"]
    assert receipt.total_sent == 1
    assert (receipt.parts.encoding, receipt.parts.parts) == (GSM7, 1)


def test_connections_to_the_gateway_are_reused_across_sends(sink, gateway):
    for _ in range(5):
        gateway.send(envelope())

    assert len(sink.received()) == 5
    assert sink.server.connections == 1


def test_a_resend_of_the_same_delivery_is_one_sms(sink, gateway):
    sent = envelope()

    first, again = gateway.send(sent), gateway.send(sent)

    assert first.internal_order_id == again.internal_order_id
    assert len(sink.received()) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_an_overloaded_or_failing_gateway_is_transient(sink, gateway, status):
    sink.fail_next(status)

    with pytest.raises(TransientSmsError, match=str(status)):
        gateway.send(envelope())
    assert not isinstance(TransientSmsError(), PermanentDeliveryError)
    gateway.send(envelope())  # the next attempt goes through
    assert len(sink.received()) == 1


def test_refused_credentials_are_transient_fixing_the_configuration_sends_the_queue(sink):
    wrong = gateway_for(sink.url, SMS_GATEWAY_TOKEN="sbagliato")

    with pytest.raises(TransientSmsError, match="401"):
        wrong.send(envelope())
    assert sink.received() == []


def test_a_gateway_that_does_not_answer_is_transient(tmp_path):
    port = free_port()  # nothing listens here
    gateway = gateway_for(f"http://127.0.0.1:{port}/API/v1.0/REST/sms")

    with pytest.raises(TransientSmsError, match="non raggiungibile"):
        gateway.send(envelope())


def test_a_timeout_is_transient_and_the_resend_is_deduplicated_by_the_order_id(sink):
    gateway = gateway_for(sink.url, SMS_TIMEOUT="0.3")
    sent = envelope()
    sink.fail_next(None, delay_seconds=1.0)  # the gateway sends, but answers too late

    with pytest.raises(TransientSmsError, match="nessuna risposta entro 0.3 s"):
        gateway.send(sent)
    gateway.send(sent)  # the dispatcher's next attempt

    assert len(sink.received()) == 1


def test_another_4xx_is_permanent_with_the_providers_reason(sink, gateway):
    sink.fail_next(400)

    with pytest.raises(PermanentDeliveryError, match=r"HTTP 400\): errore simulato dal sink"):
        gateway.send(envelope())


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("06 1234 5678", "phone_number_not_mobile"),
        ("347", "phone_number_invalid"),
        ("", "phone_number_missing"),
    ],
)
def test_an_invalid_number_is_refused_before_anything_is_sent(sink, gateway, to, code):
    with pytest.raises(InvalidNumber) as refused:
        gateway.send(envelope(to=to))

    assert refused.value.code == code
    assert sink.server.connections == 0


def test_an_empty_or_overlong_text_is_refused_for_good(sink, gateway):
    with pytest.raises(PermanentDeliveryError, match="vuoto"):
        gateway.send(envelope(body="  "))
    with pytest.raises(PermanentDeliveryError, match="troppo lungo"):
        gateway.send(envelope(body="a" * (153 * MAX_PARTS + 1)))
    assert sink.server.connections == 0


def test_a_foreign_mobile_with_its_country_code_is_sent(sink, gateway):
    gateway.send(envelope(to="+44 7911 123456"))
    assert sink.received()[0]["recipient"] == ["+447911123456"]


def test_logs_name_the_delivery_never_the_number_or_the_text(sink, gateway, caplog):
    caplog.set_level(logging.DEBUG, logger="services.notify.sms")
    sent = envelope(body="Testo riservato")
    gateway.send(sent)
    sink.fail_next(400)
    with pytest.raises(PermanentDeliveryError):
        gateway.send(envelope(body="Testo riservato"))

    assert sent.delivery_id in caplog.text
    assert "3471234567" not in caplog.text
    assert "riservato" not in caplog.text


# ---- answers the sink never gives: a canned local server -----------------------------


class Canned(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 200
    payload = b""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(self.server.payload)))
        self.end_headers()
        self.wfile.write(self.server.payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def canned():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answer(status, body):
        server.status = status
        server.payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        return gateway_for(f"http://127.0.0.1:{server.server_address[1]}/sms")

    yield answer
    server.shutdown()
    server.server_close()


def test_a_result_other_than_ok_is_permanent_with_the_reason_and_the_number_masked(canned):
    gateway = canned(200, {"result": "KO", "error": "destinatario +393471234567 in blacklist"})

    with pytest.raises(PermanentDeliveryError) as refused:
        gateway.send(envelope())

    assert str(refused.value) == "SMS rifiutato dal gateway: destinatario *** in blacklist"


def test_a_2xx_that_is_not_the_providers_json_is_transient(canned):
    gateway = canned(201, b"<html>proxy</html>")

    with pytest.raises(TransientSmsError, match="non riconosciuta"):
        gateway.send(envelope())


def test_a_4xx_without_json_is_permanent_with_the_http_reason(canned):
    gateway = canned(404, b"")

    with pytest.raises(PermanentDeliveryError, match=r"HTTP 404\): Not Found"):
        gateway.send(envelope())


# ---- through the dispatcher on the notify database -----------------------------------


def test_the_dispatcher_reads_the_classification():
    row = Delivery(created_at=NOW, attempts=1)
    policy = RetryPolicy()

    assert outcome_of(TransientSmsError("gateway SMS: HTTP 503"), row, NOW, policy).status == "queued"
    invalid = outcome_of(InvalidNumber("phone_number_not_mobile", "non è un cellulare"), row, NOW, policy)
    assert (invalid.status, invalid.error) == ("failed", "non è un cellulare")


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("notify")


def queued_sms(sessions, to) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    with sessions.begin() as session:
        session.add(
            Delivery(
                id=delivery_id,
                request_id=uuid.uuid4(),
                event_id=uuid.uuid4(),
                channel=CHANNEL_SMS,
                recipient=to,
                template="protocol_registered",
                subject_line="Richiesta protocollata",
                status=STATUS_QUEUED,
                created_at=NOW,
                body=PROTOCOLLATA,
                attempts=0,
                next_attempt_at=NOW,
            )
        )
    return delivery_id


def stored(sessions, delivery_id) -> Delivery:
    with sessions() as session:
        return session.get(Delivery, delivery_id)


def test_a_503_is_retried_with_backoff_then_sent_once(sessions, sink, gateway):
    delivery_id = queued_sms(sessions, "+39 347 123 4567")
    sink.fail_next(503, times=2)
    channels = {CHANNEL_SMS: gateway}

    for seconds in (0, 6, 17):  # first try, then after the 5 s and 10 s back-offs
        Dispatcher(sessions, channels, FixedClock(NOW + timedelta(seconds=seconds)), RetryPolicy()).dispatch(
            [delivery_id]
        )
        if seconds < 17:
            row = stored(sessions, delivery_id)
            assert row.status == "queued"
            assert row.error == "TransientSmsError: gateway SMS: HTTP 503"

    row = stored(sessions, delivery_id)
    assert (row.status, row.attempts, row.error) == ("sent", 3, None)
    [sms] = sink.received()
    assert sms["order_id"] == str(delivery_id)
    assert sms["recipient"] == ["+393471234567"]


def test_an_invalid_number_is_failed_once_with_the_reason_and_never_retried(sessions, sink, gateway):
    delivery_id = queued_sms(sessions, "06 1234 5678")

    Dispatcher(sessions, {CHANNEL_SMS: gateway}, FixedClock(NOW), RetryPolicy()).dispatch([delivery_id])
    later = Dispatcher(sessions, {CHANNEL_SMS: gateway}, FixedClock(NOW + timedelta(hours=1)), RetryPolicy())

    assert later.dispatch([delivery_id]) == 0
    row = stored(sessions, delivery_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error == "il numero non è di un cellulare: non può ricevere SMS"
    assert sink.received() == []
