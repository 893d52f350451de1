"""Dead letters: which events failed for good, why, and putting them back.

    python -m shared.deadletters list
    python -m shared.deadletters show QUEUE [--limit N] [--payload]
    python -m shared.deadletters replay QUEUE [--event-id ID]
    python -m shared.deadletters drop QUEUE [--event-id ID]

QUEUE names a consumer's dead-letter queue (``combid.intake.request_routed.dead``), its
main queue, or ``intake.request_routed``. ``show`` prints ids, reason, attempts, error
class and first failure, and the payload (which holds personal data) only with
``--payload``. ``replay`` moves messages back to the main queue with the attempts reset,
so they get the whole retry schedule again; ``drop`` removes them.

Exit codes: 0 done (``list``: no dead letters), 1 ``list`` found dead letters, 2 unknown
queue, 3 broker unreachable or broker error, 4 no message with that event id.

``dead_letter_counts(amqp_uri, service)`` gives a service's counts (for a status page).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from shared.messaging import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    FIELDS_HEADER,
    FIRST_FAILURE_HEADER,
    LEGACY_DETAIL_HEADER,
    REASON_HEADER,
    RETRY_DELAY_HEADER,
    SUBSCRIPTIONS,
    dead_letter_queue_name,
    queue_name,
    subscriptions,
)
from shared.queue_tools import connect, move_messages, queue_state

# What a replay clears: the message starts again as if just published.
RETRY_STATE_HEADERS = (
    ATTEMPTS_HEADER,
    REASON_HEADER,
    ERROR_HEADER,
    FIELDS_HEADER,
    FIRST_FAILURE_HEADER,
    RETRY_DELAY_HEADER,
    LEGACY_DETAIL_HEADER,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
)


class UnknownQueue(LookupError):
    pass


def resolve(name: str) -> tuple[str, str]:
    """(service, event type) of a dead-letter queue, its main queue or "service.event"."""
    for service, event_type in subscriptions():
        if name in (
            dead_letter_queue_name(service, event_type),
            queue_name(service, event_type),
            f"{service}.{event_type}",
        ):
            return service, event_type
    raise UnknownQueue(name)


def dead_letter_counts(amqp_uri: str, service: str, timeout: float = 3.0) -> dict[str, int | None]:
    """Messages waiting in each dead-letter queue of ``service`` (None where the queue is
    not declared). A passive declare: creates nothing. Raises (kombu's OperationalError)
    if the broker cannot be reached within ``timeout``: no retry, a status page must answer."""
    with connect(amqp_uri, timeout=timeout, retries=0) as connection:
        return _counts(connection, [(service, t) for t in SUBSCRIPTIONS.get(service, ())])


def _counts(connection, pairs) -> dict[str, int | None]:
    counts = {}
    for service, event_type in pairs:
        name = dead_letter_queue_name(service, event_type)
        state = queue_state(connection, name)
        counts[name] = state[0] if state else None
    return counts


def event_id_of(message) -> str | None:
    headers = message.headers or {}
    if headers.get(EVENT_ID_HEADER):
        return str(headers[EVENT_ID_HEADER])
    if message.properties.get("message_id"):
        return str(message.properties["message_id"])
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        return None
    return str(body.get("event_id")) if isinstance(body, dict) and body.get("event_id") else None


def describe(message) -> dict:
    """What an operator may see of a dead letter: ids and reasons, no payload."""
    headers = message.headers or {}
    return {
        "event_id": event_id_of(message),
        "type": headers.get(EVENT_TYPE_HEADER),
        "reason": headers.get(REASON_HEADER),
        "attempts": headers.get(ATTEMPTS_HEADER, 1),
        "error": headers.get(ERROR_HEADER),
        "fields": headers.get(FIELDS_HEADER) or None,
        "first_failure": headers.get(FIRST_FAILURE_HEADER),
    }


def show(connection, service: str, event_type: str, limit: int = 20) -> list[tuple[dict, bytes]]:
    """Look at up to ``limit`` dead letters without removing them: (description, body)."""
    if not _waiting(connection, dead_letter_queue_name(service, event_type)):
        return []
    channel = connection.channel()
    seen = []
    try:
        while len(seen) < limit:
            message = channel.basic_get(dead_letter_queue_name(service, event_type), no_ack=False)
            if message is None:
                break
            seen.append((describe(message), message.body))
    finally:
        channel.close()  # unacknowledged: the broker keeps them all
    return seen


def _matching(event_id: str | None):
    return None if event_id is None else (lambda message: event_id_of(message) == event_id)


def _waiting(connection, name: str) -> int:
    state = queue_state(connection, name)
    return state[0] if state else 0  # a consumer declares its dead-letter queue at its first one


def replay(connection, service: str, event_type: str, event_id: str | None = None) -> int:
    """Move dead letters (all, or the one with ``event_id``) back to the main queue."""
    dead = dead_letter_queue_name(service, event_type)

    def reset(headers: dict) -> dict:
        return {key: value for key, value in headers.items() if key not in RETRY_STATE_HEADERS}

    if not _waiting(connection, dead):
        return 0
    return move_messages(
        connection,
        dead,
        queue_name(service, event_type),
        select=_matching(event_id),
        transform=reset,
        examine=_waiting(connection, dead),
    )


def drop(connection, service: str, event_type: str, event_id: str | None = None) -> int:
    """Remove dead letters (all, or the one with ``event_id``)."""
    dead = dead_letter_queue_name(service, event_type)
    examine, select = _waiting(connection, dead), _matching(event_id)
    if not examine:
        return 0
    channel = connection.channel()
    dropped = 0
    try:
        for _ in range(examine):
            message = channel.basic_get(dead, no_ack=False)
            if message is None:
                break
            if select is None or select(message):
                channel.basic_ack(message.delivery_tag)
                dropped += 1
    finally:
        channel.close()  # the others go back to the queue
    return dropped


# ---- command -------------------------------------------------------------------------


def _print_show(rows, with_payload: bool) -> None:
    if not rows:
        print("Nessun messaggio in questa coda.")
    for described, body in rows:
        print(
            f"evento {described['event_id'] or '-'}  tipo {described['type'] or '-'}  "
            f"motivo {described['reason'] or '-'}  tentativi {described['attempts']}  "
            f"errore {described['error'] or '-'}  primo errore {described['first_failure'] or '-'}"
            + (f"  campi {described['fields']}" if described["fields"] else "")
        )
        if with_payload:
            print("  " + (body if isinstance(body, str) else body.decode("utf-8", errors="replace")))


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - thin command
    from shared.config import LOCAL_DEFAULTS

    parser = argparse.ArgumentParser(
        prog="python -m shared.deadletters", description="Messaggi non consegnati"
    )
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"]))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="code con messaggi non consegnati e quanti")
    show_parser = commands.add_parser("show", help="i messaggi di una coda (senza toglierli)")
    show_parser.add_argument("queue")
    show_parser.add_argument("--limit", type=int, default=20)
    show_parser.add_argument(
        "--payload", action="store_true", help="mostra anche il contenuto (dati personali)"
    )
    for name, text in (
        ("replay", "rimette i messaggi nella coda principale"),
        ("drop", "elimina i messaggi"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("queue")
        command.add_argument("--event-id", help="solo il messaggio di questo evento")
    args = parser.parse_args(argv)

    try:
        with connect(args.amqp_uri) as connection:
            if args.command == "list":
                counts = {name: n for name, n in _counts(connection, subscriptions()).items() if n}
                for name, count in counts.items():
                    print(f"{name}\t{count}")
                if not counts:
                    print("Nessun messaggio non consegnato.")
                return 1 if counts else 0
            service, event_type = resolve(args.queue)
            if args.command == "show":
                _print_show(show(connection, service, event_type, args.limit), args.payload)
                return 0
            action = replay if args.command == "replay" else drop
            done = action(connection, service, event_type, args.event_id)
    except UnknownQueue as unknown:
        print(f"Coda sconosciuta: {unknown}. Usare `python -m shared.deadletters list`.", file=sys.stderr)
        return 2
    except Exception as exc:  # broker unreachable or refusing: say what, for the operator
        print(f"Errore del broker: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    if args.event_id and not done:
        dead = dead_letter_queue_name(service, event_type)
        print(f"Nessun messaggio dell'evento {args.event_id} in {dead}.", file=sys.stderr)
        return 4
    verb = f"rimessi in {queue_name(service, event_type)}" if args.command == "replay" else "eliminati"
    print(f"{done} messaggi {verb}.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
