"""The Cruscotto through the gateway, on the whole system: requests submitted and worked by the
offices reach reporting by events; a regional director sees the region's indicators, drills
down to a sede and to the requests behind one cell; a sede director and a regional director
cannot look outside their scope; the changes of subject are counted by sede; the monthly report
of the region is produced, stored and downloadable with the dashboard's figures."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid

import pytest

from services.notify import offices
from shared.clock import SystemClock, rome_date
from shared.config import REPO_ROOT
from tests.e2e.helpers import VALID_CF, api, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e

GROUP = "APP_FEA_COMBID"
OTHER_REGION_MATRICOLA = "7012345678"  # prefix 70: Campobasso, in Molise


def submit(stack, tok, body) -> tuple[str, dict]:
    created = api(stack, "POST", "/api/v1/requests", tok, json=body)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    # an admin reads the assignment with its region (a requester sees where, not the region)
    return request_id, routed_detail(stack, token("admin", sub="admin-cruscotto"), request_id)["assignment"]


def official_step(stack, sede, request_id, action, body):
    official = token("sede_operatore", sub=f"funz-cruscotto-{sede}", sede=sede, groups=[GROUP])
    done = api(stack, "POST", f"/api/v1/requests/{request_id}/{action}", official, json=body)
    assert done.status_code == 200, done.text


def listed(stack, tok, **params) -> dict:
    """Every page of the requests behind a cell: ids and the total the cell shows."""
    ids, page = set(), 1
    while True:
        answer = api(
            stack, "GET", "/api/v1/dashboard/requests", tok, params={**params, "page": page, "page_size": 200}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids |= {item["request_id"] for item in body["items"]}
        if page * 200 >= body["total"]:
            return {"ids": ids, "total": body["total"], "items": body["items"]}
        page += 1


@pytest.fixture(scope="module")
def requests_of_a_region(stack):
    """Three patronato requests at the sede of CAP 00184 (one closed the same day, one whose
    subject was changed), and a company's request at a sede of another region."""
    patronato = token("patronato_operatore", sub=f"op-cruscotto-{uuid.uuid4().hex[:6]}")
    body = {
        "subject": "requisiti_accesso",
        "text": "Quali requisiti per la pensione anticipata?",
        "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
    }
    ids, assignment = [], None
    for _ in range(3):
        request_id, assignment = submit(stack, patronato, body)
        ids.append(request_id)
    sede, region = assignment["code"], assignment["region"]
    official_step(stack, sede, ids[0], "close", {"outcome": "Requisiti illustrati"})
    official_step(stack, sede, ids[1], "subject", {"subject": "prestazione_in_corso_o_respinta"})
    company = token("azienda", sub=f"az-cruscotto-{uuid.uuid4().hex[:6]}", matricole=[OTHER_REGION_MATRICOLA])
    _, elsewhere = submit(
        stack,
        company,
        {"subject": "generico_informativo", "text": "Informazioni", "matricola": OTHER_REGION_MATRICOLA},
    )
    assert elsewhere["region"] != region
    return {"ids": ids, "sede": sede, "region": region, "other_sede": elsewhere["code"]}


def test_a_regional_director_drills_down_from_the_region_to_a_sede_and_to_the_requests(
    stack, requests_of_a_region
):
    world = requests_of_a_region
    director = token("direttore", sub="dir-regionale", regione=world["region"])
    today = rome_date(SystemClock().now()).isoformat()
    period = {"from": today, "to": today}

    def closed_request_counted():
        cell = listed(stack, director, level="sede", code=world["sede"], bucket="closed", **period)
        moved = listed(
            stack,
            director,
            level="sede",
            code=world["sede"],
            subject="prestazione_in_corso_o_respinta",
            **period,
        )
        return world["ids"][0] in cell["ids"] and world["ids"][1] in moved["ids"] and cell

    closed_cell = wait_until(closed_request_counted, timeout=30)

    region = api(stack, "GET", "/api/v1/dashboard/indicators", director, params=period)
    assert region.status_code == 200, region.text
    region = region.json()
    assert region["view"] == {
        "level": "region",
        "code": world["region"],
        "name": world["region"],
        "region": None,
    }
    assert region["apart"] is None
    sedi = {child["code"]: child for child in region["children"]}
    assert world["other_sede"] not in sedi  # another region's sede is not among the children
    ours = sedi[world["sede"]]
    assert ours["level"] == "sede" and ours["submitted"] >= 3 and ours["closed"] >= 1
    assert region["totals"]["submitted"] == sum(child["submitted"] for child in region["children"])

    sede = api(
        stack,
        "GET",
        "/api/v1/dashboard/indicators",
        director,
        params={**period, "level": "sede", "code": world["sede"]},
    ).json()
    assert sede["view"]["code"] == world["sede"] and sede["view"]["region"] == world["region"]
    assert sede["children"] == []
    assert {key: ours[key] for key in sede["totals"]} == sede["totals"]  # the same figures, one level down
    subjects = {row["subject"]: row for row in sede["subjects"]}
    assert subjects["requisiti_accesso"]["closed"] >= 1
    assert (
        subjects["prestazione_in_corso_o_respinta"]["open"] >= 1
    )  # the changed one counts under its new subject

    # the requests behind the cell "closed" of the sede: as many as the cell counts, ours among them
    assert closed_cell["total"] == sede["totals"]["closed"] == len(closed_cell["ids"])
    item = next(item for item in closed_cell["items"] if item["request_id"] == world["ids"][0])
    assert (item["state"], item["days"], item["within_sla"], item["sede"]) == (
        "closed",
        0,
        True,
        world["sede"],
    )
    still_open = listed(stack, director, level="sede", code=world["sede"], bucket="open_within_sla", **period)
    assert {world["ids"][1], world["ids"][2]} <= still_open["ids"]
    assert still_open["total"] == sede["totals"]["open"] - sede["totals"]["open_past_sla"]

    backlog = api(
        stack, "GET", "/api/v1/dashboard/backlog", director, params={"level": "sede", "code": world["sede"]}
    )
    assert backlog.status_code == 200 and backlog.json()["totals"]["open"] >= 2

    trend = api(stack, "GET", "/api/v1/dashboard/trend", director, params=period).json()
    assert [month["month"] for month in trend["months"]] == [today[:7]]
    assert trend["months"][0]["submitted"] == region["totals"]["submitted"]

    def change_counted():
        changes = api(stack, "GET", "/api/v1/dashboard/subject-changes", director, params=period).json()
        return [
            row
            for row in changes["by_sede"]
            if (row["sede"], row["from_subject"], row["to_subject"])
            == (world["sede"], "requisiti_accesso", "prestazione_in_corso_o_respinta")
        ]

    (change,) = wait_until(change_counted, timeout=20)
    assert change["changes"] >= 1 and change["region"] == world["region"]


def test_a_sede_director_and_a_regional_director_see_nothing_outside_their_scope(stack, requests_of_a_region):
    world = requests_of_a_region
    sede_director = token("direttore", sub="dir-sede", sede=world["sede"])
    regional = token("direttore", sub="dir-regionale", regione=world["region"])
    official = token("sede_operatore", sub="funz-cruscotto", sede=world["sede"], groups=[GROUP])

    own = api(stack, "GET", "/api/v1/dashboard/indicators", sede_director)
    assert own.status_code == 200 and own.json()["view"]["code"] == world["sede"]
    for tok in (sede_director, official):
        for path in ("indicators", "requests", "backlog"):
            other = api(
                stack,
                "GET",
                f"/api/v1/dashboard/{path}",
                tok,
                params={"level": "sede", "code": world["other_sede"]},
            )
            assert other.status_code == 403 and other.json()["code"] == "outside_scope", other.text
        up = api(
            stack,
            "GET",
            "/api/v1/dashboard/indicators",
            tok,
            params={"level": "region", "code": world["region"]},
        )
        assert up.status_code == 403 and up.json()["code"] == "outside_scope"
    for params in (
        {"level": "sede", "code": world["other_sede"]},
        {"level": "national"},
        {"level": "triage"},
    ):
        refused = api(stack, "GET", "/api/v1/dashboard/indicators", regional, params=params)
        assert refused.status_code == 403 and refused.json()["code"] == "outside_scope"
    patronato = api(stack, "GET", "/api/v1/dashboard/indicators", token("patronato_operatore"))
    assert patronato.status_code == 403 and patronato.json()["code"] == "role_not_allowed"


def test_a_national_director_sees_every_region_and_triage_apart(stack, requests_of_a_region):
    world = requests_of_a_region
    national = token("direttore", sub="dir-nazionale", scope="national")

    answer = api(stack, "GET", "/api/v1/dashboard/indicators", national)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    regions = {child["code"] for child in body["children"]}
    assert world["region"] in regions and all(child["level"] == "region" for child in body["children"])
    assert set(body["apart"]) == {"triage", "unrouted"}
    assert body["totals"]["submitted"] == sum(child["submitted"] for child in body["children"])


def test_the_monthly_report_of_a_region_is_stored_and_downloadable_with_the_dashboards_figures(
    stack, requests_of_a_region
):
    world = requests_of_a_region
    month = rome_date(SystemClock().now()).strftime("%Y-%m")
    director = token("direttore", sub="dir-regionale", regione=world["region"])
    wait_until(
        lambda: listed(
            stack, director, level="sede", code=world["sede"], bucket="closed", **{"from": f"{month}-01"}
        )["total"],
        timeout=30,
    )

    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.reporting",
            "report",
            "--month",
            month,
            "--region",
            world["region"],
            "--force",
        ],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr

    reports = api(stack, "GET", "/api/v1/reports", director, params={"month": month})
    assert reports.status_code == 200, reports.text
    (report,) = reports.json()
    assert (report["region"], report["month"]) == (world["region"], month)
    first = f"{month}-01"
    dashboard = api(stack, "GET", "/api/v1/dashboard/indicators", director, params={"from": first}).json()
    csv_file = api(stack, "GET", f"/api/v1/reports/{report['id']}/csv", director)
    assert csv_file.status_code == 200 and "attachment" in csv_file.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig")), delimiter=";"))
    total = rows[1]
    assert total[:2] == ["regione", world["region"]]
    # the month's figures as the dashboard shows them (nothing happened in between in this region's
    # cells but what this module did, which the wait above saw)
    assert int(total[3]) == dashboard["totals"]["submitted"]
    pdf = api(stack, "GET", f"/api/v1/reports/{report['id']}/pdf", director)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = api(stack, "GET", f"/api/v1/reports/{report['id']}/xlsx", director)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    other = token(
        "direttore", sub="dir-altra", regione="Sardegna" if world["region"] != "Sardegna" else "Molise"
    )
    hidden = api(stack, "GET", f"/api/v1/reports/{report['id']}/pdf", other)
    assert hidden.status_code == 404 and hidden.json()["code"] == "report_not_found"

    # announced by report_published: notify mails it, the PDF attached, to the Direzione regionale
    addresses = {
        row["region"]: row["email"] for row in offices.read_rows(offices.DIREZIONI, offices.DIREZIONI.sample)
    }

    def mailed():
        return [mail for mail in stack.infra.mails() if mail["To"] == addresses[world["region"]]]

    (mail,) = wait_until(mailed, timeout=30)
    assert str(mail["Subject"]).startswith("Rapporto mensile Comunicazione Bidirezionale")
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf.content
