"""A dependency that hangs makes the `health` RPC fail within its own bound, instead of
holding the worker (and /ready, and `make run`) until the client gives up."""

from __future__ import annotations

import socket

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcClient

from services.intake.service import IntakeService
from services.notify.service import NotifyService
from shared.errors import ProblemError

# the health RPC answers with an error (a 503 problem or the dependency's own error),
# not with nothing: the client's RpcTimeout would mean the check hung
ANSWERED_WITH_AN_ERROR = (RemoteError, ProblemError)


@pytest.fixture
def black_hole():
    """A port that accepts connections and never answers (a server that hangs)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"127.0.0.1:{server.getsockname()[1]}"


def health_of(infra, service: str):
    # 15 s: far above the pings' bound, far below the storage client's default 5 minutes
    with ClusterRpcClient(timeout=15, uri=infra.amqp_uri) as client:
        return getattr(client, service).health()


def test_intake_health_fails_fast_when_the_object_store_hangs(
    container_factory, service_config, infra, black_hole
):
    container_factory(IntakeService, service_config("intake", S3_ENDPOINT=black_hole)).start()
    with pytest.raises(ANSWERED_WITH_AN_ERROR):
        health_of(infra, "intake")


def test_notify_health_fails_fast_when_the_database_hangs(
    container_factory, service_config, infra, black_hole
):
    url = f"postgresql://postgres@{black_hole}/combid_notify"
    container_factory(NotifyService, service_config("notify", DATABASE_URL=url)).start()
    with pytest.raises(ANSWERED_WITH_AN_ERROR):
        health_of(infra, "notify")
