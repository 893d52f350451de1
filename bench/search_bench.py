"""Search benchmark: the history/queue searches of intake over a million requests.

    .venv/bin/python bench/search_bench.py                       # 1,000,000 requests
    .venv/bin/python bench/search_bench.py --requests 200000 --count 50
    .venv/bin/python bench/search_bench.py --database-url URL    # an intake database already filled

Creates a throwaway intake database (migrated, then filled by ``bench/gen_requests.py``,
dropped afterwards), then times, one call at a time in this process, what intake's
``search_requests`` does for each search (the caller rebuilt from its claims, the filters
loaded with their schema, the access scope as SQL, ``views.search``), each in its own
transaction from a pooled engine like the service's; beside it the baseline, a ``SELECT 1``
round trip in a transaction of the same engine. The searches: a sede's queue by state and
origin, by codice fiscale, matricola and consulente (officials and requesters), the national
and regional directors' lists, subject + a month, and deep pages (page 200, and a cursor deep
in the list where the code has cursors). Budget: p95 ≤ 20 ms. A benchmark prints; it asserts
nothing. Needs the machine's PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import shared  # noqa: E402,F401 - first: it filters eventlet's bugfix-mode notice
from bench.routing_bench import machine_line, percentile, print_table, throwaway_database_url  # noqa: E402

BUDGET_MS = 20
OFFICIAL_GROUP = "APP_FEA_COMBID"


def pick_values(session) -> dict:
    """The heaviest sede, region, citizen, company and consulente of the data (worst cases)."""
    from sqlalchemy import text

    def one(sql: str, **params):
        return session.execute(text(sql), params).first()

    sede, region = one(
        "SELECT assigned_sede, assigned_region FROM requests WHERE assigned_sede IS NOT NULL "
        "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
    )
    top_region = one(
        "SELECT assigned_region FROM requests GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )[0]  # fmt: skip
    citizen = one(
        "SELECT citizen_codice_fiscale FROM requests WHERE citizen_codice_fiscale IS NOT NULL "
        "AND assigned_sede = :sede GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        sede=sede,
    )[0]
    matricola = one(
        "SELECT matricola FROM requests WHERE matricola IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )[0]
    consulente = one(
        "SELECT consulente_codice_fiscale FROM requests WHERE consulente_codice_fiscale IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )[0]
    delegated = [
        row[0]
        for row in session.execute(
            text("SELECT DISTINCT matricola FROM requests WHERE consulente_codice_fiscale = :cf LIMIT 200"),
            {"cf": consulente},
        )
    ]
    ente, ufficio = one(
        "SELECT patronato_ente, patronato_ufficio FROM requests WHERE patronato_ente IS NOT NULL "
        "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
    )
    return {
        "sede": sede,
        "sede_region": region,
        "region": top_region,
        "citizen": citizen,
        "matricola": matricola,
        "consulente": consulente,
        "delegated": delegated,
        "patronato": (ente, ufficio),
    }


def searches(values: dict, today: date) -> list[tuple[str, dict, dict]]:
    """(name, claims, query string) of each search timed."""
    official = {
        "sub": "bench-op",
        "role": "sede_operatore",
        "groups": [OFFICIAL_GROUP],
        "sede": values["sede"],
    }
    national = {"sub": "bench-dn", "role": "direttore", "scope": "national"}
    regional = {"sub": "bench-dr", "role": "direttore", "regione": values["region"]}
    company = {"sub": "bench-az", "role": "azienda", "matricole": [values["matricola"]]}
    intermediary = {
        "sub": "bench-cdl",
        "role": "intermediario",
        "codice_fiscale": values["consulente"],
        "matricole": values["delegated"],
    }
    ente, ufficio = values["patronato"]
    patronato = {"sub": "bench-pat", "role": "patronato_operatore", "patronato": ente, "ufficio": ufficio}
    month_start = (today.replace(day=1) - timedelta(days=80)).replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month = {"opened_from": month_start.isoformat(), "opened_to": month_end.isoformat()}
    sede, region = values["sede"], values["region"]
    return [
        (f"sede {sede} queue, open", official, {"state": "open"}),
        (
            f"sede {sede} queue, in progress, patronato",
            official,
            {"state": "in_progress", "origin": "patronato"},
        ),
        (f"sede {sede} queue, open, cassetto", official, {"state": "open", "origin": "cassetto"}),
        (f"sede {sede} list, all states", official, {}),
        (f"sede {sede}, by codice fiscale", official, {"codice_fiscale": values["citizen"]}),
        (f"sede {sede}, by matricola", official, {"matricola": values["matricola"]}),
        (f"sede {sede}, by consulente", official, {"consulente": values["consulente"]}),
        ("company history (its matricola)", company, {}),
        ("consulente history (own + delegated)", intermediary, {}),
        ("patronato office history", patronato, {}),
        ("national director list", national, {}),
        ("national director, open", national, {"state": "open"}),
        ("national director, by codice fiscale", national, {"codice_fiscale": values["citizen"]}),
        (f"regional director ({region}) list", regional, {}),
        (f"regional director ({region}), open", regional, {"state": "open"}),
        (f"national, subject f24 + {month_start:%Y-%m}", national, {"subject": "f24", **month}),
        (f"regional ({region}), subject f24 + {month_start:%Y-%m}", regional, {"subject": "f24", **month}),
        (f"sede {sede}, dm_uniemens + {month_start:%Y-%m}", official, {"subject": "dm_uniemens", **month}),
        ("national list, page 200 (of 20)", national, {"page": "200"}),
        (f"regional ({region}), page 200", regional, {"page": "200"}),
    ]


def deep_cursor_searches(session, values: dict) -> list[tuple[str, dict, dict]]:
    """Cursors deep in the national and a regional list, where the code has cursors."""
    try:
        from services.intake.search import encode_cursor
    except ImportError:
        return []
    from sqlalchemy import text

    national = {"sub": "bench-dn", "role": "direttore", "scope": "national"}
    regional = {"sub": "bench-dr", "role": "direttore", "regione": values["region"]}
    found = []
    for name, claims, where, depth in (
        ("national list, cursor after 4,000", national, "TRUE", 4_000),
        ("national list, cursor after 500,000", national, "TRUE", 500_000),
        (
            f"regional ({values['region']}), cursor after 50,000",
            regional,
            "assigned_region = :region",
            50_000,
        ),
    ):
        row = session.execute(
            text(
                f"SELECT updated_at, id FROM requests WHERE {where} "
                "ORDER BY updated_at DESC, id OFFSET :depth LIMIT 1"
            ),
            {"region": values["region"], "depth": depth - 1},
        ).first()
        if row is not None:
            found.append((name, claims, {"cursor": encode_cursor(row.updated_at, row.id)}))
    return found


def run_search(sessions, catalog, claims: dict, query: dict) -> dict:
    """What ``IntakeService.search_requests`` does, without the RPC."""
    from services.intake import views
    from shared import access, contracts
    from shared.access import Caller

    caller, filters = Caller.from_claims(claims), contracts.load(contracts.SearchFilters, query)
    with sessions.begin() as session:
        return views.search(session, catalog, access.require_some_scope(caller), filters)


def timed(function, count: int, warm: int = 3) -> list[float]:
    for _ in range(warm):
        function()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        function()
        latencies.append((time.perf_counter() - started) * 1000)
    return sorted(latencies)


def measure(url: str, count: int) -> None:
    from sqlalchemy import text
    from sqlalchemy.orm import sessionmaker

    from services.intake.catalog import default_catalog
    from shared.clock import SystemClock, rome_date
    from shared.db import make_engine

    engine = make_engine(url, pool_size=1)
    sessions = sessionmaker(engine, expire_on_commit=False)
    catalog = default_catalog()
    try:
        with sessions.begin() as session:
            values = pick_values(session)
            planned = searches(values, rome_date(SystemClock().now())) + deep_cursor_searches(session, values)
            rows_in_table = session.execute(text("SELECT count(*) FROM requests")).scalar()

        def select_one():
            with sessions.begin() as session:
                session.execute(text("SELECT 1"))

        print(machine_line("p95 e max"))
        baseline = timed(select_one, count * 2)
        results = []
        for name, claims, query in planned:
            answer = run_search(sessions, catalog, claims, query)
            latencies = timed(lambda c=claims, q=query: run_search(sessions, catalog, c, q), count)
            results.append((name, latencies, answer))
        load_after = __import__("os").getloadavg()[0]
    finally:
        engine.dispose()
    base_p50 = percentile(baseline, 0.5)

    def row(name, latencies, answer=None):
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        total = "-"
        if answer is not None:
            total = f"{answer['total']:,}" + ("~" if answer.get("total_is_estimate") else "")
        return [
            name,
            len(latencies),
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{latencies[-1]:.1f}",
            f"{p50 / base_p50:.0f}x",
            total,
            "" if answer is None else ("ok" if p95 <= BUDGET_MS else "OVER"),
        ]

    print_table(
        f"Searches over {rows_in_table:,} requests, in process (p95 budget {BUDGET_MS} ms; "
        f"'~' = estimated total; load after the run {load_after:.1f})",
        ["search", "n", "p50 ms", "p95 ms", "max ms", "p50 / baseline", "total", "p95"],
        [row("baseline: SELECT 1 in a transaction", baseline)] + [row(*result) for result in results],
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark delle ricerche di intake")
    parser.add_argument(
        "--requests", type=int, default=1_000_000, help="richieste generate (default 1.000.000)"
    )
    parser.add_argument("--count", type=int, default=100, help="ricerche misurate per riga")
    parser.add_argument(
        "--database-url", help="un database di intake già riempito (non generato, non rimosso)"
    )
    args = parser.parse_args(argv)
    from shared.migrations import drop_database, ensure_database, upgrade

    if args.database_url:
        measure(args.database_url, args.count)
        return 0
    from bench.gen_requests import generate

    url = throwaway_database_url("intake")
    try:
        ensure_database(url)
        upgrade("intake", url)
        print(f"Genero {args.requests:,} richieste in un database usa e getta…", flush=True)
        made = generate(url, args.requests, progress=lambda line: print(line, flush=True))
        print(
            f"Dati: {made['requests']:,} richieste in {made['load_seconds']} s, "
            f"indici in {made['index_seconds']} s"
        )
        measure(url, args.count)
    finally:
        drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
