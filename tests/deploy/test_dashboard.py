"""The Grafana dashboard (deploy/grafana/) shows only metrics the services export."""

from __future__ import annotations

import json
import re

from prometheus_client import Counter, Histogram

from shared import metrics
from shared.config import REPO_ROOT

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "combid-services.json"
# gauges read at scrape time, named in these modules
GAUGE_SOURCES = ("shared/metrics.py", "shared/outbox.py", "services/notify/metrics.py")


def exported() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names |= {f"{value._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
    for source in GAUGE_SOURCES:
        text = (REPO_ROOT / source).read_text(encoding="utf-8")
        names |= set(re.findall(r'GaugeMetricFamily\(\s*"(combid_[a-z_]+)"', text))
        names |= set(re.findall(r'\(\s*"(combid_[a-z_]+)",\s*"[a-z_]+",', text))
    return names


def test_every_panel_queries_an_exported_metric():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    known = exported()
    assert {"combid_notify_deliveries", "combid_outbox_oldest_pending_age_seconds"} <= known
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            used = set(re.findall(r"combid_[a-z_]+", target["expr"]))
            assert used, f"{panel['title']}: no combid metric in {target['expr']}"
            assert used <= known, f"{panel['title']}: unknown {sorted(used - known)}"
            queried |= used
    # every kind of figure the issue asks for has a panel
    assert {
        "combid_events_consumed_total",
        "combid_events_published_total",
        "combid_event_handler_seconds_bucket",
        "combid_events_retried_total",
        "combid_events_dead_lettered_total",
        "combid_outbox_pending",
        "combid_outbox_oldest_pending_age_seconds",
        "combid_notify_deliveries",
        "combid_http_request_seconds_bucket",
        "combid_http_request_seconds_count",
    } <= queried
