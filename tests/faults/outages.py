"""The outages the fault suite causes. Each one restores what it stopped in a ``finally``,
whatever happens in between: the machine's RabbitMQ and PostgreSQL stay running."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable

import requests

from deploy.local.sms_sink import CONTROL_PATH
from deploy.local.stack import LocalStack, wait_until

PG_VERSION = "15"
Say = Callable[[str], None]


def rabbitmqctl() -> str:
    return shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"


def pg_ctlcluster() -> str:
    return shutil.which("pg_ctlcluster") or "/usr/bin/pg_ctlcluster"


def _run(argv: list[str], timeout: float = 120.0) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=timeout)


def postgres_answers() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], timeout=30).returncode == 0


def ensure_running(say: Say) -> None:
    """Whatever happened, leave the machine's RabbitMQ and PostgreSQL running."""
    if subprocess.run(
        [rabbitmqctl(), "-q", "await_startup", "--timeout", "5"], capture_output=True, timeout=60
    ).returncode:
        say("RabbitMQ non attivo: start_app")
        _run([rabbitmqctl(), "start_app"])
    if not postgres_answers():
        say("PostgreSQL non attivo: avvio")
        subprocess.run(
            [pg_ctlcluster(), "--skip-systemctl-redirect", PG_VERSION, "main", "start"], timeout=120
        )


def stop_rabbitmq(seconds: float, say: Say) -> None:
    """(a) The broker away for ``seconds`` (the node's app stopped, then started)."""
    say(
        f"ATTENZIONE: arresto RabbitMQ (rabbitmqctl stop_app) per {seconds:.0f} s: altri test vedranno errori"
    )
    try:
        _run([rabbitmqctl(), "stop_app"])
        time.sleep(seconds)
    finally:
        _run([rabbitmqctl(), "start_app"])
        _run([rabbitmqctl(), "await_startup"])
        say("RabbitMQ di nuovo attivo")


def restart_postgres(say: Say) -> None:
    """(c) PostgreSQL restarted once (every connection dropped, a few seconds refused)."""
    say("ATTENZIONE: riavvio di PostgreSQL (pg_ctlcluster restart): altri test vedranno errori")
    try:
        _run([pg_ctlcluster(), "--skip-systemctl-redirect", PG_VERSION, "main", "restart"])
    finally:
        if not postgres_answers():
            subprocess.run(
                [pg_ctlcluster(), "--skip-systemctl-redirect", PG_VERSION, "main", "start"], timeout=120
            )
        wait_until(postgres_answers, 60, "PostgreSQL")
        say("PostgreSQL di nuovo attivo")


def kill_service(stack: LocalStack, service: str, say: Say, timeout: float = 90.0) -> int:
    """(b) SIGKILL to one service process; returns the new pid supervisor started."""
    before = stack.restarts(service)
    pid = stack.kill(service)
    say(f"SIGKILL a {service} (pid {pid})")
    new_pid = stack.wait_running(service, timeout=timeout, not_pid=pid)
    say(f"{service} riavviato da supervisor (pid {new_pid}, riavvii {before} -> {stack.restarts(service)})")
    return new_pid


def stop_smtp_sink(stack: LocalStack, seconds: float, say: Say) -> None:
    """(d) The mail server away for ``seconds``."""
    say(f"arresto del SMTP sink per {seconds:.0f} s")
    stack.stop("smtp-sink")
    try:
        time.sleep(seconds)
    finally:
        stack.start_smtp_sink()
        say("SMTP sink di nuovo attivo")


def fail_sms_gateway(stack: LocalStack, status: int, times: int, say: Say) -> None:
    """The SMS gateway sink answers its next ``times`` sends with ``status`` (503: retried)."""
    say(f"gateway SMS: le prossime {times} richieste ricevono HTTP {status}")
    response = requests.post(
        f"http://127.0.0.1:{stack.ports.sms}{CONTROL_PATH}",
        json={"fail_status": status, "times": times},
        timeout=5,
    )
    response.raise_for_status()
