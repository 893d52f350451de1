"""The Cruscotto and the monthly reports (gateway/ui/pages_dashboard.py) over HTTP, the
services stood in for: the figures of the API drawn as tables and SVG charts with words for
the grades, the drill-down links national → region → sede → requests, the report files
streamed from the API's download; refusals answer the API's 403/404."""

from __future__ import annotations

import copy

import pytest

from shared.errors import NotFound
from tests.interface.test_console_pages import sign_in
from tests.interface.test_gateway_routes import (
    BACKLOG,
    DASHBOARD_REQUESTS,
    INDICATORS,
    REPORT,
    REPORT_ID,
    REQUEST_ID,
    TREND,
)


@pytest.fixture
def regional(gateway, web_session):
    sign_in(web_session, "direttore_regionale")
    gateway.rpc.reporting.dashboard_indicators.return_value = copy.deepcopy(INDICATORS)
    gateway.rpc.reporting.dashboard_backlog.return_value = copy.deepcopy(BACKLOG)
    gateway.rpc.reporting.dashboard_trend.return_value = copy.deepcopy(TREND)
    return web_session


def test_the_cruscotto_shows_the_indicators_with_grades_in_words_and_charts(gateway, regional):
    answer = regional.get("/ui/cruscotto?from=2026-03-01&to=2026-03-31")
    assert answer.status_code == 200
    page = answer.text
    _caller, query = gateway.rpc.reporting.dashboard_indicators.call_args.args
    assert query == {"from": "2026-03-01", "to": "2026-03-31"}
    assert gateway.rpc.reporting.dashboard_backlog.call_args.args[1] == {}  # today's: no period
    assert "75,0%" in page and 'data-grade="warning"' in page and "Attenzione" in page
    assert "66,7%" in page  # the backlog index
    assert page.count('<svg class="combid-chart"') == 4
    assert 'aria-label="Indicatore di soglia per oggetto' in page
    assert "10 gg" in page  # the subject's threshold


def test_the_cruscotto_links_down_a_level_and_to_the_requests_behind_a_figure(gateway, regional):
    page = regional.get("/ui/cruscotto").text
    assert 'href="/ui/cruscotto?level=sede&amp;code=0704&amp;from=2026-03-01&amp;to=2026-03-31"' in page
    assert (
        'href="/ui/cruscotto/richieste?bucket=open_past_sla&amp;level=region&amp;code=Lazio'
        "&amp;from=2026-03-01&amp;to=2026-03-31&amp;subject=f24&amp;sla_days=10" in page
    )


def test_the_breadcrumb_links_only_the_levels_in_the_caller_s_scope(gateway, regional):
    page = regional.get("/ui/cruscotto").text
    assert 'href="/ui/cruscotto?level=national"' not in page  # a regional director
    assert "Italia" in page
    sede_view = copy.deepcopy(INDICATORS)
    sede_view["view"] = DASHBOARD_REQUESTS["view"]
    sede_view["children"] = []
    gateway.rpc.reporting.dashboard_indicators.return_value = sede_view
    page = regional.get("/ui/cruscotto?level=sede&code=0704").text
    assert 'href="/ui/cruscotto?level=region&amp;code=Lazio"' in page


def test_the_requests_behind_a_figure_link_to_each_request(gateway, regional):
    gateway.rpc.reporting.dashboard_requests.return_value = copy.deepcopy(DASHBOARD_REQUESTS)
    answer = regional.get("/ui/cruscotto/richieste?level=sede&code=0704&bucket=closed_late&sla_days=10")
    assert answer.status_code == 200
    query = gateway.rpc.reporting.dashboard_requests.call_args.args[1]
    assert query == {"level": "sede", "code": "0704", "bucket": "closed_late", "sla_days": "10"}
    assert f'href="/ui/sede/richieste/{REQUEST_ID}"' in answer.text
    assert "Chiuse oltre i termini" in answer.text


def test_an_invalid_bucket_is_the_api_s_422(gateway, regional):
    answer = regional.get("/ui/cruscotto/richieste?bucket=tutto")
    assert answer.status_code == 422
    assert "bucket" in answer.text
    gateway.rpc.reporting.dashboard_requests.assert_not_called()


def test_the_cruscotto_is_refused_to_a_requester_with_the_api_s_403(gateway, web_session):
    sign_in(web_session, "patronato_operatore")
    for path in ("/ui/cruscotto", "/ui/cruscotto/richieste", "/ui/report", f"/ui/report/{REPORT_ID}/pdf"):
        answer = web_session.get(path)
        assert answer.status_code == 403, path
    assert gateway.rpc.mock_calls == []


def test_the_reports_list_their_files_to_download(gateway, regional):
    gateway.rpc.reporting.list_reports.return_value = [REPORT]
    answer = regional.get("/ui/report?month=2026-03")
    assert answer.status_code == 200
    assert gateway.rpc.reporting.list_reports.call_args.args[1] == {"month": "2026-03"}
    for fmt in ("pdf", "csv", "xlsx"):
        assert f'href="/ui/report/{REPORT_ID}/{fmt}"' in answer.text


def test_a_report_file_is_streamed_from_the_api_s_download(gateway, regional, object_store):
    object_store.objects["/report.csv"] = b"regione;mese\nLazio;2026-03\n"
    gateway.rpc.reporting.report_download.return_value = {
        "filename": "cruscotto-lazio-2026-03.csv",
        "content_type": "text/csv",
        "size": 27,
        "store_url": object_store.url + "/report.csv",
    }
    answer = regional.get(f"/ui/report/{REPORT_ID}/csv")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.content == b"regione;mese\nLazio;2026-03\n"
    assert "cruscotto-lazio-2026-03.csv" in answer.headers["Content-Disposition"]


def test_a_report_of_another_region_or_format_answers_404_or_422(gateway, regional):
    gateway.rpc.reporting.report_download.side_effect = NotFound("report_not_found", "Report non trovato.")
    assert regional.get(f"/ui/report/{REPORT_ID}/pdf").status_code == 404
    assert regional.get(f"/ui/report/{REPORT_ID}/doc").status_code == 422


def test_a_sede_director_reaches_the_cruscotto_but_not_the_reports(gateway, web_session):
    sign_in(web_session, "direttore_sede")
    page = web_session.get("/ui/profilo").text
    assert 'href="/ui/cruscotto"' in page
    assert web_session.get("/ui/report").status_code == 403
