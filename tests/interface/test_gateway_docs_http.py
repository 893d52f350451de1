"""/api/docs over HTTP: the page and everything it loads come from the gateway, under a
Content-Security-Policy of this origin alone; nothing else of the file system is reachable."""

from __future__ import annotations

import http.client
import re

import pytest
from nameko import config
from nameko.web.server import parse_address

CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript"}


def test_the_page_and_all_it_loads_are_served_under_the_policy(gateway, web_session):
    page = web_session.get("/api/docs")

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe" not in policy and "http" not in policy
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, "the page loads no script or style"
    for asset in assets:
        assert asset.startswith("/api/docs/"), asset  # nothing from another origin
        response = web_session.get(asset)
        assert response.status_code == 200, asset
        suffix = asset[asset.rindex(".") :]
        assert response.headers["Content-Type"].startswith(CONTENT_TYPES[suffix]), asset
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == policy
    assert gateway.rpc.mock_calls == []


def test_an_unchanged_file_is_not_sent_again(gateway, web_session):
    first = web_session.get("/api/docs/swagger-ui.css")

    again = web_session.get("/api/docs/swagger-ui.css", headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/docs/..%2Fservice.py",
        "/api/docs/..%2F..%2Fshared%2Fconfig.py",
        "/api/docs/%2e%2e%2fauth.py",
        "/api/docs/../api/docs.py",
        "/api/docs/../../gateway/config.yml",
        "/api/docs/README",
        "/api/docs/swagger-ui.css.map",
        "/api/docs/%2Fetc%2Fpasswd",
        "/api/docs/swagger-ui.css%00.py",
    ],
)
def test_no_other_file_can_be_reached(gateway, raw_path):
    """Sent as written (http.client does not resolve dot segments, unlike a browser)."""
    address = parse_address(config["WEB_SERVER_ADDRESS"])
    connection = http.client.HTTPConnection(address.address, address.port, timeout=10)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 404, body
    assert b"import" not in body and b"AMQP_URI" not in body and b"root:" not in body
