"""Monthly reports on the real database and object store: produced once per region and month
however many instances try (the claim), taken over when an instance died holding it, stored
as PDF, CSV and XLSX whose figures are the dashboard's for that month; listed and downloaded
by scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from openpyxl import load_workbook
from sqlalchemy import select

from services.reporting import customer_care, dashboard, monthly
from services.reporting.models import MonthlyReport
from services.reporting.service import ReportingService
from shared.access import DashboardView
from shared.clock import FixedClock
from shared.db import DatabaseAccess, OutboxMessage
from shared.errors import Forbidden, NotFound
from shared.storage import ObjectStoreAccess, make_client
from tests.integration.test_reporting_aggregates import apply, delivered_in_any_order_with_duplicates, world
from tests.integration.test_reporting_customer_care import Booking
from tests.integration.test_reporting_customer_care import apply as apply_appointment

NOW = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)  # March 2026's report is due from 26 April


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("reporting")


@pytest.fixture(scope="module")
def store(infra):
    client = make_client(infra.s3_endpoint, infra.s3_access_key, infra.s3_secret_key)
    return ObjectStoreAccess(client, infra.bucket)


@pytest.fixture
def region(sessions, unique):
    """A region with requests and appointments (Customer Care) in March."""
    rng, region, _, _, stories = world(unique, requests=50, seed=11)
    for ev in delivered_in_any_order_with_duplicates(rng, stories):
        apply(sessions, ev)
    for booking in [Booking(rng, f"{unique[:8]}{index % 2}", region) for index in range(20)]:
        for ev in booking.events:
            apply_appointment(sessions, ev)
    return region


def test_a_region_month_is_produced_once_and_its_files_hold_the_dashboards_figures(sessions, store, region):
    first = monthly.produce(sessions.begin, store, region, 2026, 3, NOW)
    second = monthly.produce(sessions.begin, store, region, 2026, 3, NOW + timedelta(minutes=1))

    assert second is None  # the other instance finds it claimed and published
    assert (first["region"], first["month"]) == (region, "2026-03")
    assert [item["format"] for item in first["files"]] == ["pdf", "csv", "xlsx"]
    with sessions() as session:
        expected = dashboard.indicators(
            session,
            DashboardView("region", region),
            {"from_day": date(2026, 3, 1), "to_day": date(2026, 3, 31)},
            NOW.date(),
        )
        care = customer_care.customer_care(
            session,
            DashboardView("region", region),
            {"from_day": date(2026, 3, 1), "to_day": date(2026, 3, 31)},
            NOW.date(),
        )
        row, pdf = monthly.stored_file(session, first["id"], "pdf", None)
        _, csv_file = monthly.stored_file(session, first["id"], "csv", region)
        _, xlsx = monthly.stored_file(session, first["id"], "xlsx", None)
    assert row.figures["indicators"] == expected
    assert store.get(pdf["key"]).startswith(b"%PDF")
    lines = list(csv.reader(io.StringIO(store.get(csv_file["key"]).decode("utf-8-sig")), delimiter=";"))
    total = lines[1]
    assert total[:2] == ["regione", region]
    assert [int(total[3]), int(total[4]), int(total[5])] == [
        expected["totals"]["submitted"],
        expected["totals"]["closed_within_sla"],
        expected["totals"]["closed_late"],
    ]
    sedi_rows = [line for line in lines if line[0] == "sede"]
    assert sorted(line[1] for line in sedi_rows) == sorted(child["code"] for child in expected["children"])
    sheet = load_workbook(io.BytesIO(store.get(xlsx["key"])))["Indicatori"]
    assert [cell.value for cell in sheet[2]][:4] == ["regione", region, None, expected["totals"]["submitted"]]
    # the Customer Care of the month's appointments: the dashboard's too
    assert row.figures["customer_care"] == care and care["totals"]["booked"] > 0
    care_sheet = load_workbook(io.BytesIO(store.get(xlsx["key"])))["Customer Care"]
    assert [cell.value for cell in care_sheet[2]][:6] == [
        "agenda regione",
        region,
        None,
        care["totals"]["booked"],
        care["totals"]["due"],
        care["totals"]["held"],
    ]
    assert [line[1] for line in lines if line[0] == "agenda sede"] == [
        child["code"] for child in care["children"]
    ]
    # announced once, in the transaction that published it: notify sends it to the region
    with sessions() as session:
        announced = [
            row.body["payload"]
            for row in session.scalars(
                select(OutboxMessage).where(OutboxMessage.event_type == "report_published")
            )
            if row.body["payload"]["report_id"] == first["id"]
        ]
    (payload,) = announced
    assert (payload["region"], payload["month"], payload["first_day"]) == (region, "2026-03", "2026-03-01")
    assert [item["format"] for item in payload["files"]] == ["pdf", "csv", "xlsx"]
    assert payload["totals"]["submitted"] == expected["totals"]["submitted"]


def test_a_claim_is_taken_over_when_its_instance_died_and_a_forced_run_makes_it_anew(sessions, unique):
    region = f"Claim {unique}"
    with sessions.begin() as session:
        held = monthly.claim(session, region, "2026-03", NOW)
    with sessions.begin() as session:
        assert monthly.claim(session, region, "2026-03", NOW + timedelta(minutes=5)) is None
        assert monthly.claim(session, region, "2026-03", NOW + timedelta(minutes=20)) == held
    with sessions.begin() as session:
        session.get(MonthlyReport, held).state = monthly.PUBLISHED
    with sessions.begin() as session:
        assert monthly.claim(session, region, "2026-03", NOW + timedelta(hours=1)) is None
        assert monthly.claim(session, region, "2026-03", NOW + timedelta(hours=1), force=True) == held


def test_the_timer_of_two_instances_produces_each_due_report_once(sessions, store, region):
    instances = [
        worker_factory(
            ReportingService,
            db=DatabaseAccess(sessions, "reporting.timer"),
            clock=FixedClock(NOW),
            store=store,
        )
        for _ in range(2)
    ]

    produced = [report for instance in instances for report in instance.publish_due_reports()]

    ours = [(report["region"], report["month"]) for report in produced if report["region"] == region]
    # due on 4 May: February (from 26 March) and March (from 26 April); not April
    assert sorted(ours) == [(region, "2026-02"), (region, "2026-03")]


def test_reports_are_listed_and_downloaded_within_the_callers_scope(sessions, store, region):
    report = monthly.produce(sessions.begin, store, region, 2026, 3, NOW)
    service = worker_factory(ReportingService, db=DatabaseAccess(sessions, "reporting.rpc"), store=store)
    regional = {"sub": "d", "role": "direttore", "regione": region}
    other = {"sub": "d", "role": "direttore", "regione": "Molise"}
    national = {"sub": "d", "role": "direttore", "scope": "national"}

    assert [item["id"] for item in service.list_reports(regional, {})] == [report["id"]]
    assert report["id"] in [item["id"] for item in service.list_reports(national, {"month": "2026-03"})]
    assert service.list_reports(other, {}) == [] or all(
        item["region"] == "Molise" for item in service.list_reports(other, {})
    )
    found = service.report_download(regional, report["id"], "pdf")
    assert found["store_url"].startswith("http") and found["filename"].endswith(".pdf")
    with pytest.raises(NotFound):
        service.report_download(other, report["id"], "pdf")
    with pytest.raises(Forbidden):
        service.list_reports(other, {"region": region})
    with pytest.raises(Forbidden):
        service.list_reports({"sub": "d", "role": "direttore", "sede": "0704"}, {})
