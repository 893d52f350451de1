"""Latencies of a paced run, from the services' own timestamps (one machine, one clock).

For each accepted request: intake's ``created_at`` (submitted), routing's first decision
``decided_at``, intake's ``routed_at`` (the decision recorded back in intake), and notify's
``sent_at`` of the "protocollata" and of the "inoltrata" e-mail.
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa

from bench.routing_bench import percentile

STEPS = (
    ("invio → decisione (routing.decided_at)", "decided"),
    # intake keeps the decision's time as routed_at: this row counts the loop back to intake
    ("invio → instradata, vista da intake", "routed"),
    ("invio → e-mail 'protocollata' inviata", "protocol_mail"),
    ("invio → e-mail 'inoltrata' inviata", "routed_mail"),
)


def _query(url: str, statement: str, ids: list[uuid.UUID]) -> list:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(statement), {"ids": ids}).all()
    finally:
        engine.dispose()


def timestamps(urls: dict[str, str], request_ids: list[str]) -> dict[str, dict[str, object]]:
    """request id -> {"submitted", "decided", "routed", "protocol_mail", "routed_mail"}."""
    ids = [uuid.UUID(i) for i in request_ids]
    found: dict[str, dict[str, object]] = {i: {} for i in request_ids}
    for row in _query(
        urls["intake"], "SELECT id, created_at, routed_at FROM requests WHERE id = ANY(:ids)", ids
    ):
        found[str(row.id)].update(submitted=row.created_at, routed=row.routed_at)
    for row in _query(
        urls["routing"],
        "SELECT request_id, min(decided_at) AS decided FROM routing_decisions"
        " WHERE request_id = ANY(:ids) GROUP BY request_id",
        ids,
    ):
        found[str(row.request_id)]["decided"] = row.decided
    for row in _query(
        urls["notify"],
        "SELECT request_id, template, sent_at FROM deliveries"
        " WHERE channel = 'email' AND request_id = ANY(:ids)"
        " AND template IN ('protocol_registered', 'request_routed')",
        ids,
    ):
        key = "protocol_mail" if row.template == "protocol_registered" else "routed_mail"
        found[str(row.request_id)][key] = row.sent_at
    return found


def missing(found: dict[str, dict[str, object]], step: str) -> int:
    return sum(1 for values in found.values() if not values.get(step))


def wait_for_all(urls, request_ids, timeout: float, step: str = "routed_mail") -> dict:
    """Poll until every request reached ``step`` or ``timeout`` passed; the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        found = timestamps(urls, request_ids)
        if missing(found, step) == 0 or time.monotonic() > deadline:
            return found
        time.sleep(1.0)


def step_rows(found: dict[str, dict[str, object]], base_p95: float | None) -> list[list[str]]:
    rows = []
    for name, step in STEPS:
        latencies = sorted(
            (values[step] - values["submitted"]).total_seconds() * 1000
            for values in found.values()
            if values.get(step) and values.get("submitted")
        )
        if not latencies:
            rows.append([name, f"0/{len(found)}", "-", "-", "-", "-", "-"])
            continue
        p95 = percentile(latencies, 0.95)
        rows.append(
            [
                name,
                f"{len(latencies)}/{len(found)}",
                f"{percentile(latencies, 0.5):.0f}",
                f"{p95:.0f}",
                f"{percentile(latencies, 0.99):.0f}",
                f"{latencies[-1]:.0f}",
                f"{p95 / base_p95:.0f}x" if base_p95 else "-",
            ]
        )
    return rows


def p95_of(found, step: str) -> float | None:
    latencies = sorted(
        (values[step] - values["submitted"]).total_seconds() * 1000
        for values in found.values()
        if values.get(step) and values.get("submitted")
    )
    return percentile(latencies, 0.95) if latencies else None


def wait_drained(urls: dict[str, str], timeout: float) -> bool:
    """Until every request intake holds has its "inoltrata" e-mail recorded by notify (the
    pipeline has caught up with an earlier load), or ``timeout``; whether it did."""
    deadline = time.monotonic() + timeout
    while True:
        submitted = _scalar(urls["intake"], "SELECT count(*) FROM requests")
        mailed = _scalar(
            urls["notify"],
            "SELECT count(*) FROM deliveries WHERE channel = 'email' AND template = 'request_routed'"
            " AND status <> 'queued'",
        )
        if mailed >= submitted:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)


def _scalar(url: str, statement: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(statement)).scalar() or 0
    finally:
        engine.dispose()
