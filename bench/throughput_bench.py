"""Throughput benchmark (issue 13): submissions, end-to-end latency, scaling of routing and notify.

    .venv/bin/python bench/throughput_bench.py            # everything (about 6 minutes)
    .venv/bin/python bench/throughput_bench.py --quick    # shorter runs (about 3 minutes)
    .venv/bin/python bench/throughput_bench.py --only submissions,paced,scaling

1. Submissions: ``POST /api/v1/requests`` through the gateway with 1, 4 and 16 clients in
   closed loop (a new TCP connection per request), on a whole stack of this run's own
   (``bench_stack.py``: throwaway vhost, databases, sinks and ports; stopped by PID); beside
   it, in the same run, the gateway's ``/health`` round trip and a bare broker round trip;
   and the CPU each service spent per submission (from /proc).
2. Paced: 50 submissions a second for 60 s (open loop), then the latencies from the
   services' own timestamps: submitted → routing decision → routed in intake → e-mails sent;
   errors and losses counted.
3. Scaling: routing and notify alone (the other services not running), one instance and
   then two, on a burst; events per second and the ratio (``routing_bench``/``notify_bench``).

Every table carries the machine's cores and load. A benchmark prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import shared  # noqa: E402,F401 - first: it filters eventlet's bugfix-mode notice
from bench import loadgen, pipeline_latency  # noqa: E402
from bench.bench_stack import BenchStack, machine_busy, process_cpu_seconds  # noqa: E402
from bench.routing_bench import machine_line, percentile, print_table  # noqa: E402

TARGETS = {
    "submissions": "16 client: ≥ 150/s con p95 ≤ 150 ms (obiettivo 250/s, 50 ms)",
    "paced": "50/s per 60 s: 0 errori, 0 persi, invio → instradata p95 ≤ 100 ms, → e-mail p95 ≤ 500 ms",
    "scaling": "2 istanze ≥ 1,6× gli eventi al secondo di una",
}


def token() -> str:
    from datetime import timedelta

    from gateway.auth import issue_token
    from shared.config import LOCAL_DEFAULTS

    return issue_token(
        os.environ.get("JWT_SECRET", LOCAL_DEFAULTS["JWT_SECRET"]),
        sub=f"bench-{uuid.uuid4().hex[:8]}",
        role="patronato_operatore",
        lifetime=timedelta(hours=2),
        patronato="001",
        ufficio="0001",
    )


def broker_round_trip(amqp_uri: str, count: int = 300) -> list[float]:
    """Publish one persistent message, wait for it on a queue, again: milliseconds each."""
    from kombu import Connection, Exchange, Queue

    queue = Queue(f"bench.rtt.{uuid.uuid4().hex[:8]}", Exchange("", type="direct"), auto_delete=True)
    latencies = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        bound = queue(channel)
        bound.declare()
        producer = connection.Producer(channel, serializer="json")
        received = []
        consumer = connection.Consumer(
            [bound], channel=channel, callbacks=[lambda body, message: (received.append(1), message.ack())]
        )
        consumer.consume()
        for _ in range(count):
            started = time.perf_counter()
            producer.publish({"x": 1}, routing_key=bound.name, delivery_mode=2)
            while not received:
                connection.drain_events(timeout=5)
            received.clear()
            latencies.append((time.perf_counter() - started) * 1000)
        consumer.cancel()
        bound.delete()
    return sorted(latencies)


def row(name: str, summary: dict, base_p50: float | None) -> list[str]:
    if "p50" not in summary:
        return [name, str(summary["n"]), str(summary["errors"]), "0", "-", "-", "-", "-", "-"]
    return [
        name,
        str(summary["n"]),
        str(summary["errors"]),
        f"{summary['rate']:,.1f}",
        f"{summary['p50']:.1f}",
        f"{summary['p95']:.1f}",
        f"{summary['p99']:.1f}",
        f"{summary['max']:.0f}",
        f"{summary['p50'] / base_p50:.1f}x" if base_p50 else "1x",
    ]


class CpuMeter:
    """CPU seconds of each service's processes, and the machine's busy share, over a span."""

    def __init__(self, stack: BenchStack):
        self.pids = stack.pids()

    def __enter__(self):
        self.before = {s: sum(process_cpu_seconds(p) for p in pids) for s, pids in self.pids.items()}
        self.machine = machine_busy()
        return self

    def __exit__(self, *exc):
        self.after = {s: sum(process_cpu_seconds(p) for p in pids) for s, pids in self.pids.items()}
        busy, total = machine_busy()
        self.busy_share = (busy - self.machine[0]) / max(1, total - self.machine[1])

    def per_item_ms(self, items: int) -> dict[str, float]:
        return {s: (self.after[s] - self.before[s]) * 1000 / max(1, items) for s in self.pids}


class Profiles:
    """py-spy (``--profile DIR``) on every service process during one load: collapsed stacks
    in DIR/<service>-<pid>.txt, the hottest frames printed at the end."""

    def __init__(self, stack: BenchStack, directory: Path | None, seconds: float):
        self.stack, self.directory, self.seconds = stack, directory, seconds
        self.processes = []

    def __enter__(self):
        if self.directory is None:
            return self
        import shutil
        import subprocess

        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.directory.mkdir(parents=True, exist_ok=True)
        for service, pids in self.stack.pids().items():
            for pid in pids:
                out = self.directory / f"{service}-{pid}.txt"
                argv = [spy, "record", "--nonblocking", "-r", "50", "-d", str(int(self.seconds)), "-p"]
                argv += [str(pid), "-f", "raw", "-o", str(out)]
                self.processes.append(
                    subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                )
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.wait(self.seconds + 30)
        if self.directory is not None:
            from bench.profile_summary import summarise

            summarise(self.directory)


def bench_submissions(stack: BenchStack, seconds: float, profile: Path | None = None) -> list[dict]:
    url = f"{stack.url}/api/v1/requests"
    headers = {"Authorization": f"Bearer {token()}"}
    health = f"{stack.url}/health"
    # warm-up: pools open, caches filled
    loadgen.closed_loop(4, 3, "POST", url, headers, loadgen.new_submission)
    broker = broker_round_trip(stack.amqp_uri)
    health_1 = loadgen.closed_loop(1, min(seconds, 5), "GET", health, {}, lambda: None).summary()
    health_16 = loadgen.closed_loop(16, min(seconds, 5), "GET", health, {}, lambda: None).summary()
    base_p50 = health_1.get("p50")
    rows = [
        [
            "base: broker, andata e ritorno",
            str(len(broker)),
            "0",
            f"{len(broker) / (sum(broker) / 1000):,.0f}",
            f"{percentile(broker, 0.5):.1f}",
            f"{percentile(broker, 0.95):.1f}",
            f"{percentile(broker, 0.99):.1f}",
            f"{broker[-1]:.0f}",
            "-",
        ],
        row("base: GET /health, 1 client", health_1, None),
        row("base: GET /health, 16 client", health_16, base_p50),
    ]
    results, cpu_rows = [], []
    for clients in (1, 4, 16):
        with (
            CpuMeter(stack) as meter,
            Profiles(stack, profile if clients == 16 else None, seconds),
        ):
            run = loadgen.closed_loop(clients, seconds, "POST", url, headers, loadgen.new_submission)
            time.sleep(1.0)  # the events of the last submissions are consumed too
        summary = run.summary()
        summary["clients"] = clients
        results.append(summary)
        rows.append(row(f"POST /api/v1/requests, {clients} client", summary, base_p50))
        per_item = meter.per_item_ms(len(run.ok))
        cpu_rows.append(
            [f"{clients} client", f"{sum(per_item.values()):.1f}"]
            + [f"{per_item.get(s, 0):.1f}" for s in sorted(per_item)]
            + [f"{meter.busy_share * 100:.0f}%"]
        )
    print_table(
        f"1. Invii (ogni client apre una connessione per richiesta; {seconds:g} s per riga)",
        ["caso", "n", "errori", "al secondo", "p50 ms", "p95 ms", "p99 ms", "max ms", "p50 / base"],
        rows,
    )
    services = sorted(stack.pids())
    print_table(
        "   CPU per invio (ms, processi dei servizi; RabbitMQ e PostgreSQL esclusi) e macchina occupata",
        ["carico", "totale", *services, "macchina"],
        cpu_rows,
    )
    print(f"   Obiettivo: {TARGETS['submissions']}.  {machine_line()}")
    return results


def bench_paced(stack: BenchStack, rate: float, seconds: float, drain: float) -> dict:
    url = f"{stack.url}/api/v1/requests"
    headers = {"Authorization": f"Bearer {token()}"}
    count = int(rate * seconds)
    urls = {s: stack.database_url(s) for s in ("intake", "routing", "notify")}
    # an earlier part's events still in the queues would be measured as this part's latency
    if not pipeline_latency.wait_drained(urls, 180):
        print("   Attenzione: la coda della prova precedente non si è esaurita in 180 s.")
    broker = broker_round_trip(stack.amqp_uri, 100)
    with CpuMeter(stack) as meter:
        run = loadgen.open_loop(rate, count, "POST", url, headers, loadgen.new_submission)
        accepted = [o.body["id"] for o in run.ok if isinstance(o.body, dict) and "id" in o.body]
        time.sleep(15)
        at_15s = pipeline_latency.timestamps(urls, accepted)
        found = pipeline_latency.wait_for_all(urls, accepted, max(0.0, drain - 15))
    unsent_15 = pipeline_latency.missing(at_15s, "routed_mail")
    http = run.summary()
    base_p95 = percentile(broker, 0.95)
    rows = [
        [
            "base: broker, andata e ritorno",
            f"{len(broker)}/{len(broker)}",
            f"{percentile(broker, 0.5):.1f}",
            f"{base_p95:.1f}",
            f"{percentile(broker, 0.99):.1f}",
            f"{broker[-1]:.1f}",
            "1x",
        ],
        [
            "risposta HTTP al client",
            f"{len(run.ok)}/{count}",
            f"{http.get('p50', 0):.0f}",
            f"{http.get('p95', 0):.0f}",
            f"{http.get('p99', 0):.0f}",
            f"{http.get('max', 0):.0f}",
            f"{http.get('p95', 0) / base_p95:.0f}x",
        ],
        *pipeline_latency.step_rows(found, base_p95),
    ]
    print_table(
        f"2. Ritmo costante: {rate:g} invii/s per {seconds:g} s ({count:,} offerti), "
        "latenze dai timestamp dei servizi",
        ["tratto", "arrivati", "p50 ms", "p95 ms", "p99 ms", "max ms", "p95 / base"],
        rows,
    )
    lost = {step: pipeline_latency.missing(found, step) for _, step in pipeline_latency.STEPS}
    print(
        f"   Errori HTTP: {run.errors()}; accettati {len(accepted)}; non instradati alla fine: "
        f"{lost['routed']}; e-mail 'inoltrata' non inviate 15 s dopo l'ultimo invio: {unsent_15}, "
        f"alla fine: {lost['routed_mail']}. Macchina occupata durante la prova: "
        f"{meter.busy_share * 100:.0f}%."
    )
    print(f"   Obiettivo: {TARGETS['paced']}.  {machine_line()}")
    return {
        "errors": run.errors(),
        "lost": lost,
        "routed_p95": pipeline_latency.p95_of(found, "routed"),
        "mail_p95": pipeline_latency.p95_of(found, "routed_mail"),
    }


def bench_scaling(burst: int) -> dict:
    from bench import notify_bench, routing_bench

    rates = {}
    for service, run in (
        ("routing", lambda n: routing_bench.bench_end_to_end(burst, 120, instances=n)),
        ("notify", lambda n: notify_bench.bench(1000, burst / 1000, 120, instances=n)),
    ):
        rates[service] = [run(1), run(2)]
    rows = []
    for service, (one, two) in rates.items():
        ratio = f"{two / one:.2f}x" if one and two else "-"
        rows.append([service, f"{one or 0:,.0f}", f"{two or 0:,.0f}", ratio])
    print_table(
        f"3. Scalabilità: raffica di {burst:,} eventi, il servizio da solo (gli altri non avviati)",
        ["servizio", "1 istanza ev/s", "2 istanze ev/s", "rapporto"],
        rows,
    )
    print(f"   Obiettivo: {TARGETS['scaling']}.  {machine_line()}")
    return rates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark di invii, latenza end to end e scalabilità")
    parser.add_argument("--quick", action="store_true", help="prove più brevi (circa 3 minuti)")
    parser.add_argument("--only", default="submissions,paced,scaling", help="parti da eseguire")
    parser.add_argument("--seconds", type=float, default=None, help="durata di ogni riga degli invii")
    parser.add_argument("--rate", type=float, default=50.0, help="invii al secondo della prova a ritmo")
    parser.add_argument("--paced-seconds", type=float, default=None, help="durata della prova a ritmo")
    parser.add_argument("--burst", type=int, default=None, help="eventi della prova di scalabilità")
    parser.add_argument(
        "--profile", type=Path, default=None, help="cartella: py-spy su ogni servizio durante i 16 client"
    )
    parser.add_argument("--scale", default="", help='istanze per servizio nello stack, es. "gateway=2"')
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.only.split(",")}
    seconds = args.seconds or (6.0 if args.quick else 15.0)
    paced_seconds = min(args.paced_seconds or (20.0 if args.quick else 60.0), 120.0)
    burst = min(args.burst or (500 if args.quick else 1000), 5000)
    print(machine_line())
    if parts & {"submissions", "paced"}:
        from deploy.local.stack import parse_scale

        # the production setting: one kept database connection per worker (README, Performance)
        stack = BenchStack(scale=parse_scale(args.scale), env={"DB_POOL_SIZE": "10"})
        try:
            stack.start(say=lambda message: print(f"  stack: {message}", flush=True))
            print(f"Stack pronto su {stack.url}; processi: {stack.pids()}")
            if "submissions" in parts:
                bench_submissions(stack, seconds, args.profile)
            if "paced" in parts:
                bench_paced(stack, min(args.rate, 200.0), paced_seconds, drain=60.0)
        finally:
            stack.stop()
    if "scaling" in parts:
        bench_scaling(burst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
