"""The search on the real PostgreSQL: cursor pages walk the whole list in the order of the
numbered pages, with no gap and no repeat, ties on ``updated_at`` included; the caller's
scope still filters every page; totals are exact for small results and said to be
estimates past the cap; the migration of the search indexes goes down and up again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from services.intake import search as search_module
from services.intake import views
from services.intake.catalog import default_catalog
from services.intake.models import Request
from shared import access, contracts
from shared.access import Caller
from shared.migrations import alembic_config, drop_database, upgrade

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database_sessions):
    return database_sessions("intake")


def add_requests(sessions, count: int, *, distinct_instants: int | None = None, **facts) -> list[str]:
    """``count`` routed requests with ``facts``; ``distinct_instants`` < count gives several
    the same ``updated_at`` (the tie the order breaks by id)."""
    rows, instants = [], distinct_instants or count
    for number in range(count):
        at = START + timedelta(minutes=number % instants)
        rows.append(
            {
                "id": uuid.uuid4(),
                "protocol": f"T.{uuid.uuid4().hex[:20]}",
                "origin": "cassetto",
                "channel": "cassetto",
                "profile": "azienda",
                "subject_code": "f24",
                "catalog_version": "cassetto-2026",
                "area": "soggetto_contribuente",
                "sla_days": 25,
                "text": "domanda",
                "contacts": {},
                "requester_sub": "bench",
                "state": "open",
                "assigned_kind": "sede",
                "created_at": at,
                "updated_at": at,
                **facts,
            }
        )
    with sessions.begin() as session:
        session.execute(sa.insert(Request), rows)
    return [str(row["id"]) for row in rows]


def search(sessions, claims: dict, query: dict) -> dict:
    """What ``search_requests`` does, without the RPC: claims and query string as they arrive."""
    caller, filters = Caller.from_claims(claims), contracts.load(contracts.SearchFilters, query)
    with sessions.begin() as session:
        return views.search(session, default_catalog(), access.require_some_scope(caller), filters)


def walk_by_cursor(sessions, claims: dict, query: dict, size: int) -> list[str]:
    shown, cursor = [], None
    while True:
        after = {"cursor": cursor} if cursor else {}
        page = search(sessions, claims, {**query, "page_size": str(size), **after})
        shown += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return shown
        assert len(shown) < 1000, "the walk does not end"


def walk_by_page(sessions, claims: dict, query: dict, size: int) -> list[str]:
    shown, number = [], 1
    while True:
        page = search(sessions, claims, {**query, "page_size": str(size), "page": str(number)})
        if not page["items"]:
            return shown
        shown += [item["id"] for item in page["items"]]
        number += 1


def director(region: str) -> dict:
    return {"sub": "dir", "role": "direttore", "regione": region}


def test_cursor_pages_walk_the_whole_list_in_the_order_of_numbered_pages(sessions, unique):
    region = f"Regione {unique}"
    ids = add_requests(sessions, 45, distinct_instants=12, assigned_region=region, assigned_sede="9001")
    add_requests(sessions, 5, assigned_region=f"Altrove {unique}", assigned_sede="9002")
    expected = [
        str(row.id)
        for row in sorted(
            (r for r in _rows(sessions, ids)), key=lambda r: (-r.updated_at.timestamp(), str(r.id))
        )
    ]

    by_cursor = walk_by_cursor(sessions, director(region), {}, size=7)
    by_page = walk_by_page(sessions, director(region), {}, size=7)

    assert by_cursor == by_page == expected
    assert len(set(by_cursor)) == 45


def _rows(sessions, ids):
    with sessions.begin() as session:
        return session.execute(
            sa.select(Request.id, Request.updated_at).where(Request.id.in_([uuid.UUID(i) for i in ids]))
        ).all()


def test_every_cursor_page_keeps_the_scope_and_the_filters(sessions, unique):
    region = f"Regione {unique}"
    open_ones = add_requests(sessions, 9, distinct_instants=3, assigned_region=region, state="open")
    add_requests(sessions, 6, assigned_region=region, state="closed")
    add_requests(sessions, 8, assigned_region=f"Altrove {unique}", state="open")

    shown = walk_by_cursor(sessions, director(region), {"state": "open"}, size=2)

    assert sorted(shown) == sorted(open_ones)
    assert walk_by_cursor(sessions, director(f"Nessuna {unique}"), {}, size=5) == []


def test_a_requester_s_history_by_cursor_covers_its_matricole_and_its_own_requests(sessions, unique):
    matricola, consulente = f"{int(unique, 16) % 10**10:010d}", "RSSMRA85T10A562S"
    delegated = add_requests(sessions, 6, matricola=matricola)
    own = add_requests(sessions, 4, consulente_codice_fiscale=f"{consulente[:10]}{unique[:6].upper()}")
    add_requests(sessions, 5, matricola=f"{(int(unique, 16) + 1) % 10**10:010d}")
    caller = {
        "sub": f"cdl-{unique}",
        "role": "intermediario",
        "codice_fiscale": f"{consulente[:10]}{unique[:6].upper()}",
        "matricole": [matricola],
    }

    assert sorted(walk_by_cursor(sessions, caller, {}, size=3)) == sorted(delegated + own)


def test_a_small_result_has_an_exact_total_and_its_last_page_no_cursor(sessions, unique):
    region = f"Regione {unique}"
    add_requests(sessions, 12, assigned_region=region)

    first = search(sessions, director(region), {"page_size": "10"})
    last = search(sessions, director(region), {"page_size": "10", "cursor": first["next_cursor"]})

    assert (first["total"], first["total_is_estimate"], first["page"]) == (12, False, 1)
    assert (len(last["items"]), last["total"], last["page"], last["next_cursor"]) == (2, 12, None, None)


def test_past_the_cap_the_total_is_an_estimate_and_says_so(sessions, unique):
    region = f"Regione {unique}"
    add_requests(sessions, search_module.COUNT_CAP + 5, assigned_region=region)

    found = search(sessions, director(region), {"page_size": "5"})

    assert found["total_is_estimate"] is True
    assert found["total"] > search_module.COUNT_CAP
    assert len(found["items"]) == 5 and found["next_cursor"]


SEARCH_INDEXES = {"ix_requests_updated", "ix_requests_sede_state_updated", "ix_requests_subject_created"}


def test_the_search_indexes_migration_goes_down_and_up(infra):
    url = make_url(infra.database_url("intake")).set(database=f"combid_test_searchidx_{uuid.uuid4().hex[:8]}")
    url = url.render_as_string(hide_password=False)

    def indexes() -> set[str]:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                return set(
                    connection.execute(
                        sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'requests'")
                    ).scalars()
                )
        finally:
            engine.dispose()

    try:
        upgrade("intake", url)
        assert SEARCH_INDEXES <= indexes() and "ix_requests_updated_at" not in indexes()
        command.downgrade(alembic_config("intake", url), "0009")
        assert not SEARCH_INDEXES & indexes() and "ix_requests_updated_at" in indexes()
        upgrade("intake", url)
        assert SEARCH_INDEXES <= indexes()
    finally:
        drop_database(url)
