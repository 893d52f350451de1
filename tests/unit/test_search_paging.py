"""Paging the searches: the opaque cursor (round trip, hostile text refused as a 422 naming
``cursor``), numbered pages only for the first results, totals exact up to a cap and
estimated beyond it, and the document saying so."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.openapi import openapi_document
from gateway.service import GatewayService
from shared import contracts
from shared.errors import InvalidInput
from shared.paging import CURSOR_MAX_LENGTH, InvalidCursor, counted_total, decode_cursor, encode_cursor

WHEN = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
ITEM = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")


def raw_cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_cursor_names_the_sort_key_it_was_made_from():
    cursor = encode_cursor(WHEN, ITEM)

    assert decode_cursor(cursor) == (WHEN, ITEM)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(cursor) <= CURSOR_MAX_LENGTH


def test_a_cursor_keeps_the_instant_whatever_the_zone_it_was_given_in():
    rome = WHEN.astimezone(timezone(timedelta(hours=1)))

    assert decode_cursor(encode_cursor(rome, str(ITEM))) == (WHEN, ITEM)


def test_a_naive_instant_makes_no_cursor():
    with pytest.raises(ValueError):
        encode_cursor(WHEN.replace(tzinfo=None), ITEM)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "A" * (CURSOR_MAX_LENGTH + 1),
        "not a cursor!",
        "%%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        raw_cursor({"at": WHEN.isoformat(), "id": str(ITEM)}),
        raw_cursor([2, WHEN.isoformat(), str(ITEM)]),
        raw_cursor([1, WHEN.isoformat()]),
        raw_cursor([1, 1700000000, str(ITEM)]),
        raw_cursor([1, "ieri", str(ITEM)]),
        raw_cursor([1, "2026-03-02T09:30:15", str(ITEM)]),
        raw_cursor([1, "9999-12-31T23:59:59+00:00", str(ITEM)]),
        raw_cursor([1, WHEN.isoformat(), "1; DROP TABLE requests"]),
        raw_cursor([1, WHEN.isoformat(), None]),
    ],
)
def test_anything_else_is_no_cursor(text):
    with pytest.raises(InvalidCursor):
        decode_cursor(text)


def test_an_exact_count_within_the_cap_asks_the_planner_nothing():
    def estimate():
        raise AssertionError("no estimate needed")

    assert counted_total(0, 1000, estimate) == (0, False)
    assert counted_total(1000, 1000, estimate) == (1000, False)


def test_past_the_cap_the_planner_s_estimate_is_given_and_said_to_be_one():
    assert counted_total(1001, 1000, lambda: 48_200) == (48_200, True)


def test_an_estimate_is_never_below_what_was_counted():
    assert counted_total(1001, 1000, lambda: 12) == (1001, True)
    assert counted_total(1001, 1000, lambda: None) == (1001, True)


# ---- at the edge: the search's query string ---------------------------------------------------


def load_search(query: dict) -> dict:
    return contracts.load(contracts.SearchFilters, query)


def refused(query: dict) -> list[tuple[str, str]]:
    """(field, code) of each error of a refused search."""
    with pytest.raises(InvalidInput) as refusal:
        load_search(query)
    assert refusal.value.status == 422
    return [(error["field"], error["code"]) for error in refusal.value.as_problem()["errors"]]


def test_the_search_loads_a_cursor_as_its_sort_key():
    assert load_search({"cursor": encode_cursor(WHEN, ITEM)})["cursor"] == (WHEN, ITEM)
    assert load_search({})["cursor"] is None


@pytest.mark.parametrize("cursor", ["x" * 5000, "not a cursor!", raw_cursor([1, "ieri", str(ITEM)]), "\x00"])
def test_a_hostile_cursor_is_refused_naming_the_field_and_the_rule(cursor):
    assert refused({"cursor": cursor}) == [("cursor", "invalid_cursor")]


def test_a_cursor_and_a_page_number_do_not_go_together():
    assert refused({"cursor": encode_cursor(WHEN, ITEM), "page": "2"}) == [("page", "page_with_cursor")]


def test_numbered_pages_cover_the_first_results_only():
    deepest = contracts.MAX_OFFSET // 20
    assert load_search({"page": str(deepest)})["page"] == deepest
    assert refused({"page": str(deepest + 1)}) == [("page", "page_too_deep")]
    assert refused({"page": "101", "page_size": "100"}) == [("page", "page_too_deep")]


def test_a_shape_error_keeps_its_generic_code():
    assert refused({"page": "zero"}) == [("page", "invalid_field")]


def test_the_document_says_totals_may_be_estimates_and_how_to_go_deeper():
    document = openapi_document(GatewayService)
    result = document["components"]["schemas"]["SearchResult"]["properties"]
    search = document["paths"]["/api/v1/requests"]["get"]
    cursor = next(p for p in search["parameters"] if p["name"] == "cursor")

    assert result["total_is_estimate"]["type"] == "boolean"
    assert "stima" in result["total"]["description"]
    assert result["next_cursor"]["nullable"] is True
    assert cursor["schema"]["maxLength"] == CURSOR_MAX_LENGTH
    assert cursor["schema"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert set(search["responses"]["422"]["x-business-rules"]) == set(contracts.SEARCH_RULES)
