"""Cruscotto benchmark, through the gateway: the national, a regional and a sede view over a
year of requests, beside a trivial request measured in the same run.

    .venv/bin/python bench/dashboard_bench.py                      # 2,000,000 requests
    .venv/bin/python bench/dashboard_bench.py --requests 200000 --count 50

Starts its own reporting and gateway (processes, on a throwaway RabbitMQ vhost and a throwaway
database, removed afterwards; the gateway on a free loopback port), fills the read model with
``services.reporting.generate`` (the year so far, a realistic mix) and rebuilds the
aggregates, then times, one request at a time, ``GET /health`` (the baseline) and each view:
p50/p95/max and the ratio of p50 to the baseline's. The budget is p95 ≤ 300 ms (goal 100 ms)
for the three indicator views. Then the national year view in this process, straight on the
database, read from the daily counts alone and with the monthly rollup for its settled months
(the same figures; what the rollup saves). Last, one region's monthly report (figures and the
three files, without the store's puts), budget 10 s. A benchmark prints; it asserts nothing.
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
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import requests  # noqa: E402

import shared  # noqa: E402,F401 - first: it filters eventlet's bugfix-mode notice
from bench.agenda_bench import free_port, timed  # noqa: E402
from bench.routing_bench import ThrowawayBroker, machine_line, percentile, print_table, throwaway_database_url  # noqa: E402
from shared.config import LOCAL_DEFAULTS  # noqa: E402

REGION, SEDE = "Lombardia", "0901"  # the largest region of the generated data, and one of its sedi
BUDGET_MS, GOAL_MS = 300, 100


def token(**claims) -> str:
    from gateway.auth import issue_token

    return issue_token(
        LOCAL_DEFAULTS["JWT_SECRET"], sub=f"bench-{secrets.token_hex(4)}", role="direttore", **claims
    )


def wait_ready(base: str, headers: dict, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (
                requests.get(f"{base}/api/v1/dashboard/backlog", headers=headers, timeout=5).status_code
                == 200
            ):
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def measure(base: str, count: int, year: int) -> None:
    national = {"Authorization": f"Bearer {token(scope='national')}"}
    regional = {"Authorization": f"Bearer {token(regione=REGION)}"}
    sede = {"Authorization": f"Bearer {token(sede=SEDE)}"}
    year_so_far = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
    views = [
        ("national indicators, year", "/api/v1/dashboard/indicators", year_so_far, national),
        (f"regional indicators ({REGION}), year", "/api/v1/dashboard/indicators", year_so_far, regional),
        (f"sede indicators ({SEDE}), year", "/api/v1/dashboard/indicators", year_so_far, sede),
        (
            "national indicators, one month",
            "/api/v1/dashboard/indicators",
            {**year_so_far, "from": f"{year}-03-01", "to": f"{year}-03-31"},
            national,
        ),
        ("national customer care, year", "/api/v1/dashboard/customer-care", year_so_far, national),
        (
            f"regional customer care ({REGION}), year",
            "/api/v1/dashboard/customer-care",
            year_so_far,
            regional,
        ),
        ("national backlog (today)", "/api/v1/dashboard/backlog", {}, national),
        ("national trend, 12 months", "/api/v1/dashboard/trend", {}, national),
        ("national subject changes, year", "/api/v1/dashboard/subject-changes", year_so_far, national),
        (
            f"requests behind a cell ({SEDE}, closed late), page 1",
            "/api/v1/dashboard/requests",
            {**year_so_far, "level": "sede", "code": SEDE, "bucket": "closed_late"},
            regional,
        ),
        (
            "requests behind a cell (national, open past sla), page 1",
            "/api/v1/dashboard/requests",
            {**year_so_far, "bucket": "open_past_sla"},
            national,
        ),
    ]
    with requests.Session() as session:
        session.trust_env = False
        timed(session, f"{base}/health", 20)  # warm-up, not measured
        for _, path, params, headers in views:
            timed(session, f"{base}{path}", 5, params, headers)
        health = timed(session, f"{base}/health", count)
        results = [
            (name, timed(session, f"{base}{path}", count, params, headers))
            for name, path, params, headers in views
        ]
    base_p50 = percentile(health, 0.5)

    def row(name, latencies):
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        verdict = "goal" if p95 <= GOAL_MS else ("budget" if p95 <= BUDGET_MS else "OVER")
        return [
            name,
            len(latencies),
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{latencies[-1]:.1f}",
            f"{p50 / base_p50:.1f}x",
            verdict,
        ]

    print_table(
        f"Through the gateway (p95 budget {BUDGET_MS} ms, goal {GOAL_MS} ms)",
        ["request", "n", "p50 ms", "p95 ms", "max ms", "p50 / baseline", "p95 vs"],
        [row("baseline: GET /health", health), *(row(name, latencies) for name, latencies in results)],
    )


def measure_rollup(db_url: str, year: int, count: int) -> None:
    """The national year view's query in this process, from the daily counts alone (every
    period split into days only) and as the dashboard reads it (settled months from the
    monthly rollup): p50/p95, and that both give the same figures."""
    from sqlalchemy.orm import sessionmaker

    from services.reporting import dashboard
    from services.reporting.rules.periods import PeriodParts, split_period
    from shared.access import DashboardView
    from shared.clock import rome_date
    from shared.db import make_engine

    def days_only(first, last, today, unsettled_months=True):
        return PeriodParts(None, None, ((first, last),))

    engine = make_engine(db_url, pool_size=1)
    today = rome_date(datetime.now(UTC))
    query = {"from_day": datetime(year, 1, 1).date(), "to_day": datetime(year, 12, 31).date()}
    rows, answers = [], {}
    try:
        for name, split in (
            ("daily counts only", days_only),
            ("monthly rollup + days at the edges", split_period),
        ):
            dashboard.split_period = split
            latencies = []
            for index in range(count + 3):
                started = time.perf_counter()
                with sessionmaker(engine).begin() as session:
                    answers[name] = dashboard.indicators(session, DashboardView("national"), query, today)
                if index >= 3:  # the first ones warm the cache
                    latencies.append((time.perf_counter() - started) * 1000)
            latencies.sort()
            rows.append(
                [
                    name,
                    len(latencies),
                    f"{percentile(latencies, 0.5):.1f}",
                    f"{percentile(latencies, 0.95):.1f}",
                ]
            )
    finally:
        dashboard.split_period = split_period
        engine.dispose()
    same = len({repr(answer) for answer in answers.values()}) == 1
    print_table(
        f"National indicators, year {year}, in process (same figures both ways: {'yes' if same else 'NO'})",
        ["read from", "n", "p50 ms", "p95 ms"],
        rows,
    )


def measure_report(db_url: str, year: int, repeat: int = 3) -> None:
    """One region's monthly report (Lombardia, March): the figures from the database and the
    three files rendered, in this process; storing them is a put per file, left out (no object
    store here)."""
    from sqlalchemy.orm import sessionmaker

    from services.reporting import monthly, rendering
    from shared.db import make_engine

    engine = make_engine(db_url, pool_size=1)
    timings, sizes = [], {}
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            with sessionmaker(engine).begin() as session:
                report = monthly.content(session, REGION, year, 3, datetime.now(UTC))
            sizes = {fmt: len(render(report)) for fmt, render in rendering.RENDERERS.items()}
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        engine.dispose()
    timings.sort()
    print_table(
        f"Monthly report of {REGION}, {year}-03 (figures + PDF, CSV, XLSX; budget 10 s)",
        ["n", "p50 ms", "max ms", "pdf bytes", "csv bytes", "xlsx bytes"],
        [[len(timings), f"{percentile(timings, 0.5):.0f}", f"{timings[-1]:.0f}", *sizes.values()]],
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark del cruscotto")
    parser.add_argument(
        "--requests", type=int, default=2_000_000, help="richieste generate (default 2.000.000)"
    )
    parser.add_argument("--count", type=int, default=100, help="richieste misurate per riga")
    parser.add_argument("--year", type=int, default=datetime.now(UTC).year)
    args = parser.parse_args(argv)
    print(machine_line("p95 e max"))
    from deploy.local.stack import service_argv, stop_pid
    from services.reporting.generate import generate
    from shared.migrations import drop_database, ensure_database, upgrade

    amqp_uri = os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"])
    try:
        broker = ThrowawayBroker(amqp_uri)
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        print(f"\nBenchmark saltato: {exc}")
        return 0
    db_url = throwaway_database_url("reporting")
    work = Path(tempfile.mkdtemp(prefix="combid-bench-dashboard-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes = []
    try:
        ensure_database(db_url)
        upgrade("reporting", db_url)
        today = datetime.now(UTC).date()
        made = generate(
            db_url, args.requests, args.year, today, progress=lambda line: print(line, flush=True)
        )
        print(
            f"Dati: {made['requests']:,} richieste dell'anno {args.year} fino a oggi "
            f"({made['changes']:,} cambi di oggetto) e {made['appointments']:,} appuntamenti, scritti in "
            f"{made['load_seconds']} s; aggregati ricostruiti in {made['rebuild_seconds']} s: "
            f"{made['daily_request_counts']:,} righe giornaliere, {made['monthly_request_counts']:,} mensili"
        )
        env = dict(
            os.environ,
            AMQP_URI=broker.uri,
            REPORTING_DATABASE_URL=db_url,
            GATEWAY_ADDRESS=f"127.0.0.1:{port}",
            COMBID_ENV="development",
            JWT_SECRET=LOCAL_DEFAULTS["JWT_SECRET"],
            LOG_LEVEL="WARNING",
        )
        for service in ("reporting", "gateway"):
            log = open(work / f"{service}.log", "wb")
            processes.append(
                subprocess.Popen(
                    service_argv(service), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
                )
            )
        if not wait_ready(base, {"Authorization": f"Bearer {token(scope='national')}"}):
            print(f"\nBenchmark interrotto: gateway o reporting non pronti; log in {work}")
            return 1
        measure(base, args.count, args.year)
        measure_rollup(db_url, args.year, min(args.count, 30))
        measure_report(db_url, args.year)
    finally:
        for process in processes:
            stop_pid(process.pid)
        try:
            drop_database(db_url)
        finally:  # the vhost and the logs go even when the database server went away
            broker.remove()
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
