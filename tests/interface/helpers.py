"""What the gateway's interface tests share: the gateway with its RPC client stood in for,
tokens, the routes the service class declares, and the problem documents it answers."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import MockDependencyProvider
from nameko.web.handlers import HttpRequestHandler

from gateway.auth import issue_token
from gateway.service import GatewayService

# the gateway under test reads this secret from its config (development: any secret will do)
SECRET = "interface-tests-secret-of-at-least-32-bytes"
PROBLEM_JSON = "application/problem+json"


class GatewayUnderTest(GatewayService):
    """The gateway, every endpoint and dependency as is, but ``rpc`` declared as a stand-in
    that ``replace_dependencies`` then swaps for a MagicMock.

    Why not replace ``GatewayService.rpc`` directly: nameko's ``replace_dependencies`` swaps
    a dependency provider but keeps its sub-extensions in the container, and the RPC client's
    shared reply listener waits, when the container starts, until it has connected to a broker.
    """

    rpc = MockDependencyProvider("rpc")


@dataclass(frozen=True)
class Route:
    method: str
    url: str  # as declared, e.g. /api/v1/requests/<string:request_id>
    handler: str  # the service method

    def path(self, **values) -> str:
        """The declared URL with each ``<converter:name>`` filled from ``values`` (or a
        sample value, so that a route added later gets a usable path without a change here)."""
        return re.sub(
            r"<(?:[^:>]+:)?([^>]+)>",
            lambda match: values.get(match.group(1), "3f2b8c1e-9a4d-4e6b-8c2f-1a2b3c4d5e6f"),
            self.url,
        )

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def _is_console(url: str) -> bool:
    return url == "/ui" or url.startswith("/ui/")


def all_routes(service_cls=GatewayService) -> list[Route]:
    """Every HTTP route the gateway service class declares, in a stable order."""
    routes = []
    for name, function in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, HttpRequestHandler):
                routes.append(Route(entrypoint.method, entrypoint.url, name))
    return sorted(routes, key=lambda route: (route.url, route.method))


def declared_routes(service_cls=GatewayService) -> list[Route]:
    """The API's routes (JSON, problem documents); the console's pages under /ui answer HTML
    and are checked in test_console_pages.py."""
    return [route for route in all_routes(service_cls) if not _is_console(route.url)]


def console_routes(service_cls=GatewayService) -> list[Route]:
    return [route for route in all_routes(service_cls) if _is_console(route.url)]


def bearer(claims: dict, secret: str = SECRET, **options) -> dict:
    """The Authorization header of a token with these claims (``sub`` and ``role`` included)."""
    claims = dict(claims)
    token = issue_token(secret, sub=claims.pop("sub"), role=claims.pop("role"), **options, **claims)
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """``response`` is an RFC 9457 problem document with this status (and code); returns it."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON), response.headers
    problem = response.json()
    assert problem["status"] == status
    assert {"type", "title", "status", "code", "detail"} <= set(problem)
    if code is not None:
        assert problem["code"] == code, problem
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0
    else:
        assert "Retry-After" not in response.headers
    return problem
