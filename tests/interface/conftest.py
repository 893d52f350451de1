"""Interface tests of the gateway: its real HTTP entrypoints, token checks and problem
documents, in a nameko container started by nameko's ``container_factory`` and driven over
HTTP with ``web_session``, the services' RPC replaced by a MagicMock
(``replace_dependencies``). No broker, no database, no object store: the broker address
given is one where nothing listens, so a test that tried to reach it would fail at once.
Like nameko-examples' ``gateway/test/interface``.
"""

from __future__ import annotations

from collections import namedtuple
from urllib.parse import urljoin

import eventlet
import eventlet.wsgi
import pytest
import requests
from nameko import config
from nameko.testing.services import replace_dependencies

from tests.interface.helpers import SECRET, GatewayUnderTest

NO_BROKER = "amqp://guest:guest@127.0.0.1:1/"
START_TIMEOUT_SECONDS = 10

Gateway = namedtuple("Gateway", ["container", "rpc"])


@pytest.fixture
def gateway_config(web_config):
    """The gateway's settings for these tests, over the free port of nameko's ``web_config``."""
    with config.patch(
        {
            "AMQP_URI": NO_BROKER,
            "COMBID_ENV": "development",
            "JWT_SECRET": SECRET,
            "RPC_TIMEOUT_SECONDS": 5,
        }
    ):
        yield


@pytest.fixture
def gateway(container_factory, gateway_config) -> Gateway:
    """The gateway running, with ``rpc`` the MagicMock that stands in for every service."""
    container = container_factory(GatewayUnderTest)
    rpc = replace_dependencies(container, "rpc")
    with eventlet.Timeout(START_TIMEOUT_SECONDS, RuntimeError("the gateway did not start without a broker")):
        container.start()
    return Gateway(container, rpc)


@pytest.fixture
def web_session(web_config_port):
    """nameko's ``web_session``, which imports ``werkzeug.urls.url_join`` (gone in Werkzeug 3):
    the same session on the gateway's port, with urllib's ``urljoin``."""

    class WebSession(requests.Session):
        def request(self, method, url, *args, **kwargs):
            url = urljoin(f"http://127.0.0.1:{web_config_port}/", url)
            return super().request(method, url, *args, **kwargs)

    with WebSession() as session:
        session.trust_env = False  # never through a proxy from the environment
        yield session


ObjectStore = namedtuple("ObjectStore", ["url", "objects"])


@pytest.fixture
def object_store():
    """A stand-in for the object store's presigned links, on a free port of this process:
    ``objects[path] = bytes`` serves them at ``url + path``; any other path answers 404,
    ``/broken`` answers 500."""
    objects: dict[str, bytes] = {}

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/broken":
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        if path not in objects:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        data = objects[path]
        start_response(
            "200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))]
        )
        return [data]

    sock = eventlet.listen(("127.0.0.1", 0))
    server = eventlet.spawn(eventlet.wsgi.server, sock, app, log_output=False)
    yield ObjectStore(f"http://127.0.0.1:{sock.getsockname()[1]}", objects)
    server.kill()
    sock.close()
