"""The whole system as processes under supervisor, shared by every end-to-end test of the session."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deploy.local.stack import SERVICES, LocalStack, Ports, instance_names
from shared.config import REPO_ROOT
from tests.harness import free_port


class Stack(LocalStack):
    """The six services under supervisor (``start``/``stop``/``kill``/``pid``/``restarts``
    of one of them), on the session's own vhost, databases, bucket and mail sink."""

    def __init__(self, infra, tmp):
        self.infra = infra
        port = free_port()
        env = infra.process_env()
        env["GATEWAY_ADDRESS"] = f"127.0.0.1:{port}"
        # each process serves its metrics on a free port of its own (shared/telemetry.py)
        metrics_ports = {name: free_port() for name in instance_names(SERVICES)}
        super().__init__(env, tmp / "run", tmp / "log", Ports(gateway=port), metrics_ports=metrics_ports)


@pytest.fixture(scope="session")
def infra(infra):
    """The end-to-end processes live for the whole session: give them their own vhost,
    databases, bucket and mail sink, so they never consume what integration tests publish."""
    own = infra.isolated_copy()
    yield own
    own.teardown()


def running_stack(infra, tmp):
    """Start the whole system on ``infra`` (reference data loaded), yield it, stop it."""
    stack = Stack(infra, tmp)
    for reference in ("services.routing.reference", "services.agenda.reference", "services.notify.offices"):
        subprocess.run([sys.executable, "-m", reference, "load"], env=stack.env, cwd=REPO_ROOT, check=True)
    stack.start_supervisor(die_with_parent=True)
    try:
        stack.start_services(timeout=90)
        yield stack
    finally:
        stack.shutdown()
        print(stack.logs())


@pytest.fixture(scope="session")
def stack(infra, tmp_path_factory):
    yield from running_stack(infra, tmp_path_factory.mktemp("stack"))
