"""Notify benchmark: notices per second, from the event published to the delivery recorded.

    .venv/bin/python bench/notify_bench.py
    .venv/bin/python bench/notify_bench.py --rate 150 --seconds 20

Starts its own notify (a process, max_workers 10) and SMTP sink on a throwaway RabbitMQ vhost
and a throwaway database (removed afterwards; loopback only), then publishes
``request_submitted`` events at a steady rate, each with its own e-mail address. For each,
notify writes the Notifiche entry and the delivery, sends the e-mail to the sink and records
it ``sent``: the latency is from the publish to that ``sent_at`` (both on this machine's
clock). Beside it, in the same run and at the same rate, the broker-only hop: the same
events published to a queue a bare consumer reads. A benchmark prints; it asserts nothing.
Needs the machine's RabbitMQ (``rabbitmqctl`` for the vhost) and PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from kombu import Connection, Producer, Queue  # noqa: E402

import shared  # noqa: E402,F401 - first: it filters eventlet's bugfix-mode notice
from bench.agenda_bench import free_port  # noqa: E402
from bench.routing_bench import (  # noqa: E402
    Collector,
    ThrowawayBroker,
    machine_line,
    percentile,
    print_table,
    throwaway_database_url,
)
from shared.config import LOCAL_DEFAULTS  # noqa: E402


def submitted(request_id: str) -> dict:
    from shared.events import make_event

    payload = {
        "request_id": request_id,
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "sollecito_domanda",
        "catalog_version": "combipat-2021",
        "area": "pensioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "patronato": {"ente": "001", "ufficio": "0001"},
        "contacts": {"email": f"bench-{request_id[:8]}@patronato.example", "sms": None},
        "requester": "bench",
        "submitted_at": datetime.now(UTC),
    }
    return make_event("request_submitted", payload, producer="bench").to_message()


def paced(amqp_uri: str, messages: list[tuple[str, dict]], routing_key: str, rate: float) -> dict[str, tuple]:
    """Publish at ``rate`` per second; returns, per key, (perf_counter, wall clock) at publish."""
    from shared.messaging import events_exchange

    published = {}
    interval = 1.0 / rate
    with Connection(amqp_uri) as connection:
        producer = Producer(connection.default_channel, exchange=events_exchange, serializer="json")
        started = time.perf_counter()
        for index, (key, body) in enumerate(messages):
            delay = started + index * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            published[key] = (time.perf_counter(), datetime.now(UTC))
            producer.publish(body, routing_key=routing_key, delivery_mode=2)
    return published


def recorded(db_url: str) -> dict[str, tuple[datetime, str]]:
    """request id -> (sent_at or None, status) of its protocol e-mail; and the inbox count."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT request_id, sent_at, status FROM deliveries"
                    " WHERE channel = 'email' AND template = 'protocol_registered'"
                )
            ).all()
            notices = connection.execute(sa.text("SELECT count(*) FROM notices")).scalar()
    finally:
        engine.dispose()
    return {str(row.request_id): (row.sent_at, row.status) for row in rows}, notices


def row(
    name: str, rate: float, latencies: list[float], total: int, span: float, base_p95: float | None
) -> list:
    latencies = sorted(latencies)
    if not latencies:
        return [name, f"{rate:g}", f"0/{total}", "-", "-", "-", "-", "-", "-"]
    p95 = percentile(latencies, 0.95)
    return [
        name,
        f"{rate:g}",
        f"{len(latencies)}/{total}",
        f"{len(latencies) / span:,.0f}" if span > 0 else "-",
        f"{percentile(latencies, 0.5):.1f}",
        f"{p95:.1f}",
        f"{percentile(latencies, 0.99):.1f}",
        f"{latencies[-1]:.1f}",
        f"{p95 / base_p95:.0f}x" if base_p95 else "1x",
    ]


def bench(rate: float, seconds: float, timeout: float, instances: int = 1) -> float | None:
    """Returns the deliveries recorded per second (None if the warm-up did not finish)."""
    from deploy.local.stack import service_argv, smtp_sink_argv, stop_pid, wait_for_port
    from shared.messaging import events_exchange
    from shared.migrations import drop_database, upgrade
    from shared.queue_tools import declare_topology

    amqp_uri = os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"])
    broker = ThrowawayBroker(amqp_uri)
    db_url = throwaway_database_url("notify")
    work = Path(tempfile.mkdtemp(prefix="combid-bench-notify-"))
    processes = []
    try:
        declare_topology(broker.uri)
        upgrade("notify", db_url)
        smtp_port = free_port()
        sink_log = open(work / "smtp.log", "wb")
        processes.append(
            subprocess.Popen(
                smtp_sink_argv(smtp_port, work / "mail"),
                stdout=sink_log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )
        )
        wait_for_port("127.0.0.1", smtp_port, 20, "SMTP sink")
        env = dict(
            os.environ,
            AMQP_URI=broker.uri,
            NOTIFY_DATABASE_URL=db_url,
            SMTP_PORT=str(smtp_port),
            SMS_GATEWAY_URL="",
            LOG_LEVEL="WARNING",
            COMBID_ENV="development",
        )
        log = open(work / "notify.log", "wb")
        # several instances consume from the same queues (competing consumers)
        for _ in range(instances):
            processes.append(
                subprocess.Popen(
                    service_argv("notify"), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
                )
            )

        # warm-up (not measured): the service starts, opens its pools
        warm = [str(uuid.uuid4()) for _ in range(20)]
        paced(broker.uri, [(key, submitted(key)) for key in warm], "request_submitted", 50)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, _ = recorded(db_url)
            if sum(1 for key in warm if done.get(key, (None, ""))[1] == "sent") == len(warm):
                break
            time.sleep(0.5)
        else:
            print(f"riscaldamento non concluso: log in {work}")
            return None
        # every instance has started consuming (the warm-up may have met the first one only)
        time.sleep(3.0 if instances > 1 else 0.0)

        count = int(rate * seconds)
        keys = [str(uuid.uuid4()) for _ in range(count)]
        from bench.bench_stack import CpuShare

        cpu = CpuShare(process.pid for process in processes[1:])
        sink_cpu = CpuShare([processes[0].pid])
        published = paced(broker.uri, [(key, submitted(key)) for key in keys], "request_submitted", rate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done, notices = recorded(db_url)
            if sum(1 for key in keys if done.get(key, (None, ""))[1] == "sent") == count:
                break
            time.sleep(0.5)
        done, notices = recorded(db_url)
        cpu_line = cpu.line(f"{instances} processi notify" if instances > 1 else "il processo notify")
        cpu_line += " " + sink_cpu.line("sink SMTP").split(";")[0].replace("CPU durante la prova: ", "")
        latencies = [
            (done[key][0] - wall).total_seconds() * 1000
            for key, (_, wall) in published.items()
            if key in done and done[key][0] is not None
        ]
        last = max((done[key][0] for key in keys if key in done and done[key][0]), default=None)
        first_wall = min(wall for _, wall in published.values())
        span = (last - first_wall).total_seconds() if last else 0.0

        plain = Queue("bench.baseline", exchange=events_exchange, routing_key="bench.baseline")
        with Connection(broker.uri) as connection:
            plain(connection.default_channel).declare()
        collector = Collector(broker.uri, plain, lambda body: body["payload"]["request_id"])
        collector.start()
        collector.ready.wait(10)
        base_keys = [str(uuid.uuid4()) for _ in range(count)]
        base_published = paced(
            broker.uri, [(key, submitted(key)) for key in base_keys], "bench.baseline", rate
        )
        collector.wait_for(count, timeout)
        collector.stopping.set()
        collector.join(5)
        base = [
            (collector.received[key] - started) * 1000
            for key, (started, _) in base_published.items()
            if key in collector.received
        ]
        base_span = (
            max(collector.received.values()) - min(started for started, _ in base_published.values())
            if collector.received
            else 0.0
        )
        base_p95 = percentile(sorted(base), 0.95) if base else None
        print_table(
            f"notify ({instances} istanz{'a' if instances == 1 else 'e'}): {count:,} request_submitted "
            f"a {rate:g}/s per {seconds:g} s "
            "(notifica nelle Notifiche + e-mail al sink SMTP, registrata 'sent')",
            [
                "caso",
                "offerti/s",
                "registrati",
                "al secondo",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "p95 / base",
            ],
            [
                row("base: solo il passaggio nel broker", rate, base, count, base_span, None),
                row("notify: pubblicato → consegna registrata", rate, latencies, count, span, base_p95),
            ],
        )
        print(
            f"Notifiche scritte: {notices:,} (attese {count + len(warm):,}); e-mail non inviate: "
            f"{count - len(latencies):,}."
        )
        print(cpu_line)
        return len(latencies) / span if span > 0 else None
    finally:
        for process in reversed(processes):
            stop_pid(process.pid)
        drop_database(db_url)
        broker.remove()
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark di notify")
    parser.add_argument("--rate", type=float, default=100.0, help="eventi al secondo")
    parser.add_argument("--seconds", type=float, default=20.0, help="durata del carico")
    parser.add_argument("--timeout", type=float, default=120.0, help="attesa massima delle consegne")
    parser.add_argument(
        "--instances", type=int, default=1, help="processi notify (consumatori in concorrenza)"
    )
    args = parser.parse_args(argv)
    print(machine_line("p99 e max"))
    bench(min(args.rate, 1000), min(args.seconds, 300), args.timeout, max(1, min(args.instances, 4)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
