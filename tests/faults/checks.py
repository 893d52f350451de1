"""What must hold once the system has settled after the outages, counted from the stack's
own databases, vhost and SMTP sink."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import requests
import sqlalchemy as sa
from kombu import Connection

from deploy.local.sms_sink import read_sms
from deploy.local.smtp_sink import read_mails
from services.notify.messages import TEMPLATE_PROTOCOL_REGISTERED, TEMPLATE_REQUEST_ROUTED
from shared.messaging import all_queues, dead_letter_queue_name, subscriptions
from shared.migrations import SERVICES_WITH_DATABASE

EXPECTED_TEMPLATES = (TEMPLATE_PROTOCOL_REGISTERED, TEMPLATE_REQUEST_ROUTED)


def rows(url: str, sql: str, **params) -> list:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def queue_depths(amqp_uri: str, names) -> dict[str, int]:
    """Messages waiting in each queue, by passive declare (a missing queue counts 0)."""
    depths = {}
    with Connection(amqp_uri, connect_timeout=5) as connection:
        for name in names:
            channel = connection.channel()
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except Exception:  # not declared (a topology without it)
                depths[name] = 0
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return depths


@dataclass
class Snapshot:
    """The system's state as counted once."""

    accepted: int = 0
    requests_in_intake: int = 0
    accepted_missing: list = field(default_factory=list)  # 2xx ids intake does not have
    unaccepted_stored: int = 0  # stored although the client saw no 2xx (gateway killed mid-call)
    routed_once: int = 0
    unrouted: list = field(default_factory=list)
    routed_twice: list = field(default_factory=list)
    intake_unassigned: int = 0  # routed, but intake has not recorded the assignment (yet)
    emails_expected: int = 0
    emails_sent_once: int = 0
    emails_failed_recorded: int = 0
    emails_missing: list = field(default_factory=list)
    emails_duplicated: list = field(default_factory=list)
    # the same message (same Message-ID) handed to the SMTP server again: one in the mailbox
    emails_retransmitted: int = 0
    sms_expected: int = 0
    sms_sent_once: int = 0
    sms_failed_recorded: int = 0
    sms_missing: list = field(default_factory=list)
    sms_duplicated: list = field(default_factory=list)
    failure_reasons: Counter = field(default_factory=Counter)
    dead_letters: dict = field(default_factory=dict)
    queued: dict = field(default_factory=dict)
    outbox_pending: dict = field(default_factory=dict)
    ready: bool = False
    ready_checks: dict = field(default_factory=dict)
    program_states: dict = field(default_factory=dict)
    restarts: dict = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        return (
            not self.unrouted
            and not self.intake_unassigned
            and not self.emails_missing
            and not self.sms_missing
            and not any(self.queued.values())
            and not any(self.outbox_pending.values())
        )

    def problems(self) -> list[str]:
        found = []
        if self.accepted_missing:
            found.append(
                f"{len(self.accepted_missing)} richieste accettate (2xx) mancano in intake: "
                f"{self.accepted_missing[:5]}"
            )
        if self.unrouted:
            found.append(f"{len(self.unrouted)} richieste mai instradate: {self.unrouted[:5]}")
        if self.routed_twice:
            found.append(
                f"{len(self.routed_twice)} richieste instradate più di una volta: {self.routed_twice[:5]}"
            )
        if self.intake_unassigned:
            found.append(
                f"{self.intake_unassigned} richieste instradate senza assegnazione registrata in intake"
            )
        if self.emails_missing:
            found.append(
                f"{len(self.emails_missing)} e-mail né inviate né registrate come fallite: "
                f"{self.emails_missing[:5]}"
            )
        if self.emails_duplicated:
            found.append(
                f"{len(self.emails_duplicated)} e-mail inviate più di una volta: {self.emails_duplicated[:5]}"
            )
        if self.sms_missing:
            found.append(
                f"{len(self.sms_missing)} SMS né inviati né registrati come falliti: {self.sms_missing[:5]}"
            )
        if self.sms_duplicated:
            found.append(
                f"{len(self.sms_duplicated)} SMS inviati più di una volta: {self.sms_duplicated[:5]}"
            )
        dead = {name: count for name, count in self.dead_letters.items() if count}
        if dead:
            found.append(f"dead letter rimaste: {dead}")
        queued = {name: count for name, count in self.queued.items() if count}
        if queued:
            found.append(f"messaggi ancora in coda: {queued}")
        pending = {name: count for name, count in self.outbox_pending.items() if count}
        if pending:
            found.append(f"righe di outbox non pubblicate: {pending}")
        down = {name: state for name, state in self.program_states.items() if state != "RUNNING"}
        if down:
            found.append(f"processi non in esecuzione: {down}")
        if not self.ready:
            found.append(f"/ready non risponde 200: {self.ready_checks}")
        return found


def delivery_id_of(message_id) -> str:
    """``<delivery id@domain>`` -> the delivery id."""
    return str(message_id or "").strip().strip("<>").partition("@")[0]


def snapshot(stack, accepted_ids: set[str]) -> Snapshot:
    infra = stack.infra
    shot = Snapshot(accepted=len(accepted_ids))
    stored = {
        str(r.id): r
        for r in rows(
            infra.database_url("intake"), "SELECT id, assignment IS NOT NULL AS assigned FROM requests"
        )
    }
    shot.requests_in_intake = len(stored)
    shot.accepted_missing = sorted(accepted_ids - set(stored))
    shot.unaccepted_stored = len(set(stored) - accepted_ids)

    decisions = Counter(
        str(r.request_id)
        for r in rows(infra.database_url("routing"), "SELECT request_id FROM routing_decisions")
    )
    for request_id, row in stored.items():
        count = decisions.get(request_id, 0)
        if count == 0:
            shot.unrouted.append(request_id)
        elif count == 1:
            shot.routed_once += 1
        else:
            shot.routed_twice.append(request_id)
        if count and not row.assigned:
            shot.intake_unassigned += 1

    deliveries = rows(
        infra.database_url("notify"),
        "SELECT id, request_id, template, status, error FROM deliveries WHERE channel = 'email'",
    )
    by_key: dict[tuple, list] = {}
    for delivery in deliveries:
        by_key.setdefault((str(delivery.request_id), delivery.template), []).append(delivery)
    # what the sink received, by Message-ID: notify derives it from the delivery id, so a
    # message sent again after an unknown outcome is the same message (one in the mailbox)
    received = Counter(delivery_id_of(mail["Message-ID"]) for mail in read_mails(stack.maildir))
    for request_id in stored:
        for template in EXPECTED_TEMPLATES:
            shot.emails_expected += 1
            found = by_key.get((request_id, template), [])
            sent = [d for d in found if d.status == "sent"]
            failed = [d for d in found if d.status == "failed" and d.error]
            in_mailbox = [d for d in found if received.get(str(d.id))]
            shot.emails_retransmitted += sum(received[str(d.id)] - 1 for d in in_mailbox)
            if len(sent) == 1 and len(in_mailbox) == 1 and in_mailbox[0].id == sent[0].id:
                shot.emails_sent_once += 1
            elif not sent and failed and not in_mailbox:
                shot.emails_failed_recorded += 1
                shot.failure_reasons[failed[0].error[:80]] += 1
            elif len(found) > 1 or len(in_mailbox) > 1:
                shot.emails_duplicated.append(
                    f"{request_id}/{template}: {len(found)} registrate, {len(in_mailbox)} diverse ricevute"
                )
            else:
                shot.emails_missing.append(f"{request_id}/{template}")

    count_sms(shot, stack, stored)

    dead = [dead_letter_queue_name(service, event_type) for service, event_type in subscriptions()]
    shot.dead_letters = queue_depths(infra.amqp_uri, dead)
    # consumers' queues and the delay queues of the retries
    shot.queued = queue_depths(
        infra.amqp_uri, [queue.name for queue in all_queues() if queue.name not in dead]
    )
    for service in SERVICES_WITH_DATABASE:
        shot.outbox_pending[service] = rows(
            infra.database_url(service), "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
        )[0].n

    shot.program_states = {row["name"]: row["state"] for row in stack.supervisor.status_rows()}
    shot.restarts = stack.restarts()
    try:
        response = requests.get(f"{stack.url}/ready", timeout=10)
        shot.ready, shot.ready_checks = response.status_code == 200, response.json().get("checks", {})
    except (requests.RequestException, ValueError) as exc:
        shot.ready_checks = {"gateway": exc.__class__.__name__}
    return shot


def count_sms(shot: Snapshot, stack, stored) -> None:
    """Each request's SMS (protocol and routing): sent once (one delivery, one SMS the gateway
    accepted under its order id) or failed with the reason (the landline numbers)."""
    deliveries = rows(
        stack.infra.database_url("notify"),
        "SELECT id, request_id, template, status, error FROM deliveries WHERE channel = 'sms'",
    )
    by_key: dict[tuple, list] = {}
    for delivery in deliveries:
        by_key.setdefault((str(delivery.request_id), delivery.template), []).append(delivery)
    received = Counter(sms.get("order_id") for sms in read_sms(stack.sms_dir))
    for request_id in stored:
        for template in EXPECTED_TEMPLATES:
            shot.sms_expected += 1
            found = by_key.get((request_id, template), [])
            sent = [d for d in found if d.status == "sent"]
            failed = [d for d in found if d.status == "failed" and d.error]
            at_gateway = sum(received.get(str(d.id), 0) for d in found)
            if len(sent) == 1 and len(found) == 1 and at_gateway == 1:
                shot.sms_sent_once += 1
            elif failed and not sent and at_gateway == 0:
                shot.sms_failed_recorded += 1
                shot.failure_reasons[f"SMS: {failed[0].error[:70]}"] += 1
            elif len(found) > 1 or at_gateway > 1:
                shot.sms_duplicated.append(
                    f"{request_id}/{template}: {len(found)} registrati, {at_gateway} al gateway"
                )
            else:
                shot.sms_missing.append(f"{request_id}/{template}")


def settle(stack, accepted_ids: set[str], timeout: float, say) -> Snapshot:
    """Snapshots until everything is routed, delivered and drained, or ``timeout`` passes
    (with retries backing off, the last e-mails may come a couple of minutes after the
    SMTP server is back). Returns the last snapshot."""
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while True:
        try:
            shot = snapshot(stack, accepted_ids)
        except Exception as exc:  # a database or the broker still coming back
            say(f"conteggio non riuscito ({exc.__class__.__name__}), riprovo")
            shot = None
        if shot is not None and shot.settled:
            return shot
        if time.monotonic() >= deadline:
            return shot if shot is not None else snapshot(stack, accepted_ids)
        if shot is not None and time.monotonic() - last_report > 15:
            say(
                f"in attesa: {len(shot.unrouted)} non instradate, "
                f"{len(shot.emails_missing)} e-mail mancanti, {len(shot.sms_missing)} SMS mancanti, "
                f"{sum(shot.queued.values())} in coda, {sum(shot.outbox_pending.values())} in outbox"
            )
            last_report = time.monotonic()
        time.sleep(3)


def table(load, shot: Snapshot, killed: list[str]) -> str:
    outcomes = load.outcomes()
    lines = [
        ("richieste inviate", load.sent),
        *[(f"  {name}", count) for name, count in sorted(outcomes.items())],
        ("richieste in intake", shot.requests_in_intake),
        ("  accettate ma assenti in intake", len(shot.accepted_missing)),
        ("  salvate senza 2xx al client", shot.unaccepted_stored),
        ("instradate una volta", shot.routed_once),
        ("  mai instradate", len(shot.unrouted)),
        ("  instradate più volte", len(shot.routed_twice)),
        ("e-mail attese", shot.emails_expected),
        ("  inviate una volta", shot.emails_sent_once),
        ("  fallite, con motivo registrato", shot.emails_failed_recorded),
        ("  mancanti", len(shot.emails_missing)),
        ("  duplicate", len(shot.emails_duplicated)),
        ("  ritrasmesse con lo stesso Message-ID", shot.emails_retransmitted),
        ("SMS attesi", shot.sms_expected),
        ("  inviati una volta", shot.sms_sent_once),
        ("  falliti, con motivo registrato", shot.sms_failed_recorded),
        ("  mancanti", len(shot.sms_missing)),
        ("  duplicati", len(shot.sms_duplicated)),
        ("dead letter", sum(shot.dead_letters.values())),
        ("messaggi in coda", sum(shot.queued.values())),
        ("outbox non pubblicato", sum(shot.outbox_pending.values())),
        ("processi non RUNNING", sum(1 for s in shot.program_states.values() if s != "RUNNING")),
        ("/ready", "200" if shot.ready else f"non pronto {shot.ready_checks}"),
    ]
    lines += [
        (f"riavvii di {name} (supervisor)", shot.restarts.get(name, 0)) for name in sorted(shot.restarts)
    ]
    for reason, count in shot.failure_reasons.items():
        lines.append((f"  motivo: {reason}", count))
    width = max(len(label) for label, _ in lines)
    return (
        "\n".join(f"{label:<{width}}  {value}" for label, value in lines)
        + f"\nprocessi uccisi: {', '.join(killed)}"
    )
