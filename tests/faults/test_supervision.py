"""The supervision `make run` and the fault suite rely on: a killed process comes back."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from deploy.local.supervision import Program, Supervisor, render_config

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


@pytest.fixture
def supervisor(tmp_path):
    supervisor = Supervisor(
        tmp_path / "run", tmp_path / "log", [Program("sleeper", SLEEPER), Program("other", SLEEPER)]
    )
    supervisor.start(dict(os.environ))
    yield supervisor
    supervisor.shutdown()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_program_is_restarted_and_the_restart_counted(supervisor):
    supervisor.start_program("sleeper")
    supervisor.start_program("other")
    first = supervisor.wait_running("sleeper")

    assert supervisor.kill("sleeper", signal.SIGKILL) == first
    second = supervisor.wait_running("sleeper", not_pid=first)

    assert second != first and alive(second)
    assert supervisor.restarts() == {"sleeper": 1, "other": 0}
    rows = {row["name"]: row for row in supervisor.status_rows()}
    assert rows["sleeper"]["pid"] == second and rows["sleeper"]["restarts"] == 1


def test_a_program_stopped_on_purpose_is_not_a_restart_and_shutdown_ends_everything(supervisor):
    supervisor.start_program("sleeper")
    pid = supervisor.wait_running("sleeper")
    supervisor.stop_program("sleeper")
    assert supervisor.state("sleeper") == "STOPPED" and not alive(pid)
    supervisor.start_program("sleeper")
    pid = supervisor.wait_running("sleeper")
    own_pid = supervisor.supervisord_pid()

    assert supervisor.restarts("sleeper") == 0
    assert supervisor.shutdown() == ["sleeper"]
    assert not alive(pid) and not alive(own_pid)
    assert supervisor.supervisord_pid() is None


def test_the_control_interface_is_a_private_unix_socket(tmp_path):
    config = render_config([Program("sleeper", SLEEPER)], tmp_path / "run", tmp_path / "log")
    assert "[unix_http_server]" in config and "chmod=0700" in config
    assert "inet_http_server" not in config  # nothing listens on a TCP port
    assert "autorestart=true" in config and "startretries=" in config


STARTER = """
import os, sys
from pathlib import Path
from deploy.local.supervision import Program, Supervisor
supervisor = Supervisor(Path(sys.argv[1]) / "run", Path(sys.argv[1]) / "log", [Program("sleeper", {argv!r})])
supervisor.start(dict(os.environ), die_with_parent=True)
supervisor.start_program("sleeper")
print(supervisor.supervisord_pid(), supervisor.wait_running("sleeper"), flush=True)
os._exit(0)  # killed before any teardown
"""


def test_a_test_stack_ends_with_the_process_that_started_it(tmp_path):
    import subprocess
    import time

    from shared.config import REPO_ROOT

    script = STARTER.format(argv=SLEEPER)
    output = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    pids = [int(pid) for pid in output.stdout.split()]
    assert len(pids) == 2, output.stderr
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in pids)
