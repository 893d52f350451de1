"""/ready: each service "ok" or "failing", never an internal error's text; in time even
when a service does not answer."""

from __future__ import annotations

import requests

from deploy.local.stack import wait_ready

READY_SERVICES = {"intake", "routing", "notify", "reporting", "agenda"}


def test_ready_lists_every_service_ok(stack):
    response = requests.get(f"{stack.url}/ready", timeout=15)
    assert response.status_code == 200
    assert response.json()["checks"] == {service: "ok" for service in READY_SERVICES}


def test_a_service_that_does_not_answer_is_failing_and_nothing_more_is_said(stack):
    stack.stop("agenda")
    try:
        # the gateway's own deadline is a few seconds: 15 s would be a hang
        response = requests.get(f"{stack.url}/ready", timeout=15)
    finally:
        stack.start("agenda")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    body = response.json()
    assert body["checks"] == {
        service: "failing" if service == "agenda" else "ok" for service in READY_SERVICES
    }
    assert set(body) == {"type", "title", "status", "code", "detail", "checks"}
    wait_ready(stack.url, timeout=60)
