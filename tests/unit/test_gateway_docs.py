"""GET /api/docs and /api/docs/<file>: Swagger UI from the files vendored in
gateway/static/swagger-ui, nothing else of the file system, and a Content-Security-Policy of
this origin alone. The routes' methods are called on a worker from nameko's
``worker_factory``; over HTTP in tests/interface/test_gateway_docs_http.py."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from gateway.entrypoints import ProblemHttpHandler
from gateway.service import GatewayService
from shared.config import REPO_ROOT
from shared.errors import NotFound

STATIC = Path(REPO_ROOT) / "gateway" / "static" / "swagger-ui"
SERVED = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "init.js": "text/javascript",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}


@pytest.fixture
def gateway():
    return worker_factory(GatewayService)


def get(path: str, **headers):
    return EnvironBuilder(method="GET", path=path, headers=headers).get_request()


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


class Page(HTMLParser):
    """The scripts and stylesheets a page loads, and whether any script is inline."""

    def __init__(self):
        super().__init__()
        self.loads, self.inline_script, self.handlers, self._in_script = [], False, [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "script":
            self._in_script = True
            if attrs.get("src"):
                self.loads.append(attrs["src"])
        if tag == "link":
            self.loads.append(attrs["href"])
        if tag == "style":
            self.inline_script = True  # an inline stylesheet would need 'unsafe-inline' as well

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        self.inline_script = self.inline_script or (self._in_script and bool(data.strip()))


def test_the_page_is_html_under_a_policy_of_this_origin_alone(gateway):
    response = gateway.api_docs(get("/api/docs"))

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = directives(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]  # the OpenAPI document, and "Try it out"
    assert policy["img-src"] == ["'self'", "data:"]  # the stylesheet's icons are data: URIs
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_loads_only_the_vendored_files_and_runs_no_inline_script(gateway):
    page = Page()
    page.feed(gateway.api_docs(get("/api/docs")).get_data(as_text=True))

    assert not page.inline_script and not page.handlers
    assert page.loads == ["/api/docs/swagger-ui.css", "/api/docs/swagger-ui-bundle.js", "/api/docs/init.js"]
    for path in page.loads:
        name = path.removeprefix("/api/docs/")
        assert gateway.api_docs_file(get(path), name).status_code == 200


def test_swagger_ui_is_pointed_at_the_gateways_openapi_document(gateway):
    script = gateway.api_docs_file(get("/api/docs/init.js"), "init.js").get_data(as_text=True)

    assert '"/api/v1/openapi.json"' in script
    assert re.search(r"validatorUrl:\s*null", script)  # no badge fetched from validator.swagger.io


@pytest.mark.parametrize("name", SERVED)
def test_each_vendored_file_is_served_as_it_is_with_its_content_type(gateway, name):
    response = gateway.api_docs_file(get(f"/api/docs/{name}"), name)

    assert response.status_code == 200
    assert response.mimetype == SERVED[name]
    assert response.get_data() == (STATIC / name).read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
    assert response.cache_control.max_age and response.headers["ETag"]


def test_an_unchanged_file_answers_304(gateway):
    first = gateway.api_docs_file(get("/api/docs/swagger-ui.css"), "swagger-ui.css")

    again = gateway.api_docs_file(
        get("/api/docs/swagger-ui.css", **{"If-None-Match": first.headers["ETag"]}), "swagger-ui.css"
    )

    assert again.status_code == 304


@pytest.mark.parametrize(
    "name",
    [
        "../service.py",
        "..",
        "../../shared/config.py",
        "..\\service.py",
        "/etc/passwd",
        "%2e%2e%2fservice.py",
        "README",
        "index.html",
        "swagger-ui.css.map",
        "swagger-ui.css/",
        "SWAGGER-UI.CSS",
        "swagger-ui.css\x00.py",
        "",
    ],
)
def test_any_other_name_is_not_found(gateway, name):
    with pytest.raises(NotFound) as refused:
        gateway.api_docs_file(get("/api/docs/x"), name)

    response = ProblemHttpHandler("GET", "/api/docs/<string:filename>").response_from_exception(refused.value)
    assert response.status_code == 404
    assert json.loads(response.get_data())["code"] == "not_found"


def test_the_readme_names_the_version_that_is_vendored():
    bundle = (STATIC / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    version = re.search(r'PACKAGE_VERSION:"([0-9][^"]*)"', bundle).group(1)

    readme = (STATIC / "README").read_text(encoding="utf-8")

    assert f"swagger-ui-dist {version}" in readme
    assert f"swagger-ui-dist@{version}" in readme
    assert "Apache License 2.0" in readme
    assert "Apache License" in (STATIC / "LICENSE").read_text(encoding="utf-8")
