"""Process supervision for `make run` and the tests' stacks, with supervisor (PyPI).

Why supervisor: it is pure Python (pip installs it into the venv, nothing from the system),
mature, restarts a process that exits unexpectedly (``autorestart``), retries a process that
dies while starting with a growing delay (``startretries``, backoff 1 s, 2 s, 3 s...) and logs
every exit and spawn; its XML-RPC control interface, here on a unix socket only, lets
`make stop`/`make status` and the fault suite drive it. honcho restarts nothing (it stops
the whole group when one process ends); circus would do too but needs ZeroMQ and is less
maintained.

One ``Supervisor`` is one supervisord with its config, socket and pid file in ``run_dir``
and its log and the programs' logs in ``log_dir``. Programs do not start on their own: the
caller starts each when what it depends on is ready.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from shared.config import REPO_ROOT

CONFIG_NAME = "supervisord.conf"
# A process that dies within START_SECONDS of its start counts as a failed start: it is
# retried after 1 s, 2 s, ... up to START_RETRIES times (about 3.5 min in all), then left
# FATAL. One that dies later is restarted at once.
START_SECONDS = 5
START_RETRIES = 20
RUNNING_STATES = ("STARTING", "RUNNING")


@dataclass(frozen=True)
class Program:
    name: str
    argv: Sequence[str]
    priority: int = 100  # lower starts first and stops last
    environment: dict = field(default_factory=dict)
    stop_wait_seconds: int = 15


def _escape(value: str) -> str:
    # supervisor expands %(name)s in every value
    return str(value).replace("%", "%%")


def render_config(programs: Sequence[Program], run_dir: Path, log_dir: Path) -> str:
    socket = run_dir / "supervisor.sock"
    lines = [
        "; written by deploy/local/supervision.py: regenerated at every start",
        "[unix_http_server]",
        f"file={_escape(socket)}",
        "chmod=0700",  # only this user can reach the control interface: no password needed
        "",
        "[supervisord]",
        f"logfile={_escape(log_dir / 'supervisord.log')}",
        "logfile_maxbytes=10MB",
        "logfile_backups=3",
        "loglevel=info",
        f"pidfile={_escape(run_dir / 'supervisord.pid')}",
        "nodaemon=true",
        "silent=true",  # the log file only, not stdout as well
        f"directory={_escape(REPO_ROOT)}",
        f"childlogdir={_escape(log_dir)}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_escape(socket)}",
    ]
    for program in programs:
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={_escape(shlex.join(program.argv))}",
            f"directory={_escape(REPO_ROOT)}",
            f"priority={program.priority}",
            "autostart=false",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={program.stop_wait_seconds}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(log_dir / (program.name + '.log'))}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
        ]
        if program.environment:
            pairs = ",".join(f'{key}="{_escape(value)}"' for key, value in program.environment.items())
            lines.append(f"environment={pairs}")
    return "\n".join(lines) + "\n"


class SupervisorError(RuntimeError):
    pass


def _terminate_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, run_dir: Path, log_dir: Path, programs: Sequence[Program] = ()):
        self.run_dir, self.log_dir = Path(run_dir), Path(log_dir)
        self.programs = {program.name: program for program in programs}

    # ---- files -------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.run_dir / CONFIG_NAME

    @property
    def socket_path(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "supervisord.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "supervisord.log"

    def supervisord_pid(self) -> int | None:
        """The pid of a live supervisord of this run dir, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    # ---- life cycle --------------------------------------------------------------------

    def start(self, env: dict, timeout: float = 30.0, die_with_parent: bool = False) -> None:
        """Write the config and start supervisord (in its own session: a Ctrl-C in the
        terminal of `make run` does not reach it); return when its socket answers.

        ``die_with_parent``: supervisord gets SIGTERM (and stops its programs) when the
        process that started it dies, e.g. a test run killed before its teardown; without
        it such a stack would live on, restarting its programs, for ever."""
        if self.supervisord_pid():
            raise SupervisorError(f"supervisord è già attivo per {self.run_dir}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(list(self.programs.values()), self.run_dir, self.log_dir))
        out = open(self.run_dir / "supervisord.out", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config_path)],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_terminate_with_parent if die_with_parent else None,
        )
        out.close()
        self._process = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SupervisorError(
                    f"supervisord è terminato (codice {process.returncode}): "
                    f"vedere {self.run_dir / 'supervisord.out'}"
                )
            try:
                if self.rpc().supervisor.getState()["statename"] == "RUNNING":
                    return
            except (OSError, xmlrpc.client.Error):
                pass
            time.sleep(0.1)
        raise SupervisorError(f"supervisord non risponde su {self.socket_path} dopo {timeout:.0f} s")

    def rpc(self):
        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        # the host is not used over a unix socket
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def shutdown(self, timeout: float = 90.0) -> list[str]:
        """Stop every program (highest priority number first) and supervisord; returns the
        programs that were running. Falls back to SIGTERM/SIGKILL on supervisord's pid."""
        pid = self.supervisord_pid()
        if pid is None:
            return []
        running = {}
        try:
            running = {
                i["name"]: i["pid"] for i in self.info() if i["statename"] in RUNNING_STATES and i["pid"]
            }
            self.rpc().supervisor.shutdown()
        except (OSError, xmlrpc.client.Error):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            # each program runs in its own process group (stopasgroup): end them by those pids
            for child in [pid, *running.values()]:
                try:
                    os.killpg(child, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self._wait_gone(pid, 10)
        return list(running)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = getattr(self, "_process", None)
            if process is not None and process.pid == pid:
                if process.poll() is not None:
                    return True
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
            time.sleep(0.1)
        return False

    # ---- programs ----------------------------------------------------------------------

    def start_program(self, name: str, wait: bool = False) -> None:
        try:
            self.rpc().supervisor.startProcess(name, wait)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop_program(self, name: str) -> None:
        try:
            self.rpc().supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise

    def info(self, name: str | None = None):
        if name is None:
            return self.rpc().supervisor.getAllProcessInfo()
        return self.rpc().supervisor.getProcessInfo(name)

    def state(self, name: str) -> str:
        return self.info(name)["statename"]

    def pid(self, name: str) -> int:
        """The program's pid, 0 if it is not running."""
        return self.info(name)["pid"]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` to the program's process (not through supervisor: a crash, as far
        as supervisor can tell). Returns the pid it was sent to."""
        pid = self.pid(name)
        if not pid:
            raise SupervisorError(f"{name} non è in esecuzione")
        os.kill(pid, sig)
        return pid

    def wait_running(self, name: str, timeout: float = 60.0, not_pid: int | None = None) -> int:
        """Wait until the program runs (with a pid other than ``not_pid``); returns the pid."""
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = self.info(name)
            if info["statename"] == "RUNNING" and info["pid"] and info["pid"] != not_pid:
                return info["pid"]
            if info["statename"] == "FATAL":
                break
            time.sleep(0.2)
        raise SupervisorError(
            f"{name} non è in esecuzione ({info.get('statename')}): vedere {self.log_dir / (name + '.log')}"
        )

    def restarts(self, name: str | None = None):
        """How many times supervisor restarted the program after it exited unexpectedly,
        since this supervisord started (counted from its log). Without a name, a dict for
        every program seen in the log."""
        counts: dict[str, int] = {program: 0 for program in self.programs}
        for line in self._log_lines_since_start():
            match = re.search(r" exited: (\S+) \(.*; not expected\)", line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0) + 1
        return counts if name is None else counts.get(name, 0)

    def _log_lines_since_start(self) -> list[str]:
        files = [self.log_file.with_name(f"{self.log_file.name}.{n}") for n in (3, 2, 1)] + [self.log_file]
        lines = []
        for path in files:
            try:
                lines += path.read_text(errors="replace").splitlines()
            except OSError:
                continue
        for index in range(len(lines) - 1, -1, -1):
            if "supervisord started with pid" in lines[index]:
                return lines[index:]
        return lines

    def status_rows(self) -> list[dict]:
        restarts = self.restarts()
        return [
            {
                "name": info["name"],
                "state": info["statename"],
                "pid": info["pid"] or None,
                "restarts": restarts.get(info["name"], 0),
                "description": info["description"],
            }
            for info in self.info()
        ]

    def wait_all(self, names: Sequence[str], timeout: float) -> None:
        """Wait until each of ``names`` is RUNNING (past its start seconds)."""
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending and time.monotonic() < deadline:
            states = {name: self.state(name) for name in pending}
            pending = [name for name, state in states.items() if state != "RUNNING"]
            fatal = [name for name in pending if states[name] == "FATAL"]
            if fatal:
                raise SupervisorError(
                    f"non si avviano: {', '.join(fatal)} (vedere i loro log in {self.log_dir})"
                )
            time.sleep(0.3)
        if pending:
            raise SupervisorError(f"non ancora in esecuzione dopo {timeout:.0f} s: {', '.join(pending)}")
