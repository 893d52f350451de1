"""Agenda benchmark, through the gateway: free slots of a busy sede, and a booking race.

    .venv/bin/python bench/agenda_bench.py
    .venv/bin/python bench/agenda_bench.py --requests 100 --attempts 200

Starts its own agenda and gateway (processes, on a throwaway RabbitMQ vhost and a throwaway
database, removed afterwards; loopback only), loads 100 punti di consulenza of one sede and a
year of bookings (every other slot of each punto, six months back and six ahead), then:

Part 1 — ``GET /api/v1/agenda/availability`` of a punto of that sede for 30 days (a punto
drawn at random each time) and ``GET /api/v1/agenda/punti?sede=`` (the 100 punti), p50/p95
beside a trivial request measured in the same run (``GET /health``) and the ratio.

Part 2 — 200 concurrent booking attempts on 10 free slots of one punto (20 per slot, each
by another operator): the database lets exactly one per slot through; the table says how
many were confirmed and how the others were refused. A benchmark prints; it asserts nothing.
Needs the machine's RabbitMQ (``rabbitmqctl`` for the vhost) and PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import requests  # noqa: E402

import shared  # noqa: E402,F401 - first: it filters eventlet's bugfix-mode notice
from bench.routing_bench import ThrowawayBroker, machine_line, percentile, print_table, throwaway_database_url  # noqa: E402
from shared.config import LOCAL_DEFAULTS  # noqa: E402

SEDE = "0704"
PUNTI = 100
RACE_PUNTO = f"{SEDE}-RACE"
CF = "RSSMRA85T10A562S"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_data(db_url: str, now: datetime) -> int:
    """100 punti of one sede (and a race punto without bookings) and a year of bookings."""
    from sqlalchemy import insert
    from sqlalchemy.orm import sessionmaker

    from services.agenda import use_cases
    from services.agenda.models import Booking
    from services.agenda.reference import store
    from services.agenda.reference.dataset import SAMPLE_DIR, read_punti
    from services.agenda.rules import slots
    from shared.db import make_engine

    records, _ = read_punti(SAMPLE_DIR)
    model = next(record for record in records if record.punto_id == f"{SEDE}-S")
    ours = [replace(model, punto_id=f"{SEDE}-B{index:03d}", name=f"Punto {index}") for index in range(PUNTI)]
    ours.append(replace(model, punto_id=RACE_PUNTO, name="Punto della gara"))
    engine = make_engine(db_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    rows = []
    with sessions.begin() as session:
        store.apply_punti(session, [*records, *ours], "bench", now)
        for record in ours[:PUNTI]:
            punto = use_cases.active_punto(session, record.punto_id)
            calendar = use_cases.calendar_of(session, punto)
            length = timedelta(minutes=calendar.slot_minutes)
            today = now.date()
            for half in (-1, 0):  # six months back, six months ahead (the range is at most 62 days)
                first = today + timedelta(days=183 * half)
                for chunk in range(3):
                    start_day = first + timedelta(days=61 * chunk)
                    derived = slots.slots_between(calendar, start_day, start_day + timedelta(days=60))
                    for start in derived[::2]:
                        rows.append(
                            dict(
                                id=uuid.uuid4(),
                                punto_id=punto.punto_id,
                                punto_name=punto.name,
                                punto_address=punto.address,
                                sede=punto.sede,
                                region=punto.region,
                                slot_start=start,
                                slot_end=start + length,
                                modality="in_person",
                                topic="pensioni",
                                state="confirmed" if start > now else "held",
                                booked_by=f"bench-{uuid.uuid4().hex[:10]}",
                                booked_by_role="patronato_operatore",
                                booked_by_name="",
                                motivazione="Carico del benchmark",
                                attachment_ids=[],
                                created_at=now,
                                updated_at=now,
                            )
                        )
        for offset in range(0, len(rows), 5000):
            session.execute(insert(Booking), rows[offset : offset + 5000])
    engine.dispose()
    return len(rows)


def token(role="patronato_operatore", **claims) -> str:
    from gateway.auth import issue_token

    claims.setdefault("patronato", "001")
    claims.setdefault("ufficio", "0001")
    return issue_token(
        LOCAL_DEFAULTS["JWT_SECRET"],
        sub=claims.pop("sub", f"bench-{uuid.uuid4().hex[:8]}"),
        role=role,
        **claims,
    )


def timed(session, url: str, count: int, params=None, headers=None) -> list[float]:
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        answer = session.get(
            url, params=params(index) if callable(params) else params, headers=headers, timeout=30
        )
        latencies.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")
    return sorted(latencies)


def bench_availability(base: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token()}"}
    first = date.today() + timedelta(days=1)
    rng = random.Random(20261201)
    window = {"from": first.isoformat(), "to": (first + timedelta(days=29)).isoformat()}
    with requests.Session() as session:
        session.trust_env = False
        timed(session, f"{base}/health", 20)  # warm-up, not measured
        timed(session, f"{base}/api/v1/agenda/availability", 20, {"punto": f"{SEDE}-B000", **window}, headers)
        health = timed(session, f"{base}/health", count)
        availability = timed(
            session,
            f"{base}/api/v1/agenda/availability",
            count,
            lambda _: {"punto": f"{SEDE}-B{rng.randrange(PUNTI):03d}", **window},
            headers,
        )
        punti = timed(session, f"{base}/api/v1/agenda/punti", count, {"sede": SEDE}, headers)
    base_p50 = percentile(health, 0.5)

    def row(name, latencies):
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        return [
            name,
            len(latencies),
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{latencies[-1]:.1f}",
            f"{p50 / base_p50:.1f}x",
        ]

    print_table(
        f"Part 1 — through the gateway, sede {SEDE} with {PUNTI} punti and a year of bookings",
        ["request", "n", "p50 ms", "p95 ms", "max ms", "p50 / baseline"],
        [
            row("baseline: GET /health", health),
            row("availability, 1 punto, 30 days", availability),
            row(f"punti of the sede (> {PUNTI})", punti),
        ],
    )


def bench_race(base: str, attempts: int, slot_count: int) -> None:
    headers = {"Authorization": f"Bearer {token()}"}
    first = date.today() + timedelta(days=1)
    params = {"punto": RACE_PUNTO, "from": first.isoformat(), "to": (first + timedelta(days=13)).isoformat()}
    free = requests.get(f"{base}/api/v1/agenda/availability", params=params, headers=headers, timeout=30)
    chosen = [slot["start"] for slot in free.json()["slots"][:slot_count]]

    def attempt(index: int) -> str:
        body = {
            "punto_id": RACE_PUNTO,
            "slot_start": chosen[index % len(chosen)],
            "modality": "in_person",
            "topic": "pensioni",
            "codici_fiscali": [CF],
            "contact": {"email": "bench@patronato.example"},
            "motivazione": "Gara di prenotazioni",
        }
        auth = {"Authorization": f"Bearer {token(sub=f'race-{index}-{secrets.token_hex(3)}')}"}
        try:
            answer = requests.post(f"{base}/api/v1/appointments", json=body, headers=auth, timeout=60)
        except requests.RequestException as exc:
            return type(exc).__name__
        return (
            "confirmed" if answer.status_code == 201 else f"{answer.status_code} {answer.json().get('code')}"
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = Counter(pool.map(attempt, range(attempts)))
    elapsed = time.perf_counter() - started
    print_table(
        f"Part 2 — {attempts} concurrent booking attempts on {len(chosen)} slots ({elapsed:.1f} s)",
        ["outcome", "count"],
        [[outcome, count] for outcome, count in sorted(outcomes.items())],
    )
    print(f"confermate: {outcomes['confirmed']} (attese: esattamente {len(chosen)}, una per slot)")


def wait_ready(base: str, token_header: dict, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = requests.get(
                f"{base}/api/v1/agenda/punti", params={"sede": SEDE}, headers=token_header, timeout=5
            )
            if answer.status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark dell'agenda appuntamenti")
    parser.add_argument("--requests", type=int, default=200, help="richieste misurate per riga (parte 1)")
    parser.add_argument("--attempts", type=int, default=200, help="tentativi concorrenti (parte 2)")
    parser.add_argument("--slots", type=int, default=10, help="slot contesi (parte 2)")
    args = parser.parse_args(argv)
    print(machine_line("p95 e max"))
    from deploy.local.stack import service_argv, stop_pid
    from shared.migrations import drop_database, upgrade

    amqp_uri = os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"])
    try:
        broker = ThrowawayBroker(amqp_uri)
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        print(f"\nBenchmark saltato: {exc}")
        return 0
    db_url = throwaway_database_url("agenda")
    work = Path(tempfile.mkdtemp(prefix="combid-bench-agenda-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes = []
    try:
        upgrade("agenda", db_url)
        started = time.perf_counter()
        bookings = load_data(db_url, datetime.now(UTC))
        print(
            f"Dati: {PUNTI} punti della sede {SEDE}, {bookings:,} prenotazioni in un anno "
            f"(caricati in {time.perf_counter() - started:.1f} s)"
        )
        env = dict(
            os.environ,
            AMQP_URI=broker.uri,
            AGENDA_DATABASE_URL=db_url,
            GATEWAY_ADDRESS=f"127.0.0.1:{port}",
            COMBID_ENV="development",
            JWT_SECRET=LOCAL_DEFAULTS["JWT_SECRET"],
            LOG_LEVEL="WARNING",
        )
        for service in ("agenda", "gateway"):
            log = open(work / f"{service}.log", "wb")
            processes.append(
                subprocess.Popen(
                    service_argv(service), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
                )
            )
        if not wait_ready(base, {"Authorization": f"Bearer {token()}"}):
            print(f"\nBenchmark interrotto: gateway o agenda non pronti; log in {work}")
            return 1
        bench_availability(base, args.requests)
        bench_race(base, min(args.attempts, 500), args.slots)
    finally:
        for process in processes:
            stop_pid(process.pid)
        drop_database(db_url)
        broker.remove()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
