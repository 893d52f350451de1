"""The whole system as processes, shared by every end-to-end test of the session."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.stack import SERVICES, start_service, stop_all, stop_named, wait_ready
from shared.config import REPO_ROOT
from tests.harness import free_port


class Stack:
    def __init__(self, infra, tmp: Path):
        self.infra = infra
        self.env = infra.process_env()
        self.port = free_port()
        self.env["GATEWAY_ADDRESS"] = f"127.0.0.1:{self.port}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir, self.log_dir = tmp / "run", tmp / "log"

    def start(self, service: str) -> None:
        start_service(service, self.env, self.run_dir, self.log_dir)

    def stop(self, service: str) -> None:
        stop_named(self.run_dir, service)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture(scope="session")
def infra(infra):
    """The end-to-end processes live for the whole session: give them their own vhost,
    databases, bucket and mail sink, so they never consume what integration tests publish."""
    own = infra.isolated_copy()
    yield own
    own.teardown()


@pytest.fixture(scope="session")
def stack(infra, tmp_path_factory):
    stack = Stack(infra, tmp_path_factory.mktemp("stack"))
    subprocess.run([sys.executable, "-m", "services.routing.reference", "load"], env=stack.env, cwd=REPO_ROOT, check=True)
    try:
        for service in SERVICES:
            stack.start(service)
        wait_ready(stack.url, timeout=90)
        yield stack
    finally:
        stop_all(stack.run_dir, SERVICES)
        print(stack.logs())
