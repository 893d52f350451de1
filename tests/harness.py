"""Where the test session's broker, databases and object store come from, and the config
each service gets under test."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from deploy.local import sms_sink
from deploy.local.smtp_sink import read_mails
from deploy.local.stack import sms_sink_answers, wait_for_port, wait_until
from shared.config import LOCAL_DEFAULTS
from shared.migrations import SERVICES_WITH_DATABASE, drop_database, upgrade
from shared.queue_tools import declare_topology

MISSING_HELP = """\
Servizi di test non disponibili: {missing}.
Indicare gli indirizzi nell'ambiente (AMQP_URI, POSTGRES_URL, S3_ENDPOINT, S3_ACCESS_KEY,
S3_SECRET_KEY), oppure usare `make test`, che li ricava dalla macchina e avvia SeaweedFS,
oppure una macchina con un Docker engine, dove testcontainers avvia RabbitMQ, PostgreSQL e MinIO.
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@dataclass
class Infrastructure:
    amqp_uri: str
    postgres_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    # the test process's pid is part of every name it creates, so a later session can tell
    # (and remove) what a killed session left behind: vhosts hold broker resources
    session_id: str = field(default_factory=lambda: f"{os.getpid()}x{uuid.uuid4().hex[:6]}")
    vhost: str | None = None
    smtp_port: int = 0
    maildir: Path | None = None
    sms_port: int = 0
    sms_dir: Path | None = None
    _base_amqp_uri: str | None = None
    _cleanups: list = field(default_factory=list)

    @property
    def bucket(self) -> str:
        return f"combid-test-{self.session_id}"

    @property
    def sms_gateway_url(self) -> str:
        return sms_sink.gateway_url(self.sms_port)

    def sms_settings(self) -> dict:
        """What notify's config and environment say about the SMS gateway: this session's sink."""
        return {
            "SMS_GATEWAY_URL": self.sms_gateway_url,
            "SMS_GATEWAY_USER": sms_sink.DEV_USER,
            "SMS_GATEWAY_TOKEN": sms_sink.DEV_TOKEN,
        }

    def database_url(self, service: str) -> str:
        parsed = urlparse(self.postgres_url)
        return urlunparse(parsed._replace(path=f"/combid_test_{service}_{self.session_id}"))

    def service_config(self, service: str, **overrides) -> dict:
        config = {
            "AMQP_URI": self.amqp_uri,
            "S3_ENDPOINT": self.s3_endpoint,
            "S3_ACCESS_KEY": self.s3_access_key,
            "S3_SECRET_KEY": self.s3_secret_key,
            "S3_BUCKET": self.bucket,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.smtp_port,
            "JWT_SECRET": LOCAL_DEFAULTS["JWT_SECRET"],
            "COMBID_ENV": "development",
            # ~10 s of retries (the hour-long default would outlast a test), so a failing
            # handler ends in its dead-letter queue within a test
            "RETRY_SCHEDULE_SECONDS": "1,1,2,2,4",
            "max_workers": 4,
        }
        if service == "notify":
            config.update(self.sms_settings())
        if service in SERVICES_WITH_DATABASE:
            config["DATABASE_URL"] = self.database_url(service)
        config.update(overrides)
        return config

    def process_env(self) -> dict:
        """Environment for services started as processes (end-to-end tests)."""
        env = dict(os.environ)
        env.update(
            AMQP_URI=self.amqp_uri,
            S3_ENDPOINT=self.s3_endpoint,
            S3_ACCESS_KEY=self.s3_access_key,
            S3_SECRET_KEY=self.s3_secret_key,
            S3_BUCKET=self.bucket,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(self.smtp_port),
            JWT_SECRET=LOCAL_DEFAULTS["JWT_SECRET"],
            COMBID_ENV="development",
            **self.sms_settings(),
        )
        for service in SERVICES_WITH_DATABASE:
            env[f"{service.upper()}_DATABASE_URL"] = self.database_url(service)
        return env

    def prepare(self) -> None:
        remove_leftovers_of_dead_sessions(self.postgres_url)
        self._start_smtp_sink()
        self._start_sms_sink()
        self._isolate_vhost()
        declare_topology(self.amqp_uri)
        for service in SERVICES_WITH_DATABASE:
            url = self.database_url(service)
            upgrade(service, url)
            self._cleanups.append(lambda url=url: drop_database(url))

    def _start_smtp_sink(self) -> None:
        self.maildir = Path(tempfile.mkdtemp(prefix="combid-mail-"))
        self.smtp_port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.local.smtp_sink",
                "serve",
                "--port",
                str(self.smtp_port),
                "--maildir",
                str(self.maildir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._cleanups.append(lambda: (process.terminate(), process.wait(10)))
        wait_for_port("127.0.0.1", self.smtp_port, 20, "SMTP sink")

    def mails(self):
        return read_mails(self.maildir)

    def _start_sms_sink(self) -> None:
        self.sms_dir = Path(tempfile.mkdtemp(prefix="combid-sms-"))
        self.sms_port = free_port()
        directory = self.sms_dir
        self._cleanups.append(lambda: shutil.rmtree(directory, ignore_errors=True))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.local.sms_sink",
                "serve",
                "--port",
                str(self.sms_port),
                "--dir",
                str(self.sms_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._cleanups.append(lambda: (process.terminate(), process.wait(10)))
        wait_until(
            lambda: sms_sink_answers(self.sms_port),
            20,
            "SMS sink",
            alive=lambda: process.poll() is None,
        )

    def sms(self) -> list[dict]:
        """Every SMS this session's sink accepted, oldest first."""
        return sms_sink.read_sms(self.sms_dir)

    def _isolate_vhost(self) -> None:
        """A throwaway vhost keeps this session apart from a `make run` on the same broker."""
        parsed = urlparse(self.amqp_uri)
        rabbitmqctl = local_rabbitmqctl(self.amqp_uri)
        if not rabbitmqctl:
            return
        vhost = f"combid-test-{self.session_id}"
        user = parsed.username or "guest"
        try:
            subprocess.run([rabbitmqctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
            subprocess.run(
                [rabbitmqctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
                check=True,
                capture_output=True,
                timeout=60,
            )
        except (subprocess.SubprocessError, OSError):
            return  # not allowed here: share the given vhost
        self.vhost = vhost
        self._base_amqp_uri = self.amqp_uri
        self.amqp_uri = urlunparse(parsed._replace(path=f"/{vhost}"))
        self._cleanups.append(
            lambda: subprocess.run([rabbitmqctl, "delete_vhost", vhost], capture_output=True, timeout=60)
        )

    def isolated_copy(self) -> Infrastructure:
        """Same servers, own vhost, databases, bucket and SMTP sink: for processes that run
        for a whole session (the end-to-end stack) beside the integration tests' containers."""
        copy = Infrastructure(
            self.base_amqp_uri, self.postgres_url, self.s3_endpoint, self.s3_access_key, self.s3_secret_key
        )
        copy.prepare()
        return copy

    @property
    def base_amqp_uri(self) -> str:
        return self._base_amqp_uri or self.amqp_uri

    def teardown(self) -> None:
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception as exc:  # pragma: no cover - best effort
                print(f"cleanup failed: {exc!r}")


_SESSION_NAME = re.compile(r"^combid[-_]test[-_](?:[a-z]+_)?(?P<pid>[0-9]+)x[0-9a-f]{6}\Z")


def local_rabbitmqctl(amqp_uri: str) -> str | None:
    if urlparse(amqp_uri).hostname not in ("127.0.0.1", "localhost"):
        return None
    return (
        shutil.which("rabbitmqctl")
        or (os.path.exists("/usr/sbin/rabbitmqctl") and "/usr/sbin/rabbitmqctl")
        or None
    )


def _dead_session(name: str) -> bool:
    match = _SESSION_NAME.match(name)
    if not match:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def remove_leftovers_of_dead_sessions(postgres_url: str) -> None:
    """Vhosts and databases of test sessions whose process no longer exists (killed before
    their cleanup ran): left alone, their quorum queues use up the broker's file handles."""
    rabbitmqctl = local_rabbitmqctl(os.environ.get("AMQP_URI", "amqp://127.0.0.1"))
    if rabbitmqctl:
        try:
            listed = subprocess.run(
                [rabbitmqctl, "list_vhosts", "-q", "name"], capture_output=True, text=True, timeout=60
            )
            for vhost in [line.strip() for line in listed.stdout.splitlines() if _dead_session(line.strip())]:
                print(f"rimuovo il vhost di una sessione di test terminata: {vhost}")
                subprocess.run([rabbitmqctl, "delete_vhost", vhost], capture_output=True, timeout=120)
        except (subprocess.SubprocessError, OSError):
            pass
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            names = connection.execute(
                sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'combid_test_%'")
            ).scalars()
            leftovers = [name for name in names if _dead_session(name)]
        engine.dispose()
        for name in leftovers:
            drop_database(urlunparse(urlparse(postgres_url)._replace(path=f"/{name}")))
    except Exception as exc:  # best effort: a leftover database costs disk, not correctness
        print(f"pulizia dei database di test non riuscita: {exc.__class__.__name__}")


def resolve_infrastructure() -> Infrastructure:
    env = os.environ
    amqp_uri = env.get("AMQP_URI")
    postgres_url = env.get("POSTGRES_URL")
    s3_endpoint = env.get("S3_ENDPOINT")
    s3_access_key = env.get("S3_ACCESS_KEY", LOCAL_DEFAULTS["S3_ACCESS_KEY"])
    s3_secret_key = env.get("S3_SECRET_KEY", LOCAL_DEFAULTS["S3_SECRET_KEY"])
    containers = []

    missing = [
        name
        for name, value in (
            ("AMQP_URI", amqp_uri),
            ("POSTGRES_URL", postgres_url),
            ("S3_ENDPOINT", s3_endpoint),
        )
        if not value
    ]
    if missing and docker_available():
        from tests.containers import start_missing

        amqp_uri, postgres_url, (s3_endpoint, s3_access_key, s3_secret_key), containers = start_missing(
            amqp_uri, postgres_url, (s3_endpoint, s3_access_key, s3_secret_key) if s3_endpoint else None
        )
        missing = []
    if missing:
        pytest.exit(MISSING_HELP.format(missing=", ".join(missing)), returncode=3)

    infrastructure = Infrastructure(amqp_uri, postgres_url, s3_endpoint, s3_access_key, s3_secret_key)
    for container in containers:
        infrastructure._cleanups.append(container.stop)
    infrastructure.prepare()
    return infrastructure
