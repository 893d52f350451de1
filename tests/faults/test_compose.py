"""The container deployment restarts what stops and knows when each container is healthy."""

from __future__ import annotations

import yaml

from deploy.healthcheck import SERVICES
from shared.config import REPO_ROOT


def compose():
    return yaml.safe_load((REPO_ROOT / "deploy" / "compose.yml").read_text())["services"]


def test_every_long_running_container_restarts_and_has_a_health_check():
    for name, spec in compose().items():
        if name == "init":  # runs once, then exits
            assert spec.get("restart", "no") in ("no", "on-failure"), name
            continue
        assert spec.get("restart") in ("unless-stopped", "on-failure", "always"), name
        assert spec.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_each_service_checks_itself():
    services = compose()
    for service in SERVICES:
        assert services[service]["healthcheck"]["test"] == [
            "CMD",
            "python",
            "-m",
            "deploy.healthcheck",
            service,
        ]


def test_the_healthcheck_command_refuses_an_unknown_service():
    from deploy.healthcheck import main

    assert main(["nobody"]) == 2


def test_the_broker_may_open_as_many_files_as_its_quorum_queues_need():
    # at a default of 1024 open files RabbitMQ refuses connections at about 250 quorum queues
    assert compose()["rabbitmq"]["ulimits"]["nofile"]["soft"] >= 65536
