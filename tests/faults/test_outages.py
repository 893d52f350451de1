"""Outages under a steady load through the gateway: (a) RabbitMQ stopped for 10 s, (b) service
processes killed with SIGKILL and restarted by supervisor, (c) PostgreSQL restarted, (d) the
SMTP server down, (e) the SMS gateway answering 503 for a while. Afterwards every accepted
request is routed exactly once, every expected e-mail and SMS sent exactly once or recorded
as failed with its reason (every 25th request gives a landline, which can never get an SMS),
no dead letter is left and no service is down; the counts are printed as a table.

The short version runs in `make test`; the full one (2,000 requests, every service killed,
SMTP down 60 s) with `make faults`. They stop the machine's RabbitMQ and restart its
PostgreSQL (saying so first) and always start them again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from deploy.local.stack import SERVICES, wait_ready
from tests.faults import outages
from tests.faults.checks import settle, table
from tests.faults.load import SteadyLoad


@dataclass(frozen=True)
class Plan:
    requests: int
    rate: float  # per second: the load lasts about as long as the outages
    rabbitmq_down: float
    smtp_down: float
    sms_503: int  # sends the SMS gateway answers with 503 (retried by notify)
    kill: tuple[str, ...]
    pause: float  # between two outages
    settle_timeout: float


SHORT = Plan(
    requests=90,
    rate=2.0,
    rabbitmq_down=10,
    smtp_down=12,
    sms_503=10,
    kill=("intake",),
    pause=2,
    settle_timeout=240,
)
FULL = Plan(
    requests=2000,
    rate=10.0,
    rabbitmq_down=10,
    smtp_down=60,
    sms_503=200,
    kill=SERVICES,
    pause=8,
    settle_timeout=900,
)


def back_to_ready(stack, say, what: str) -> None:
    try:
        wait_ready(stack.url, timeout=120)
    except RuntimeError as exc:  # counted again at the end; go on with the next outage
        say(f"dopo {what} il sistema non è tornato pronto: {exc}")


def run_plan(stack, plan: Plan, say):
    load = SteadyLoad(stack.url, plan.requests, plan.rate)
    say(f"carico: {plan.requests} richieste a {plan.rate:g}/s su {stack.url}")
    load.start()
    killed = []
    time.sleep(plan.pause)
    outages.stop_rabbitmq(plan.rabbitmq_down, say)
    back_to_ready(stack, say, "RabbitMQ")
    time.sleep(plan.pause)
    outages.fail_sms_gateway(stack, 503, plan.sms_503, say)
    for service in plan.kill:
        time.sleep(plan.pause)
        outages.kill_service(stack, service, say)
        killed.append(service)
        back_to_ready(stack, say, f"SIGKILL a {service}")
    time.sleep(plan.pause)
    outages.restart_postgres(say)
    back_to_ready(stack, say, "PostgreSQL")
    time.sleep(plan.pause)
    outages.stop_smtp_sink(stack, plan.smtp_down, say)
    load.join(timeout=plan.requests / plan.rate + 120)
    say(f"invio terminato ({load.sent} di {plan.requests}): attendo che il sistema si assesti...")
    shot = settle(stack, set(load.accepted()), plan.settle_timeout, say)
    say("risultato:\n" + table(load, shot, killed))
    return load, shot, killed


def check(load, shot, killed, plan: Plan) -> None:
    failures = [f"#{s.seq} {s.outcome} {s.status or ''} {s.detail}" for s in load.failures()]
    assert load.sent == plan.requests
    assert not failures, f"{len(failures)} richieste con errore: {failures[:10]}"
    assert shot.accepted >= plan.requests // 2, "troppo poche richieste accettate per dire qualcosa"
    assert not shot.problems(), "\n".join(shot.problems())
    for service in killed:
        assert shot.restarts.get(service, 0) >= 1, f"{service} non risulta riavviato da supervisor"


@pytest.mark.faults
@pytest.mark.timeout(900)
def test_short_outages_lose_nothing(fault_stack, say):
    load, shot, killed = run_plan(fault_stack, SHORT, say)
    check(load, shot, killed, SHORT)


@pytest.mark.faults_full
@pytest.mark.timeout(2400)
def test_full_outages_lose_nothing(fault_stack, say):
    load, shot, killed = run_plan(fault_stack, FULL, say)
    check(load, shot, killed, FULL)
