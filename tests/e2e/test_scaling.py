"""Two instances of routing and two of notify (what `make run SCALE="routing=2 notify=2"`
starts) share the events of their queues, competing consumers, and nothing is processed
twice: each instance's own metrics show it took a part, the parts add up to the events
published, and the databases and the mail sink hold each outcome exactly once."""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
import requests

from deploy.local.stack import LocalStack, Ports, instance_names
from shared.config import REPO_ROOT
from shared.events import REQUEST_SUBMITTED, make_event
from shared.outbox import event_publisher, publish_envelope
from tests.e2e.test_metrics import value
from tests.harness import free_port
from tests.integration.helpers import scalar, wait_until

pytestmark = pytest.mark.e2e

SCALE = {"routing": 2, "notify": 2}
EVENTS = 60


@pytest.fixture(scope="module")
def scaled(infra, tmp_path_factory):
    """routing ×2 and notify ×2 as processes on a vhost, databases and mail sink of their own."""
    own = infra.isolated_copy()
    tmp = tmp_path_factory.mktemp("scaled")
    env = own.process_env()
    names = instance_names(tuple(SCALE), SCALE)
    stack = LocalStack(
        env,
        tmp / "run",
        tmp / "log",
        Ports(gateway=free_port()),
        services=tuple(SCALE),
        scale=SCALE,
        metrics_ports={name: free_port() for name in names},
    )
    try:
        subprocess.run(
            [sys.executable, "-m", "services.routing.reference", "load"],
            env=env,
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
        stack.start_supervisor(die_with_parent=True)
        for name in stack.services:
            stack.supervisor.start_program(name)
        for name in stack.services:  # each instance's own readiness probe
            last = {}
            try:
                wait_until(lambda name=name, last=last: ready(stack, name, last), timeout=90, interval=0.5)
            except AssertionError:
                raise AssertionError(
                    f"{name} not ready: {last.get('answer')} ({stack.state(name)})"
                ) from None
        stack.infra = own
        yield stack
    finally:
        stack.shutdown()
        print(stack.logs())
        own.teardown()


def ready(stack, name, last: dict) -> bool:
    try:
        port = stack.metrics_ports[name]
        answer = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    except requests.RequestException as exc:
        last["answer"] = exc.__class__.__name__
        return False
    last["answer"] = f"{answer.status_code} {answer.text[:200]}"
    return answer.status_code == 200


def consumed(stack, name, event_type) -> tuple[float, float]:
    """(events handled to the end, duplicate deliveries skipped) by one instance, from its own
    /metrics. A delivery that failed and was retried (notify's request_routed before its
    request_submitted, handled by the other instance: RetryLater) counts once, when it succeeds."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(stack.metrics_url(name), timeout=10).text
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
    return (
        value(samples, "combid_events_consumed_total", event_type=event_type, outcome="ok"),
        value(samples, "combid_events_duplicate_total", event_type=event_type),
    )


def submitted(request_id, email):
    payload = {
        "request_id": request_id,
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": "patronato",
        "channel": "combipat",
        "profile": "operatore_generico",
        "subject": "sollecito_domanda",
        "catalog_version": "combipat-2021",
        "area": "pensioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "patronato": {"ente": "001", "ufficio": "U1"},
        "case_identifier": {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"},
        "contacts": {"email": email, "sms": None},
        "requester": "op-1",
        "submitted_at": datetime.now(UTC),
    }
    return make_event(REQUEST_SUBMITTED, payload, producer="intake")


def test_instances_share_the_events_and_none_is_processed_twice(scaled):
    own = scaled.infra
    run = uuid.uuid4().hex[:8]
    requests_by_email = {f"scale-{run}-{n}@patronato.example": str(uuid.uuid4()) for n in range(EVENTS)}
    publisher = event_publisher(own.amqp_uri)
    for email, request_id in requests_by_email.items():
        publish_envelope(publisher, submitted(request_id, email).to_message())

    routing_db, notify_db = own.database_url("routing"), own.database_url("notify")
    ids = list(requests_by_email.values())

    def decisions() -> int:
        sql = "SELECT count(*) FROM routing_decisions WHERE request_id = ANY(CAST(:ids AS uuid[]))"
        return scalar(routing_db, sql, ids=ids)

    def emails_sent() -> int:
        sql = (
            "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'sent' "
            "AND request_id = ANY(CAST(:ids AS uuid[]))"
        )
        return scalar(notify_db, sql, ids=ids)

    # routed once each; notify mails "registrata" (request_submitted) and "inoltrata" (request_routed)
    wait_until(lambda: decisions() == EVENTS, timeout=90, interval=0.5)
    wait_until(lambda: emails_sent() == 2 * EVENTS, timeout=120, interval=0.5)

    for service, event_types in (
        ("routing", ["request_submitted"]),
        ("notify", ["request_submitted", "request_routed"]),
    ):
        for event_type in event_types:
            parts = {name: consumed(scaled, name, event_type) for name in instance_names([service], SCALE)}
            handled = [count for count, _ in parts.values()]
            assert all(count > 0 for count in handled), f"{service} {event_type}: an instance idle {parts}"
            assert sum(handled) == EVENTS, f"{service} {event_type}: {parts}"  # no delivery handled twice
            assert sum(duplicates for _, duplicates in parts.values()) == 0

    # what each event caused, once: one decision per request, one inbox row per event,
    # each address two mails (two Message-IDs), nothing more after everything settled
    assert decisions() == EVENTS
    inbox = scalar(
        routing_db,
        "SELECT count(*) FROM processed_events WHERE consumer = 'routing.on_request_submitted'",
    )
    assert inbox == EVENTS
    mails = [mail for mail in own.mails() if mail["To"] in requests_by_email]
    assert len(mails) == 2 * EVENTS
    assert {mail["To"] for mail in mails} == set(requests_by_email)
    assert len({mail["Message-ID"] for mail in mails}) == 2 * EVENTS
    assert emails_sent() == 2 * EVENTS
