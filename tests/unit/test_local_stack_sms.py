"""The SMS gateway sink in the local stack: a supervised program on its own port, health
checked, restarted when it dies, and the address notify is given (`make run`, the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from deploy.local import sms_sink
from deploy.local.stack import LocalStack, Ports, local_env, make_run_stack, sms_sink_answers, wait_until
from services.notify.channels import Envelope
from services.notify.sms import HttpSmsGateway, SmsSettings
from shared.config import REPO_ROOT, load_service_config
from tests.harness import free_port


def test_make_run_gives_notify_the_local_sink_on_its_own_port(monkeypatch):
    for key in ("SMS_GATEWAY_URL", "SMS_GATEWAY_USER", "SMS_GATEWAY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    stack = make_run_stack()

    assert stack.ports.sms == 8026
    assert "sms-sink" in stack.supervisor.programs
    argv = stack.supervisor.programs["sms-sink"].argv
    assert argv[-4:] == ["--port", "8026", "--dir", str(REPO_ROOT / "var/sms")]
    assert stack.env["SMS_GATEWAY_URL"] == "http://127.0.0.1:8026/API/v1.0/REST/sms"
    # what notify reads from that environment is a configured gateway
    for key in ("SMS_GATEWAY_URL", "SMS_GATEWAY_USER", "SMS_GATEWAY_TOKEN"):
        monkeypatch.setenv(key, stack.env[key])
    assert SmsSettings.from_config(load_service_config("notify")).configured


def test_a_provider_named_in_the_environment_wins_over_the_sink(monkeypatch):
    monkeypatch.setenv("SMS_GATEWAY_URL", "https://sms.example/send")
    assert local_env(Ports())["SMS_GATEWAY_URL"] == "https://sms.example/send"


def test_the_sink_port_is_taken_into_account_for_free_ports():
    ports = Ports.offset(1000)
    assert ports.sms == 9026
    assert 9026 in ports.all()
    assert 19026 not in ports.all()  # SeaweedFS's gRPC ports only


@pytest.fixture
def sink_stack(tmp_path):
    ports = Ports(gateway=free_port(), smtp=free_port(), sms=free_port())
    stack = LocalStack(
        dict(os.environ), tmp_path / "run", tmp_path / "log", ports, services=(), sms_dir=tmp_path / "sms"
    )
    stack.start_supervisor(die_with_parent=True)
    try:
        yield stack
    finally:
        stack.shutdown()


def test_the_supervised_sink_starts_health_checked_takes_sms_and_comes_back_when_killed(sink_stack, tmp_path):
    lines = []
    sink_stack.start_infrastructure(lines.append)

    assert sink_stack.state("sms-sink") in ("STARTING", "RUNNING")  # answering already
    first_pid = sink_stack.wait_running("sms-sink")
    assert lines == [f"SMS sink pronto su {sms_sink.gateway_url(sink_stack.ports.sms)}"]
    settings = SmsSettings.from_config(
        {
            "SMS_GATEWAY_URL": sms_sink.gateway_url(sink_stack.ports.sms),
            "SMS_GATEWAY_USER": sms_sink.DEV_USER,
            "SMS_GATEWAY_TOKEN": sms_sink.DEV_TOKEN,
        }
    )
    gateway = HttpSmsGateway(settings)
    gateway.send(Envelope(str(uuid.uuid4()), "347 123 4567", "", "Prima"))

    assert sink_stack.kill("sms-sink") == first_pid
    sink_stack.wait_running("sms-sink", not_pid=first_pid)
    wait_until(lambda: sms_sink_answers(sink_stack.ports.sms), 20, "SMS sink riavviato")
    gateway.send(Envelope(str(uuid.uuid4()), "347 123 4567", "", "Seconda"))

    assert sink_stack.restarts("sms-sink") == 1
    assert [sms["message"] for sms in sms_sink.read_sms(tmp_path / "sms")] == ["Prima", "Seconda"]
    listed = subprocess.run(
        [sys.executable, "-m", "deploy.local.sms_sink", "list", "--dir", str(tmp_path / "sms")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "2 SMS in" in listed.stdout
