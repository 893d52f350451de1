"""A whole stack of its own for the throughput benchmark, stopped (by PID) afterwards.

The same machinery as the end-to-end tests (``tests.harness.Infrastructure`` and
``deploy.local.stack.LocalStack``): a throwaway RabbitMQ vhost, throwaway databases (with
the test sessions' naming, so a killed run's leftovers are removed by the next session), an
SMTP and an SMS sink, SeaweedFS on free ports, and the six services under a supervisord of
their own. Nothing of ``make run`` (its ports, ``var/``, its databases) is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy.local.stack import (
    SERVICES,
    LocalStack,
    Ports,
    instance_names,
    service_of,
    start_seaweedfs,
    stop_pid,
)
from shared.config import LOCAL_DEFAULTS, REPO_ROOT

CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuShare:
    """CPU of some processes, in cores, and the machine's busy share, between start and stop."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.started = time.monotonic()
        self.cpu = sum(process_cpu_seconds(pid) for pid in self.pids)
        self.machine = machine_busy()

    def line(self, what: str) -> str:
        seconds = time.monotonic() - self.started
        cores = (sum(process_cpu_seconds(pid) for pid in self.pids) - self.cpu) / max(seconds, 1e-6)
        busy, total = machine_busy()
        share = (busy - self.machine[0]) / max(1, total - self.machine[1])
        return (
            f"CPU durante la prova: {what} {cores:.2f} core; macchina occupata {share * 100:.0f}% "
            f"({os.cpu_count()} core: quanto resta è di PostgreSQL, RabbitMQ, del benchmark e degli altri)."
        )


class BenchStack:
    """``start()`` / ``stop()``; ``url``, ``database_url(service)``, ``pids()``."""

    def __init__(self, scale: dict[str, int] | None = None, env: dict | None = None):
        self.scale = scale or {}
        self.extra_env = env or {}
        self.work = Path(tempfile.mkdtemp(prefix="combid-bench-stack-"))
        self.infra = None
        self.seaweedfs = None
        self.stack = None

    def start(self, say=print) -> None:
        from tests.harness import Infrastructure, free_port

        ports = Ports.free_offset(first=3000)
        say("SeaweedFS...")
        self.seaweedfs = start_seaweedfs(
            ports,
            self.work / "s3",
            self.work / "run",
            self.work / "log",
            LOCAL_DEFAULTS["S3_ACCESS_KEY"],
            LOCAL_DEFAULTS["S3_SECRET_KEY"],
        )
        say("vhost, database, migrazioni, sink SMTP e SMS...")
        self.infra = Infrastructure(
            os.environ.get("AMQP_URI", LOCAL_DEFAULTS["AMQP_URI"]),
            os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
            f"127.0.0.1:{ports.s3}",
            LOCAL_DEFAULTS["S3_ACCESS_KEY"],
            LOCAL_DEFAULTS["S3_SECRET_KEY"],
        )
        self.infra.prepare()
        env = self.infra.process_env()
        env.update(LOG_LEVEL="WARNING", **self.extra_env)
        gateway_port = free_port()
        env["GATEWAY_ADDRESS"] = f"127.0.0.1:{gateway_port}"
        self.stack = LocalStack(
            env, self.work / "run", self.work / "log", Ports(gateway=gateway_port), scale=self.scale
        )
        for reference in (
            "services.routing.reference",
            "services.agenda.reference",
            "services.notify.offices",
        ):
            subprocess.run(
                [sys.executable, "-m", reference, "load"],
                env=env,
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
            )
        say("servizi...")
        self.stack.start_supervisor(die_with_parent=True)
        self.stack.start_services(timeout=120)

    @property
    def url(self) -> str:
        return self.stack.url

    @property
    def amqp_uri(self) -> str:
        return self.infra.amqp_uri

    def database_url(self, service: str) -> str:
        return self.infra.database_url(service)

    def pids(self) -> dict[str, int]:
        """Service name -> PIDs of its instances (the gateway's workers included)."""
        found: dict[str, list[int]] = {}
        for name in instance_names(SERVICES, self.scale):
            pid = self.stack.pid(name)
            if pid:
                found.setdefault(service_of(name), []).append(pid)
                found[service_of(name)] += _children(pid)
        return found

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.shutdown()
        if self.infra is not None:
            self.infra.teardown()
        if self.seaweedfs is not None:
            stop_pid(self.seaweedfs.pid)
        time.sleep(0.2)
        shutil.rmtree(self.work, ignore_errors=True)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]
