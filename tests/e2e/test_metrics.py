"""Each service process serves Prometheus metrics and its probes on a port of its own
(shared/telemetry.py), and the counters move as a request flows through the system."""

from __future__ import annotations

import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.stack import SERVICES
from tests.e2e.helpers import auth, request_body, routed_detail, token
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.e2e


def scrape(stack, name: str) -> list:
    response = requests.get(stack.metrics_url(name), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def value(samples, name: str, **labels) -> float:
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(key) == want for key, want in labels.items())
    )


def test_every_process_serves_metrics_liveness_and_readiness(stack):
    assert set(stack.metrics_ports) == set(SERVICES)
    for name, port in stack.metrics_ports.items():
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/livez", timeout=5).json() == {"status": "ok", "service": name}
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        expected = {"broker": "ok"} if name == "gateway" else {"broker": "ok", "health": "ok"}
        assert ready.json()["checks"] == expected
        assert requests.get(f"{base}/nothing", timeout=5).status_code == 404
        samples = scrape(stack, name)
        if name != "gateway":  # its database read at scrape time
            assert value(samples, "combid_metrics_database_up", service=name) == 1.0
            assert any(s.name == "combid_outbox_oldest_pending_age_seconds" for s in samples)


def test_the_counters_move_as_a_request_flows(stack):
    before = {name: scrape(stack, name) for name in SERVICES}
    tok = token()
    email = f"metrics-{uuid.uuid4().hex[:8]}@patronato.example"
    created = requests.post(
        f"{stack.url}/api/v1/requests",
        headers={**auth(tok), "X-Request-ID": f"metrics-{uuid.uuid4().hex[:8]}"},
        json=request_body(email),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    routed_detail(stack, tok, created.json()["id"])
    missing = requests.get(f"{stack.url}/api/v1/requests/{uuid.uuid4()}", headers=auth(tok), timeout=10)
    assert missing.status_code == 404

    def grew(name, metric, at_least=1.0, **labels):
        return (
            value(scrape(stack, name), metric, **labels) >= value(before[name], metric, **labels) + at_least
        )

    # notify tells the requester by e-mail: its deliveries table, read at scrape time
    wait_until(
        lambda: grew("notify", "combid_notify_deliveries", channel="email", status="sent"),
        timeout=30,
        interval=0.5,
    )
    wait_until(
        lambda: grew("reporting", "combid_events_consumed_total", event_type="request_routed", outcome="ok"),
        timeout=20,
        interval=0.5,
    )
    http = "combid_http_request_seconds_count"
    assert grew("gateway", http, route="/api/v1/requests", method="POST", status="201")
    assert grew("gateway", http, route="/api/v1/requests/{request_id}", method="GET", status="200")
    assert grew("gateway", http, route="/api/v1/requests/{request_id}", method="GET", status="404")
    assert grew("intake", "combid_rpc_seconds_count", method="submit_request", outcome="ok")
    assert grew("intake", "combid_events_published_total", event_type="request_submitted")
    assert grew("intake", "combid_events_consumed_total", event_type="request_routed", outcome="ok")
    assert grew("routing", "combid_events_consumed_total", event_type="request_submitted", outcome="ok")
    assert grew("routing", "combid_event_handler_seconds_count", event_type="request_submitted")
    assert grew("routing", "combid_events_published_total", event_type="request_routed")
    assert grew("notify", "combid_events_consumed_total", event_type="request_submitted", outcome="ok")
    assert grew("agenda", "combid_events_consumed_total", event_type="request_submitted", outcome="ok")
