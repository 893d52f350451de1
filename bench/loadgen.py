"""A small asyncio load generator (aiohttp): closed loop with N clients, or open loop at a
fixed rate. Every request opens a new TCP connection (as a portal behind no keep-alive
would, and as the issue's figures were taken), so the gateway's accept path is measured too.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

from bench.routing_bench import percentile


@dataclass
class Outcome:
    started: float  # perf_counter
    seconds: float
    status: int  # 0: no answer (connection error, timeout)
    body: dict | None = None


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    span: float = 0.0

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if 200 <= o.status < 300]

    def errors(self) -> int:
        return len(self.outcomes) - len(self.ok)

    def latencies_ms(self) -> list[float]:
        return sorted(o.seconds * 1000 for o in self.ok)

    def summary(self) -> dict:
        latencies = self.latencies_ms()
        if not latencies:
            return {"n": len(self.outcomes), "errors": self.errors(), "rate": 0.0}
        return {
            "n": len(self.outcomes),
            "errors": self.errors(),
            "rate": len(latencies) / self.span if self.span else 0.0,
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": latencies[-1],
        }


def submission_body(email: str) -> dict:
    return {
        "subject": "sollecito_domanda",
        "text": "Si sollecita la definizione della domanda di pensione.",
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "contacts": {"email": email},
    }


def new_submission() -> dict:
    return submission_body(f"bench-{uuid.uuid4().hex[:12]}@patronato.example")


async def _one(session, method: str, url: str, headers: dict, body: dict | None, keep: bool) -> Outcome:
    started = time.perf_counter()
    try:
        async with session.request(method, url, json=body, headers=headers) as response:
            payload = await response.json(content_type=None) if keep else await response.read()
            return Outcome(started, time.perf_counter() - started, response.status, payload if keep else None)
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return Outcome(started, time.perf_counter() - started, 0)


def _session(limit: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(force_close=True, limit=limit)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


async def _closed_loop(clients, seconds, method, url, headers, body_factory, keep) -> Run:
    run = Run()
    async with _session(clients) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def client():
            while time.perf_counter() < deadline:
                run.outcomes.append(await _one(session, method, url, headers, body_factory(), keep))

        await asyncio.gather(*(client() for _ in range(clients)))
        run.span = time.perf_counter() - started
    return run


async def _open_loop(rate, count, method, url, headers, body_factory, keep) -> Run:
    run = Run()
    async with _session(400) as session:
        started = time.perf_counter()
        tasks = []
        for index in range(count):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(_one(session, method, url, headers, body_factory(), keep)))
        run.outcomes = list(await asyncio.gather(*tasks))
        run.span = time.perf_counter() - started
    return run


def closed_loop(clients: int, seconds: float, method: str, url: str, headers: dict, body_factory, keep=False):
    """``clients`` each sending one request after the other for ``seconds``."""
    return asyncio.run(_closed_loop(clients, seconds, method, url, headers, body_factory, keep))


def open_loop(rate: float, count: int, method: str, url: str, headers: dict, body_factory, keep=True):
    """``count`` requests started at ``rate`` per second, whatever the answers' pace."""
    return asyncio.run(_open_loop(rate, count, method, url, headers, body_factory, keep))
