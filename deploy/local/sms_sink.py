"""A local SMS gateway sink: answers like the provider and keeps every SMS as a JSON file, so
that what the notify service sends can be read back (by people with ``list``, by tests from
the folder). It speaks the request ``services/notify/sms.py`` sends (see its docstring and
the README's "SMS" section) on the same path, and listens on 127.0.0.1 only.

    python -m deploy.local.sms_sink serve --port 8026 --dir var/sms
    python -m deploy.local.sms_sink list --dir var/sms

Like the provider it deduplicates on ``order_id``: a resend of an order it already accepted
(the sender did not learn the outcome the first time) is answered 201 again with the same
``internal_order_id`` and is not stored twice, so a test counts what a phone would receive.

For the fault tests:

    POST /_control {"fail_status": 503, "times": 3}   the next 3 sends are answered 503
    POST /_control {"delay_seconds": 5, "times": 1}   the next send is answered after 5 s
    POST /_control {"times": 0}                       back to normal
    GET  /_health            200 {"status": "ok", "received": n, "connections": n}

A failed (injected) send stores nothing, as a provider that answered 503 sent nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import threading
import time
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_DIR = Path("var/sms")
HOST = "127.0.0.1"  # a sink for this machine only
SEND_PATH = "/API/v1.0/REST/sms"
CONTROL_PATH = "/_control"
HEALTH_PATH = "/_health"

# what `make run` and the tests configure notify with (the sink takes any non-empty pair
# unless started with --user/--token)
DEV_USER = "combid"
DEV_TOKEN = "dev-only-sms-token"

MESSAGE_TYPES = ("N", "GP", "TI", "SI")
MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 1530  # ten concatenated GSM-7 parts, as providers commonly allow
MAX_RECIPIENTS = 100
MAX_ORDER_ID = 64
E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
# an alphanumeric sender id is at most 11 characters; a numeric one a number (E.164 digits)
ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .\-]{1,11}\Z")
NUMERIC_SENDER = re.compile(r"\+?[0-9]{3,16}\Z")
ORDER_ID = re.compile(r"[A-Za-z0-9_.\-]+\Z")


class InvalidSend(ValueError):
    pass


def validate(body: object) -> dict:
    """The send request's body as the provider accepts it, or ``InvalidSend`` saying why."""
    if not isinstance(body, dict):
        raise InvalidSend("il corpo deve essere un oggetto JSON")
    unknown = sorted(set(body) - {"message_type", "message", "recipient", "sender", "order_id"})
    if unknown:
        raise InvalidSend(f"campi non previsti: {', '.join(unknown)}")
    if body.get("message_type") not in MESSAGE_TYPES:
        raise InvalidSend(f"message_type deve essere uno di {', '.join(MESSAGE_TYPES)}")
    message = body.get("message")
    if not isinstance(message, str) or not message:
        raise InvalidSend("message: testo obbligatorio")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidSend(f"message: al massimo {MAX_MESSAGE_CHARS} caratteri")
    recipients = body.get("recipient")
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise InvalidSend(f"recipient: da 1 a {MAX_RECIPIENTS} numeri")
    for number in recipients:
        if not isinstance(number, str) or not E164.match(number):
            raise InvalidSend("recipient: ogni numero in formato internazionale E.164 (+39...)")
    sender = body.get("sender")
    if not isinstance(sender, str) or not (ALPHANUMERIC_SENDER.match(sender) or NUMERIC_SENDER.match(sender)):
        raise InvalidSend("sender: al massimo 11 caratteri alfanumerici, oppure un numero")
    order_id = body.get("order_id")
    if order_id is not None and (
        not isinstance(order_id, str) or not 0 < len(order_id) <= MAX_ORDER_ID or not ORDER_ID.match(order_id)
    ):
        raise InvalidSend(f"order_id: da 1 a {MAX_ORDER_ID} tra lettere, cifre, '_', '.', '-'")
    return body


class Faults:
    """Failures to answer with, for the next ``times`` sends."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fail_status: int | None = None
        self.delay_seconds = 0.0
        self.times = 0

    def configure(self, settings: object) -> dict:
        if not isinstance(settings, dict):
            raise InvalidSend("il corpo deve essere un oggetto JSON")
        status = settings.get("fail_status")
        delay = settings.get("delay_seconds", 0)
        times = settings.get("times", 1)
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            raise InvalidSend("fail_status: un codice HTTP tra 400 e 599")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 120:
            raise InvalidSend("delay_seconds: da 0 a 120")
        if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= 100_000:
            raise InvalidSend("times: da 0 a 100000")
        with self.lock:
            self.fail_status, self.delay_seconds, self.times = status, float(delay), times
            return self.state()

    def state(self) -> dict:
        return {"fail_status": self.fail_status, "delay_seconds": self.delay_seconds, "times": self.times}

    def take(self) -> tuple[int | None, float]:
        """(status to fail with or None, seconds to wait) for this send."""
        with self.lock:
            if self.times <= 0:
                return None, 0.0
            self.times -= 1
            return self.fail_status, self.delay_seconds


class SmsStore:
    """Accepted SMS as JSON files, one per order, written atomically; orders deduplicated."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.lock = threading.Lock()
        self.orders: dict[str, str] = {}  # order_id -> internal_order_id
        for stored in read_sms(self.directory):
            if stored.get("order_id"):
                self.orders[stored["order_id"]] = stored["internal_order_id"]

    def accept(self, body: dict) -> tuple[str, bool]:
        """(internal order id, whether it is new): a known order_id is not stored again."""
        order_id = body.get("order_id")
        with self.lock:
            if order_id and order_id in self.orders:
                return self.orders[order_id], False
            internal = uuid.uuid4().hex
            record = {
                "received_at": datetime.now(UTC).isoformat(),
                "internal_order_id": internal,
                "order_id": order_id,
                "message_type": body["message_type"],
                "sender": body["sender"],
                "recipient": body["recipient"],
                "message": body["message"],
            }
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{internal[:8]}.json"
            temporary = self.directory / (name + ".tmp")
            temporary.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(temporary, self.directory / name)  # readers never see half an SMS
            if order_id:
                self.orders[order_id] = internal
            return internal, True

    def count(self) -> int:
        with self.lock:
            return len(list(self.directory.glob("*.json"))) if self.directory.exists() else 0


def read_sms(directory: Path) -> list[dict]:
    """Every accepted SMS, oldest first."""
    directory = Path(directory)
    if not directory.exists():
        return []
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]


class SinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, store: SmsStore, user: str | None = None, token: str | None = None):
        self.store, self.faults = store, Faults()
        self.user, self.token = user, token
        self.connections = 0  # TCP connections accepted: shows whether a client reuses them
        super().__init__((HOST, port), SinkHandler)

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)


class SinkHandler(BaseHTTPRequestHandler):
    server: SinkServer
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway adapter reuses its connections
    server_version = "combid-sms-sink"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet: the numbers and texts are personal data, and the files say it all

    def do_GET(self):
        if self.path == HEALTH_PATH:
            received, connections = self.server.store.count(), self.server.connections
            self._answer(HTTPStatus.OK, {"status": "ok", "received": received, "connections": connections})
        elif self.path == CONTROL_PATH:
            self._answer(HTTPStatus.OK, self.server.faults.state())
        else:
            self._answer(HTTPStatus.NOT_FOUND, {"result": "KO", "error": "risorsa inesistente"})

    def do_POST(self):
        body = self._read_json()
        if body is _UNREADABLE:
            return
        if self.path == CONTROL_PATH:
            try:
                self._answer(HTTPStatus.OK, self.server.faults.configure(body))
            except InvalidSend as exc:
                self._answer(HTTPStatus.BAD_REQUEST, {"result": "KO", "error": str(exc)})
        elif self.path == SEND_PATH:
            self._send(body)
        else:
            self._answer(HTTPStatus.NOT_FOUND, {"result": "KO", "error": "risorsa inesistente"})

    def _send(self, body) -> None:
        user, token = self.headers.get("user_key"), self.headers.get("Access_token")
        if not user or not token:
            self._answer(HTTPStatus.UNAUTHORIZED, {"result": "KO", "error": "credenziali mancanti"})
            return
        expected = self.server
        if (expected.user and user != expected.user) or (expected.token and token != expected.token):
            self._answer(HTTPStatus.UNAUTHORIZED, {"result": "KO", "error": "credenziali non valide"})
            return
        status, delay = self.server.faults.take()
        if delay:
            time.sleep(delay)
        if status is not None:
            self._answer(status, {"result": "KO", "error": "errore simulato dal sink"})
            return
        try:
            validate(body)
        except InvalidSend as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"result": "KO", "error": str(exc)})
            return
        internal, _ = self.server.store.accept(body)
        self._answer(
            HTTPStatus.CREATED,
            {
                "result": "OK",
                "order_id": body.get("order_id") or internal,
                "total_sent": len(body["recipient"]),
                "internal_order_id": internal,
            },
        )

    def _read_json(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._answer(HTTPStatus.LENGTH_REQUIRED, {"result": "KO", "error": "Content-Length obbligatorio"})
            return _UNREADABLE
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True  # the body is not read: the connection cannot go on
            self._answer(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"result": "KO", "error": "corpo troppo grande"}
            )
            return _UNREADABLE
        raw = self.rfile.read(int(length))
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._answer(HTTPStatus.BAD_REQUEST, {"result": "KO", "error": "il corpo non è JSON valido"})
            return _UNREADABLE

    def _answer(self, status: int, body: dict) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


_UNREADABLE = object()


class SmsSink:
    """The sink in this process, on a thread (tests): ``with SmsSink(directory) as sink:``,
    then ``sink.url`` is the gateway URL to configure and ``sink.received()`` what it kept."""

    def __init__(self, directory: Path, port: int = 0, user: str | None = None, token: str | None = None):
        self.directory = Path(directory)
        self.server = SinkServer(port, SmsStore(self.directory), user, token)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="sms-sink", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + SEND_PATH

    def start(self) -> SmsSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def received(self) -> list[dict]:
        return read_sms(self.directory)

    def fail_next(self, status: int | None, times: int = 1, delay_seconds: float = 0.0) -> None:
        """The next ``times`` sends answered ``status`` (None: normally) after ``delay_seconds``."""
        self.server.faults.configure({"fail_status": status, "times": times, "delay_seconds": delay_seconds})

    def __enter__(self) -> SmsSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def gateway_url(port: int) -> str:
    """What SMS_GATEWAY_URL is for a sink on ``port``."""
    return f"http://{HOST}:{port}{SEND_PATH}"


def serve(port: int, directory: Path, user: str | None = None, token: str | None = None) -> None:
    sink = SmsSink(directory, port, user, token).start()
    print(f"SMS sink in ascolto su {sink.url}, SMS in {directory}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    sink.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Gateway SMS locale (sink)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--port", type=int, default=8026)
    serve_parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    serve_parser.add_argument("--user", help="user_key atteso (se omesso, qualunque)")
    serve_parser.add_argument("--token", help="Access_token atteso (se omesso, qualunque)")
    list_parser = sub.add_parser("list")
    list_parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.dir, args.user, args.token)
    else:
        received = read_sms(args.dir)
        for sms in received:
            to = ", ".join(sms["recipient"])
            print(f"{sms['received_at']}  a: {to}  da: {sms['sender']}  ordine: {sms['order_id'] or '-'}")
            print(f"    {sms['message']}")
        print(f"{len(received)} SMS in {args.dir}")


if __name__ == "__main__":
    main()
