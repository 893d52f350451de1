"""Operations on the broker's queues: their state, moving messages with publisher confirms,
and converting what an earlier layout left behind to the current topology.

    python -m shared.queue_tools                    declare the topology; converts an earlier
                                                  layout first, if nothing consumes from it
    python -m shared.queue_tools migrate [--dry-run]  the same, checking every queue even in a
                                                  vhost marked as converted, listing each step

A queue cannot change type or arguments in place (the broker answers PRECONDITION_FAILED),
so each mismatched queue is rebuilt: a temporary ``<queue>.migrating`` takes its bindings
and its messages, the queue is deleted (only when empty) and declared anew, the messages
move back. A message is acknowledged at its source only after the broker confirmed its
copy, so an interruption may duplicate (consumers dedupe) but never lose; a rerun finishes
the job, leftover ``.migrating`` queues included. The per-consumer ``.retry`` queues of
earlier versions are emptied into their main queue and removed.

Exit codes: 0 done, 1 refused (a consumer is attached: stop the services first),
3 broker unreachable or broker error.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Queue

from shared.messaging import (
    EVENTS_EXCHANGE_NAME,
    LEGACY_DETAIL_HEADER,
    QUORUM,
    all_queues,
    declared_ahead,
    events_exchange,
    legacy_retry_queue_name,
    queue_name,
    retry_exchange,
    subscriptions,
)

TEMPORARY_SUFFIX = ".migrating"
# Declared once a vhost holds the current layout (and no conversion is half done): its
# presence spares every later `make run` the search for queues of an earlier layout.
LAYOUT_MARKER = Exchange("combid.layout.quorum-v1", type="fanout", durable=True)
# Set by the broker on each delivery; meaningless once the message sits in another queue.
BROKER_DELIVERY_HEADERS = ("x-delivery-count",)


class TopologyMismatch(Exception):
    def __init__(self, mismatches):
        self.mismatches = mismatches
        super().__init__(", ".join(m.name for m in mismatches))


class MigrationRefused(Exception):
    def __init__(self, busy):
        self.busy = busy
        super().__init__(", ".join(m.name for m in busy))


@dataclass(frozen=True)
class Mismatch:
    name: str
    kind: str  # "arguments" | "legacy_retry" | "leftover" | "consumed" (blocks a migration)
    target: str  # the queue that keeps the messages in the end
    messages: int
    consumers: int

    def describe(self) -> str:
        what = {
            "arguments": "tipo o argomenti diversi (es. classica invece di quorum): da ricreare",
            "legacy_retry": f"coda di ritentativo della versione precedente: svuotata in {self.target}"
            " e rimossa",
            "leftover": f"coda temporanea di una conversione interrotta: svuotata in {self.target}",
        }[self.kind]
        return f"{self.name} ({self.messages} messaggi): {what}"


def connect(amqp_uri: str, timeout: float = 10.0, retries: int = 2) -> Connection:
    """A connection whose publishes wait for the broker's confirm (or raise)."""
    connection = Connection(amqp_uri, connect_timeout=timeout, transport_options={"confirm_publish": True})
    connection.ensure_connection(max_retries=retries)
    return connection


def queue_state(connection: Connection, name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, or None if it does not exist."""
    channel = connection.channel()
    try:
        declared = channel.queue_declare(name, passive=True)
        return declared.message_count, declared.consumer_count
    except NotFound:
        return None
    finally:
        _close(channel)


def move_messages(connection, source: str, target: str, select=None, transform=None, examine=None) -> int:
    """Move messages from ``source`` to queue ``target``; returns how many moved.

    ``select(message)`` False leaves a message where it is; ``transform(headers)`` edits
    the headers of each moved message; at most ``examine`` messages are looked at.
    """
    channel = connection.channel()
    moved = examined = 0
    try:
        while examine is None or examined < examine:
            message = channel.basic_get(source, no_ack=False)
            if message is None:
                break
            examined += 1
            if select is not None and not select(message):
                continue  # stays unacknowledged: the broker gives it back when the channel closes
            headers = {k: v for k, v in (message.headers or {}).items() if k not in BROKER_DELIVERY_HEADERS}
            message.properties["application_headers"] = transform(headers) if transform else headers
            channel.basic_publish(message, exchange="", routing_key=target, mandatory=True)
            channel.basic_ack(message.delivery_tag)
            moved += 1
    finally:
        _close(channel)
    return moved


def _close(channel) -> None:
    try:
        channel.close()
    except Exception:  # already closed by a channel error: nothing to release
        pass


# ---- finding and converting an earlier layout ----------------------------------------


def _exchange_exists(connection, name: str) -> bool:
    channel = connection.channel()
    try:
        channel.exchange_declare(name, "fanout", passive=True)
        return True
    except NotFound:
        return False
    finally:
        _close(channel)


def layout_may_be_outdated(connection) -> bool:
    """True where queues of an earlier layout may exist: the events exchange is there
    (the vhost was used) but not the marker of the current layout."""
    if _exchange_exists(connection, LAYOUT_MARKER.name):
        return False
    return _exchange_exists(connection, EVENTS_EXCHANGE_NAME)


def declare_layout_marker(channel) -> None:
    LAYOUT_MARKER(channel).declare()


def find_mismatches(connection, queues: list[Queue]) -> list[Mismatch]:
    """Check each existing queue against its declaration; report those the broker refuses,
    the legacy retry queues and leftovers of an interrupted conversion. Legacy first: they
    feed main queues, which must still exist while they are emptied. Creates nothing but
    the main queues (declared ahead anyway)."""
    found = []
    for service, event_type in subscriptions():
        state = queue_state(connection, legacy_retry_queue_name(service, event_type))
        if state:
            found.append(
                Mismatch(
                    legacy_retry_queue_name(service, event_type),
                    "legacy_retry",
                    queue_name(service, event_type),
                    *state,
                )
            )
    ahead = {queue.name for queue in declared_ahead()}
    for queue in queues:
        if queue.name in ahead or queue_state(connection, queue.name) is not None:
            channel = connection.channel()
            try:
                queue(channel).declare()
            except PreconditionFailed:
                state = queue_state(connection, queue.name)
                found.append(Mismatch(queue.name, "arguments", queue.name, *state))
            finally:
                _close(channel)
        state = queue_state(connection, queue.name + TEMPORARY_SUFFIX)
        if state:
            found.append(Mismatch(queue.name + TEMPORARY_SUFFIX, "leftover", queue.name, *state))
    return found


def migrate_topology(connection, queues: list[Queue], mismatches: list[Mismatch]) -> list[str]:
    """Convert every mismatch; returns one line (Italian) per conversion.

    Refused while a service consumes: a running consumer republishes into the queues being
    rebuilt (retries, dead letters), and a message published between draining a queue and
    deleting it would be lost.
    """
    if not mismatches:
        return []
    busy = {m.name: m for m in mismatches if m.consumers}
    busy.update({m.name: m for m in _consumed_main_queues(connection)})
    busy = list(busy.values())
    if busy:
        raise MigrationRefused(busy)
    by_name = {queue.name: queue for queue in queues}
    lines = []
    for mismatch in mismatches:
        if mismatch.kind == "arguments":
            moved = rebuild_queue(connection, by_name[mismatch.name])
            lines.append(f"{mismatch.name}: ricreata come quorum, {moved} messaggi conservati")
        else:
            if queue_state(connection, mismatch.target) is None:
                by_name[mismatch.target](connection.default_channel).declare()
            moved = _empty_and_delete(connection, mismatch.name, mismatch.target)
            lines.append(f"{mismatch.name}: {moved} messaggi spostati in {mismatch.target}, coda rimossa")
    return lines


def _consumed_main_queues(connection) -> list[Mismatch]:
    busy = []
    for service, event_type in subscriptions():
        state = queue_state(connection, queue_name(service, event_type))
        if state and state[1]:
            busy.append(Mismatch(queue_name(service, event_type), "consumed", "", *state))
    return busy


def rebuild_queue(connection, queue: Queue) -> int:
    """Recreate ``queue`` with its declared arguments, keeping its messages and (through a
    temporary queue bound like it) what is published meanwhile. Returns the messages kept."""
    temporary = Queue(
        queue.name + TEMPORARY_SUFFIX,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        binding_arguments=queue.binding_arguments,
        durable=True,
        queue_arguments=dict(QUORUM),
    )
    bound = bool(queue.exchange and queue.exchange.name)
    channel = connection.channel()
    try:
        temporary(channel).declare()
        if bound:
            channel.queue_unbind(queue.name, queue.exchange.name, queue.routing_key, queue.binding_arguments)
    finally:
        _close(channel)
    kept = _empty_and_delete(connection, queue.name, temporary.name)
    channel = connection.channel()
    try:
        queue(channel).declare()
        if bound:  # from here the new queue receives; a copy in both is deduplicated downstream
            channel.queue_unbind(
                temporary.name, queue.exchange.name, queue.routing_key, queue.binding_arguments
            )
    finally:
        _close(channel)
    _empty_and_delete(connection, temporary.name, queue.name)
    return kept


def _without_legacy_detail(headers: dict) -> dict:
    headers.pop(LEGACY_DETAIL_HEADER, None)  # the exception text of earlier versions
    return headers


def _empty_and_delete(connection, source: str, target: str) -> int:
    """Nothing feeds ``source`` any more (unbound, no consumer anywhere), so once seen
    empty it stays empty. (Quorum queues refuse delete-if-empty, hence the check first.)"""
    moved = 0
    for _ in range(20):
        moved += move_messages(connection, source, target, transform=_without_legacy_detail)
        state = queue_state(connection, source)
        if state is None:
            return moved
        if state == (0, 0):
            channel = connection.channel()
            try:
                channel.queue_delete(source)
            finally:
                _close(channel)
            return moved
    raise RuntimeError(f"{source}: continua a ricevere messaggi, impossibile rimuoverla")


def declare_topology(
    amqp_uri: str, schedule: tuple[int, ...] | None = None, migrate: bool = True
) -> list[str]:
    """Declare the exchanges, the main queues and their bindings; idempotent. Returns the
    queue names.

    A vhost with the layout of an earlier version is converted
    first when ``migrate`` (nothing may consume meanwhile: ``MigrationRefused`` says which);
    otherwise ``TopologyMismatch`` names the queues to convert.
    """
    with connect(amqp_uri) as connection:
        if layout_may_be_outdated(connection):
            queues = all_queues(schedule)
            mismatches = find_mismatches(connection, queues)
            if mismatches and not migrate:
                raise TopologyMismatch(mismatches)
            migrate_topology(connection, queues, mismatches)
        channel = connection.channel()
        events_exchange(channel).declare()
        retry_exchange(channel).declare()
        for queue in declared_ahead():
            queue(channel).declare()
        declare_layout_marker(channel)
        channel.close()
    return [queue.name for queue in declared_ahead()]


# ---- command -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - thin command
    from shared.config import LOCAL_DEFAULTS

    parser = argparse.ArgumentParser(
        prog="python -m shared.queue_tools",
        description="Dichiara exchange e code degli eventi; converte le code di una versione precedente",
    )
    parser.add_argument("command", nargs="?", default="declare", choices=["declare", "migrate"])
    parser.add_argument("--dry-run", action="store_true", help="elenca le conversioni senza eseguirle")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"]))
    args = parser.parse_args(argv)
    try:
        queues = all_queues()
        with connect(args.amqp_uri) as connection:
            # `migrate` checks every queue; the declare of `make run` only a vhost not yet converted
            check = args.command == "migrate" or layout_may_be_outdated(connection)
            mismatches = find_mismatches(connection, queues) if check else []
            for mismatch in mismatches:
                print(f"da convertire: {mismatch.describe()}")
            if args.dry_run:
                print("da convertire: niente" if not mismatches else "(prova: nulla è stato cambiato)")
                return 0
            for line in migrate_topology(connection, queues, mismatches):
                print(line)
        names = declare_topology(args.amqp_uri, migrate=False)
    except PreconditionFailed as refused:  # a vhost marked as converted, yet a queue differs
        print(
            f"{refused}\nFermare i servizi (`make stop`) e lanciare `python -m shared.queue_tools migrate`.",
            file=sys.stderr,
        )
        return 1
    except MigrationRefused as refused:
        print(
            "Conversione non eseguita: queste code hanno consumatori collegati: "
            + ", ".join(f"{m.name} ({m.consumers})" for m in refused.busy)
            + ".\nFermare i servizi (`make stop`) e rieseguire `python -m shared.queue_tools migrate`.",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # broker unreachable or refusing: say what, for the operator
        print(f"Errore del broker: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    print(
        f"topologia dichiarata: exchange {EVENTS_EXCHANGE_NAME}, {len(names)} code principali (quorum); "
        "code di attesa e di messaggi non consegnati create all'occorrenza"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
