"""Routing benchmark: how fast routing decides, in memory and end to end.

    .venv/bin/python bench/routing_bench.py                 # both parts
    .venv/bin/python bench/routing_bench.py --skip-e2e      # in-memory part only

Part 1 — in memory: ``RoutingTable.decide`` on the committed sample data, over a fixed
(seeded) mix of request kinds; decisions per second and the latency of one decision
(p50/p99/max), beside a baseline measured in the same run (a bare dict look-up per
request) and the ratio between the two. Goal: well under 0.1 ms per decision.

Part 2 — end to end: a burst of ``request_submitted`` events published to a running
routing service (started here as a process, on a throwaway RabbitMQ vhost and a throwaway
database that are removed afterwards), timed from publish to the ``request_routed``
received on a throwaway queue; beside it the same burst through the broker alone.
Loopback only, bounded in count and time. Needs the machine's RabbitMQ (``rabbitmqctl``
for the vhost) and PostgreSQL: ``AMQP_URI`` and ``ROUTING_DATABASE_URL`` (local defaults).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from kombu import Connection, Consumer, Producer, Queue  # noqa: E402

import shared  # noqa: E402,F401 - first: it filters eventlet's bugfix-mode notice
from services.routing.decision.table import RoutingTable  # noqa: E402
from services.routing.reference.dataset import SAMPLE_DIR, read_reference  # noqa: E402
from services.routing.reference.istat import all_comuni  # noqa: E402
from shared.clock import rome_date  # noqa: E402
from shared.config import LOCAL_DEFAULTS  # noqa: E402

# ---- statistics and tables ----------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    line = "+-" + "-+-".join("-" * width for width in widths) + "-+"
    print(f"\n{title}")
    print(line)
    print(
        "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=False)) + " |"
    )
    print(line)
    for row in rows:
        print(
            "| " + " | ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=False)) + " |"
        )
    print(line)


# ---- part 1: decisions in memory ----------------------------------------------------------------


def request_mix(data, count: int, seed: int = 20261123) -> list[dict]:
    """A fixed mix of the request kinds routing sees (shares are a guess at real traffic)."""
    rng = random.Random(seed)
    caps = sorted({cap for _, comune_caps in all_comuni().values() for cap in comune_caps})
    offices = [(o.ente, o.ufficio) for o in data.patronato_offices]
    registered = [c.matricola for c in data.companies]
    prefixes = [p.prefix for p in data.matricola_prefixes]
    kinds = [
        (0.50, lambda: operatore(rng.choice(caps), "sollecito_domanda", "pensioni")),
        (0.10, lambda: operatore(rng.choice(caps), "prestazione_in_corso_o_respinta", "sostegno_reddito")),
        (0.10, lambda: referente(*rng.choice(offices))),
        (0.12, lambda: cassetto(rng.choice(registered), "dm_uniemens")),
        (
            0.10,
            lambda: cassetto(f"{rng.choice(prefixes)}{rng.randrange(10**8):08d}", "regolarita_contributiva"),
        ),
        (0.04, lambda: cassetto(f"{rng.choice(prefixes)}{rng.randrange(10**8):08d}", "f24")),
        (
            0.04,
            lambda: operatore(f"9{rng.randrange(10**4):04d}", "sollecito_domanda", "pensioni"),
        ),  # unknown CAP
    ]
    weights = [share for share, _ in kinds]
    return [rng.choices(kinds, weights)[0][1]() for _ in range(count)]


def operatore(cap, subject, area):
    return {
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": subject,
        "area": area,
        "citizen": {"cap": cap},
    }


def referente(ente, ufficio):
    return {
        "channel": "combipat",
        "profile": "referente_regionale",
        "subject": "chiarimento_normativo",
        "area": "normativa",
        "patronato": {"ente": ente, "ufficio": ufficio},
    }


def cassetto(matricola, subject):
    return {
        "channel": "cassetto",
        "profile": "azienda",
        "subject": subject,
        "area": "soggetto_contribuente",
        "matricola": matricola,
    }


def timed_each(function, items) -> list[float]:
    """Latency of each call, in microseconds."""
    clock = time.perf_counter_ns
    latencies = []
    for item in items:
        started = clock()
        function(item)
        latencies.append((clock() - started) / 1000)
    return latencies


def throughput(function, items, rounds: int = 3) -> float:
    """Calls per second over ``items``, the best of a few rounds."""
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def bench_in_memory(count: int) -> None:
    data = read_reference(SAMPLE_DIR).data
    table = RoutingTable("sample-bench", data)
    requests = request_mix(data, count)
    today = rome_date(datetime.now(UTC))
    for payload in requests:  # warm-up: the day's view, the CAP cache
        table.decide(payload, today)

    # Baseline: what routing would cost if every answer were precomputed in one dict.
    answers = {id(payload): "0704" for payload in requests}
    baseline = answers.get
    keys = [id(payload) for payload in requests]

    def decide(payload):
        return table.decide(payload, today)

    rows = []
    base_latency = sorted(timed_each(baseline, keys))
    base_rate = throughput(baseline, keys)
    decision_latency = timed_each(decide, requests)
    decision_rate = throughput(decide, requests)
    by_rule: dict[str, list[float]] = {}
    for payload, latency in zip(requests, decision_latency, strict=False):
        by_rule.setdefault(decide(payload).rule, []).append(latency)
    decision_latency.sort()
    base_p50 = percentile(base_latency, 0.5)

    def row(name, rate, latencies):
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        return [
            name,
            len(latencies),
            f"{rate:,.0f}" if rate else "-",
            f"{p50:.2f}",
            f"{p99:.2f}",
            f"{latencies[-1]:.1f}",
            f"{p50 / base_p50:.0f}x",
        ]

    rows.append(row("baseline: dict look-up", base_rate, base_latency))
    rows.append(row("routing decision (mix)", decision_rate, decision_latency))
    for rule, latencies in sorted(by_rule.items()):
        rows.append(row(f"  of which {rule}", None, sorted(latencies)))
    print_table(
        f"Part 1 — decisions in memory (sample data, {count:,} requests, {len(by_rule)} rules hit)",
        ["case", "n", "per second", "p50 µs", "p99 µs", "max µs", "p50 / baseline"],
        rows,
    )
    p99 = percentile(decision_latency, 0.99)
    verdict = "entro" if p99 < 100 else "OLTRE"
    print(f"p99 di una decisione: {p99:.1f} µs ({verdict} l'obiettivo di 100 µs = 0,1 ms)")


# ---- part 2: end to end through a running routing service -----------------------------------------


def machine_line(noisy: str = "p99 e max") -> str:
    """What every benchmark prints first: the cores and the load the figures were taken under."""
    return (
        f"Macchina: {os.cpu_count()} core, carico medio dell'ultimo minuto {os.getloadavg()[0]:.1f} "
        f"(altri processi attivi falsano soprattutto {noisy})."
    )


def throwaway_database_url(service: str) -> str:
    """A database of its own for one benchmark run, beside the service's (dropped afterwards)."""
    from shared.migrations import database_url

    base_url = urlparse(database_url(service))
    return urlunparse(base_url._replace(path=f"/combid_bench_{service}_{secrets.token_hex(4)}"))


class ThrowawayBroker:
    """A vhost of its own on the local broker, so the burst meets no other consumer."""

    def __init__(self, amqp_uri: str):
        parsed = urlparse(amqp_uri)
        self.rabbitmqctl = shutil.which("rabbitmqctl") or (
            "/usr/sbin/rabbitmqctl" if os.path.exists("/usr/sbin/rabbitmqctl") else None
        )
        if not self.rabbitmqctl or parsed.hostname not in ("127.0.0.1", "localhost"):
            raise RuntimeError("serve rabbitmqctl e un RabbitMQ locale per creare un vhost usa-e-getta")
        self.vhost = f"combid-bench-{secrets.token_hex(4)}"
        self._run("add_vhost", self.vhost)
        self._run("set_permissions", "-p", self.vhost, parsed.username or "guest", ".*", ".*", ".*")
        self.uri = urlunparse(parsed._replace(path=f"/{self.vhost}"))

    def _run(self, *args):
        subprocess.run([self.rabbitmqctl, *args], check=True, capture_output=True, timeout=60)

    def remove(self):
        self._run("delete_vhost", self.vhost)


class Collector(threading.Thread):
    """Consumes a queue and notes when each request's message arrived."""

    def __init__(self, amqp_uri: str, queue: Queue, key):
        super().__init__(daemon=True)
        self.amqp_uri, self.queue, self.key = amqp_uri, queue, key
        self.received: dict[str, float] = {}
        self.ready, self.stopping = threading.Event(), threading.Event()

    def run(self):
        with Connection(self.amqp_uri) as connection:

            def on_message(body, message):
                self.received.setdefault(self.key(body), time.perf_counter())
                message.ack()

            with Consumer(
                connection, [self.queue], callbacks=[on_message], accept=["json"], prefetch_count=500
            ):
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        connection.drain_events(timeout=0.2)
                    except TimeoutError:
                        continue

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)


def submitted_envelope(request_id: str) -> dict:
    from shared.events import make_event

    payload = operatore("00184", "sollecito_domanda", "pensioni")
    payload.update(
        request_id=request_id,
        protocol="BENCH",
        origin="patronato",
        catalog_version="combipat-2021",
        sla_days=10,
        citizen={
            "codice_fiscale": "RSSMRA85T10A562S",
            "cap": random.choice(("00184", "20121", "10060", "80133", "24121")),
        },
        contacts={"email": None, "sms": None},
        requester="bench",
        submitted_at=datetime.now(UTC),
    )
    return make_event("request_submitted", payload, producer="bench").to_message()


def burst(amqp_uri: str, messages: list[tuple[str, dict]], exchange, routing_key: str) -> dict[str, float]:
    """Publish every message as fast as one connection can (persistent, no wait for
    confirms: the burst, not the publisher, is under test; losses show in the counts);
    returns when each was handed to the broker."""
    published = {}
    with Connection(amqp_uri) as connection:
        producer = Producer(connection.default_channel, exchange=exchange, serializer="json")
        for key, body in messages:
            published[key] = time.perf_counter()
            producer.publish(body, routing_key=routing_key, delivery_mode=2)
    return published


def latency_row(
    name: str, published: dict[str, float], received: dict[str, float], base_p50: float | None
) -> list[str]:
    latencies = sorted((received[key] - published[key]) * 1000 for key in published if key in received)
    if not latencies:
        return [name, f"0/{len(published)}", "-", "-", "-", "-", "-", "-"]
    span = max(received[key] for key in published if key in received) - min(published.values())
    p50 = percentile(latencies, 0.5)
    ratio = f"{p50 / base_p50:.0f}x" if base_p50 else "1x"
    return [
        name,
        f"{len(latencies)}/{len(published)}",
        f"{len(latencies) / span:,.0f}",
        f"{p50:.1f}",
        f"{percentile(latencies, 0.9):.1f}",
        f"{percentile(latencies, 0.99):.1f}",
        f"{latencies[-1]:.1f}",
        ratio,
    ]


def bench_end_to_end(count: int, timeout: float, instances: int = 1) -> float | None:
    """Part 2; returns the decisions per second of the burst (None if it did not run)."""
    from deploy.local.stack import service_argv, stop_pid
    from services.routing.reference.command import load_reference
    from shared.messaging import events_exchange
    from shared.migrations import drop_database, upgrade
    from shared.queue_tools import declare_topology

    amqp_uri = os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"])
    try:
        broker = ThrowawayBroker(amqp_uri)
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        print(f"\nPart 2 saltata: {exc}")
        return None
    db_url = throwaway_database_url("routing")
    work = Path(tempfile.mkdtemp(prefix="combid-bench-"))
    processes = []
    try:
        declare_topology(broker.uri)
        upgrade("routing", db_url)
        load_reference(SAMPLE_DIR, db_url)
        routed = Queue("bench.request_routed", exchange=events_exchange, routing_key="request_routed")
        plain = Queue("bench.baseline", exchange=events_exchange, routing_key="bench.baseline")
        with Connection(broker.uri) as connection:
            routed(connection.default_channel).declare()
            plain(connection.default_channel).declare()

        env = dict(os.environ, AMQP_URI=broker.uri, ROUTING_DATABASE_URL=db_url, LOG_LEVEL="WARNING")
        log = open(work / "routing.log", "wb")
        # several instances consume from the same queue (competing consumers)
        processes = [
            subprocess.Popen(
                service_argv("routing"), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
            for _ in range(instances)
        ]

        collector = Collector(broker.uri, routed, lambda body: body["payload"]["request_id"])
        collector.start()
        collector.ready.wait(10)
        # warm-up (not measured): the service starts, builds its table, loads the CAP data
        warm = [str(uuid.uuid4()) for _ in range(20)]
        burst(
            broker.uri, [(key, submitted_envelope(key)) for key in warm], events_exchange, "request_submitted"
        )
        collector.wait_for(len(warm), 90)
        if len(collector.received) < len(warm):
            collector.stop()
            log.flush()
            tail = (work / "routing.log").read_text(errors="replace").splitlines()[-15:]
            print(
                f"\nPart 2 interrotta: il servizio ha instradato {len(collector.received)} di {len(warm)} "
                "eventi di riscaldamento in 90 s; ultime righe del suo log:\n  " + "\n  ".join(tail)
            )
            return None
        # every instance has started consuming (the warm-up may have met the first one only)
        time.sleep(3.0 if instances > 1 else 0.0)

        messages = [(key, submitted_envelope(key)) for key in (str(uuid.uuid4()) for _ in range(count))]
        from bench.bench_stack import CpuShare

        cpu = CpuShare(process.pid for process in processes)
        published = burst(broker.uri, messages, events_exchange, "request_submitted")
        collector.wait_for(len(warm) + count, timeout)
        cpu_line = cpu.line(f"{instances} processi routing" if instances > 1 else "il processo routing")
        collector.stop()

        baseline_collector = Collector(broker.uri, plain, lambda body: body["event_id"])
        baseline_collector.start()
        baseline_collector.ready.wait(10)
        base_messages = [
            (body["event_id"], body) for body in (submitted_envelope(str(uuid.uuid4())) for _ in range(count))
        ]
        base_published = burst(broker.uri, base_messages, events_exchange, "bench.baseline")
        baseline_collector.wait_for(count, timeout)
        baseline_collector.stop()

        base_row = latency_row("baseline: broker hop only", base_published, baseline_collector.received, None)
        base_p50 = float(base_row[3]) if base_row[3] != "-" else None
        routed_row = latency_row("routing: publish → request_routed", published, collector.received, base_p50)
        print_table(
            f"Part 2 — end to end, burst of {count:,} request_submitted → request_routed "
            f"(routing: {instances} process{'es' if instances > 1 else ''})",
            ["case", "received", "per second", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50 / baseline"],
            [base_row, routed_row],
        )
        print(
            "La latenza comprende consumo, decisione, transazione (inbox + decisione + outbox) e il relay "
            "dell'outbox."
        )
        print(cpu_line)
        return float(routed_row[2].replace(",", "")) if routed_row[2] != "-" else None
    finally:
        for process in processes:
            stop_pid(process.pid)
        drop_database(db_url)
        broker.remove()
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark dell'instradamento")
    parser.add_argument("--decisions", type=int, default=50_000, help="richieste della parte 1 (in memoria)")
    parser.add_argument("--burst", type=int, default=1_000, help="richieste della parte 2 (end to end)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="attesa massima della parte 2, in secondi"
    )
    parser.add_argument("--skip-e2e", action="store_true", help="solo la parte 1")
    parser.add_argument("--instances", type=int, default=1, help="processi routing della parte 2")
    args = parser.parse_args(argv)
    print(machine_line("p99 e max"))
    bench_in_memory(args.decisions)
    if not args.skip_e2e:
        bench_end_to_end(min(args.burst, 10_000), args.timeout, max(1, min(args.instances, 4)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
