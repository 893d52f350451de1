"""The director's Cruscotto and the monthly reports: the indicators of a level (national,
region, sede) with the level below as links, the backlog, the trend, the requests behind a
figure; each figure is the API's (gateway/api/dashboard.py), drawn on the server
(gateway/ui/charts.py). A report's file is the API's download operation, streamed as it is.
"""

from __future__ import annotations

from urllib.parse import urlencode

from gateway.api.base import GatewayBase
from gateway.api.dashboard import DashboardApi
from gateway.api.reports import ReportsApi
from gateway.ui import charts
from gateway.ui.console import View, page
from gateway.ui.labels_office import ALL as LABELS
from shared.access import DashboardView, can_see_dashboard_view

# the query string of the Cruscotto, as the API names it
VIEW_FIELDS = ("level", "code", "from", "to", "subject", "origin")
CELL_FIELDS = (*VIEW_FIELDS, "sla_days", "bucket", "page", "page_size")
SHORT = 100


def _args(request, names) -> dict:
    return {name: (request.args.get(name) or "").strip()[:SHORT] for name in names if request.args.get(name)}


def link(path: str, **values) -> str:
    kept = {name: value for name, value in values.items() if value not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def breadcrumb(caller, view: dict) -> list[tuple[str, str | None]]:
    """national → region → sede, each level a link when the caller's scope reaches it."""
    steps: list[tuple[str, DashboardView]] = [("Italia", DashboardView("national"))]
    region = view.get("code") if view["level"] == "region" else view.get("region")
    if region:
        steps.append((region, DashboardView("region", region)))
    if view["level"] == "sede":
        steps.append(
            (
                f"{view.get('name') or ''} ({view['code']})".strip(),
                DashboardView("sede", view["code"], region),
            )
        )
    if view["level"] == "triage":
        steps.append(("Smistamento", DashboardView("triage")))
    crumbs = []
    for index, (label, level) in enumerate(steps):
        last = index == len(steps) - 1
        reachable = not last and can_see_dashboard_view(caller, level)
        crumbs.append(
            (label, link("/ui/cruscotto", level=level.level, code=level.code) if reachable else None)
        )
    return crumbs


def _indicator_chart(rows: list[dict], key: str, title: str, label) -> object:
    return charts.bar_chart(
        [(label(row), row.get("threshold_indicator")) for row in rows],
        title,
        fmt=charts.percent,
        maximum=1,
        colour=lambda value: charts.grade(value).colour,
        testid=key,
    )


class DashboardPages(GatewayBase):
    @page("GET", "/ui/cruscotto")
    def ui_dashboard(self, view: View):
        query = _args(view.request, VIEW_FIELDS)
        indicators = view.api(DashboardApi.dashboard_indicators, query=query)
        scope = {name: query[name] for name in ("subject", "origin") if name in query}
        level = {"level": indicators["view"]["level"], "code": indicators["view"].get("code")}
        # the backlog is of today: the same level and filters, no period
        backlog = view.api(
            DashboardApi.dashboard_backlog,
            query={name: value for name, value in query.items() if name not in ("from", "to")},
        )
        trend = view.api(DashboardApi.dashboard_trend, query=query)
        period = {"from": indicators["period"]["first_day"], "to": indicators["period"]["last_day"]}
        here = {**level, **period, **scope}
        return view.render(
            "cruscotto/cruscotto.html",
            query=query,
            here=here,
            ind=indicators,
            backlog=backlog,
            trend=trend,
            crumbs=breadcrumb(view.caller, indicators["view"]),
            link=link,
            grade=charts.grade,
            percent=charts.percent,
            number=charts.number,
            subjects_chart=_indicator_chart(
                indicators["subjects"],
                "grafico-oggetti",
                "Indicatore di soglia per oggetto (chiuse entro la soglia ÷ chiuse e aperte scadute)",
                lambda row: row["subject"],
            ),
            children_chart=_indicator_chart(
                indicators["children"],
                "grafico-livello",
                "Indicatore di soglia per "
                + ("regione" if indicators["view"]["level"] == "national" else "sede"),
                lambda row: row.get("name") or row["code"],
            ),
            trend_chart=charts.line_chart(
                [(month["month"], month.get("threshold_indicator")) for month in trend["months"]],
                "Andamento mensile dell'indicatore di soglia",
                fmt=charts.percent,
                maximum=1,
                testid="grafico-andamento",
            ),
            due_chart=charts.bar_chart(
                [(due["due_day"], due["open"]) for due in backlog["due"]],
                "Richieste aperte nei termini per giorno di scadenza",
                testid="grafico-scadenze",
            ),
            **LABELS,
        )

    @page("GET", "/ui/cruscotto/richieste")
    def ui_dashboard_requests(self, view: View):
        query = _args(view.request, CELL_FIELDS)
        found = view.api(DashboardApi.dashboard_requests, query=query)
        pages = max(1, -(-found["total"] // found["page_size"]))
        return view.render(
            "cruscotto/richieste.html",
            query=query,
            found=found,
            pages=pages,
            crumbs=breadcrumb(view.caller, found["view"]),
            page_link=lambda number: link("/ui/cruscotto/richieste", **{**query, "page": number}),
            back=link("/ui/cruscotto", **{k: v for k, v in query.items() if k in VIEW_FIELDS}),
            **LABELS,
        )

    @page("GET", "/ui/report")
    def ui_reports(self, view: View):
        query = _args(view.request, ("region", "month"))
        reports = view.api(ReportsApi.list_reports, query=query)
        return view.render("cruscotto/report.html", query=query, reports=reports)

    @page("GET", "/ui/report/<string:report_id>/<string:format>")
    def ui_report_download(self, view: View, report_id, format):  # noqa: A002 - the API's own name
        return view.api(ReportsApi.download_report, report_id=report_id, format=format)
