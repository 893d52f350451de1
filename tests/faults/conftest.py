"""The fault suite's stack: every service, an SMTP sink and an SMS gateway sink under
supervisor, in its own vhost, databases and bucket; and the suite's own rules for when its
tests run."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from deploy.local.sms_sink import gateway_url
from deploy.local.stack import Ports, start_stack
from shared.config import REPO_ROOT
from tests.faults import outages
from tests.harness import free_port

FULL_MARKER = "faults_full"
OUTAGE_MARKER = "faults"


def pytest_collection_modifyitems(config, items):
    # the full suite (about 8 minutes) runs only when a -m expression asks for it: `make faults`
    if not config.getoption("markexpr"):
        kept = [item for item in items if not item.get_closest_marker(FULL_MARKER)]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept
    # outages last: they stop the broker and restart the database under every other test
    items.sort(
        key=lambda item: bool(item.get_closest_marker(OUTAGE_MARKER) or item.get_closest_marker(FULL_MARKER))
    )


@pytest.fixture
def say(request):
    """Print a line at once, past pytest's capture (people watching must see an outage coming)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    started = time.monotonic()

    def say(message: str) -> None:
        line = f"[guasti {time.monotonic() - started:6.1f} s] {message}"
        if capture is None:
            print(line, flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(line, flush=True)

    return say


@pytest.fixture
def fault_stack(infra, tmp_path_factory, say):
    own = infra.isolated_copy()
    tmp = tmp_path_factory.mktemp("faults")
    ports = Ports(gateway=free_port(), smtp=free_port(), sms=free_port())
    env = own.process_env()
    env.update(
        SMTP_PORT=str(ports.smtp),
        SMS_GATEWAY_URL=gateway_url(ports.sms),
        GATEWAY_ADDRESS=f"127.0.0.1:{ports.gateway}",
    )
    stack = None
    try:
        subprocess.run(
            [sys.executable, "-m", "services.routing.reference", "load"],
            env=env,
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
        stack = start_stack(
            env, tmp / "run", tmp / "log", ports, maildir=tmp / "mail", sms_dir=tmp / "sms", say=say
        )
        stack.infra = own
        yield stack
    finally:
        outages.ensure_running(say)
        if stack is not None:
            stack.shutdown()
            say(f"log dei processi: {tmp / 'log'}")
        own.teardown()
