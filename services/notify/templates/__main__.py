"""``python -m services.notify.templates list | preview KIND [--format text|html|sms|all]``"""

from __future__ import annotations

import argparse
import sys

from services.notify import messages
from services.notify.rules import NOTICE_KINDS
from services.notify.templates import APPOINTMENT, SAMPLES
from shared import appointment_ics


def sample(kind: str) -> messages.OutgoingMessage:
    function_name, arguments = SAMPLES[kind]
    function = getattr(messages, function_name)
    if kind == "appointment_booked":
        facts = {**APPOINTMENT, "stamped_at": APPOINTMENT["at"]}
        ics = appointment_ics.appointment_ics(facts, APPOINTMENT["room_url"])
        return function(APPOINTMENT, ics, appointment_ics.filename(APPOINTMENT["booking_id"]))
    if arguments is None:
        return function(APPOINTMENT)
    return function(*arguments)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Anteprima dei testi delle notifiche")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="i tipi di notifica")
    preview = commands.add_parser("preview", help="un tipo di notifica con valori d'esempio")
    preview.add_argument("kind", choices=sorted(SAMPLES))
    preview.add_argument("--format", choices=("text", "html", "sms", "all"), default="all")
    args = parser.parse_args(argv)
    if args.command == "list":
        for kind in NOTICE_KINDS.values():
            print(f"{kind.code:<26} {kind.label}  ({', '.join(kind.channels)})")
        return 0
    message = sample(args.kind)
    if args.format == "html":
        print(message.html)
    elif args.format == "sms":
        print(message.short)
    elif args.format == "text":
        print(message.body)
    else:
        print(f"Oggetto: {message.subject_line}\n\n{message.body}\n--- SMS / Notifiche ---\n{message.short}")
        for name, mime_type, content in message.attachments:
            print(f"--- allegato: {name} ({mime_type}, {len(content)} byte)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
