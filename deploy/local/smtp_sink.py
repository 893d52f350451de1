"""A local SMTP sink: accepts every mail and keeps it as a .eml file, so that what the
notify service sends can be read back (by people with ``list``, by tests from the folder).

    python -m deploy.local.smtp_sink serve --port 8025 --maildir var/mail
    python -m deploy.local.smtp_sink list --maildir var/mail
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import signal
import threading
import time
import uuid
from pathlib import Path

DEFAULT_MAILDIR = Path("var/mail")


class MaildirHandler:
    def __init__(self, maildir: Path):
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope):
        self.maildir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.maildir / (name + ".tmp")
        temporary.write_bytes(envelope.original_content or envelope.content)
        os.replace(temporary, self.maildir / name)  # readers never see half a mail
        return "250 Message accepted for delivery"


def read_mails(maildir: Path) -> list[email.message.EmailMessage]:
    """Every received mail, oldest first."""
    if not maildir.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(maildir.glob("*.eml"))
    ]


def serve(host: str, port: int, maildir: Path) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(MaildirHandler(maildir), hostname=host, port=port)
    controller.start()
    print(f"SMTP sink in ascolto su {host}:{port}, posta in {maildir}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="SMTP sink locale")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8025)
    serve_parser.add_argument("--maildir", type=Path, default=DEFAULT_MAILDIR)
    list_parser = sub.add_parser("list")
    list_parser.add_argument("--maildir", type=Path, default=DEFAULT_MAILDIR)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.maildir)
    else:
        mails = read_mails(args.maildir)
        for mail in mails:
            print(f"{mail['Date']}  a: {mail['To']}  oggetto: {mail['Subject']}")
        print(f"{len(mails)} messaggi in {args.maildir}")


if __name__ == "__main__":
    main()
