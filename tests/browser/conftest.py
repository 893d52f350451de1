"""Browser tests of the console: headless Chromium and ChromeDriver from the distribution's
packages, driven by Selenium, against the whole system started as processes (like tests/e2e,
on a stack of their own). ``make test`` installs Chromium where it is missing
(deploy/local/ensure_chromium.sh); without it these tests fail, they never skip.

Why Selenium and not Playwright: the test process runs under eventlet's monkey patch (nameko),
where Playwright's synchronous API hangs; Selenium's plain HTTP calls to ChromeDriver work.

Every screen a test visits is checked with ``browser.accessible()`` (axe-core, vendored in
``tests/browser/vendor``: no serious or critical violation) and saved with
``browser.snapshot(name)`` under ``var/artifacts/browser/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from shared.config import REPO_ROOT
from tests.e2e.conftest import running_stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver")
# the closed network refuses Chromium's own background connections: never let it try
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=it-IT",
    "--window-size=1280,900",
]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = REPO_ROOT / "var" / "artifacts" / "browser"
BLOCKING_IMPACTS = ("serious", "critical")
WAIT_SECONDS = 30

pytestmark = pytest.mark.e2e


# package scope: the browser suite's stack stops when its last test ends, before tests/e2e
# starts its own (two stacks at once exhausted PostgreSQL's connections in a CI run)
@pytest.fixture(scope="package")
def infra(infra):
    own = infra.isolated_copy()
    yield own
    own.teardown()


@pytest.fixture(scope="package")
def stack(infra, tmp_path_factory):
    yield from running_stack(infra, tmp_path_factory.mktemp("browser-stack"))


class Browser:
    """One Chromium session on the stack's gateway, with the console's usual steps."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def goto(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url[len(self.base_url) :]

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def click(self, css: str) -> None:
        element = self.find(css)
        # centred first: the header's sticky bar may cover an element scrolled to the edge
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        try:
            element.click()
        except ElementClickInterceptedException:
            # a headless window may report the element outside its viewport: click it as a script
            self.driver.execute_script("arguments[0].click()", element)

    def wait_for(self, css: str, timeout: float = WAIT_SECONDS):
        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def wait_until(self, condition, timeout: float = WAIT_SECONDS):
        # a condition read while the page reloads (after a form's POST) finds no element, or
        # one that is gone by the time it is read: both mean "not yet", not a failure
        return WebDriverWait(
            self.driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
        ).until(lambda driver: condition())

    def sign_in(self, preset: str, next: str | None = None, **fields) -> None:
        """Sign in on the development page as ``preset`` (see gateway/ui/presets.py), then on to
        ``next`` (the role's home page when None)."""
        self.goto("/ui/accesso" + (f"?next={quote(next)}" if next else ""))
        self.click(f"label[for=preset-{preset}]")  # Bootstrap Italia draws the radio on its label
        for name, value in fields.items():
            self.fill(f"#{name}", value)
        self.click("form[action='/ui/accesso'] button[type=submit]")
        self.wait_for("[data-testid=utente]")

    def problem_status(self) -> int | None:
        """The status of the error page shown (the same the API answers), None if no error."""
        found = self.find_all("[data-testid=errore]")
        return int(found[0].get_attribute("data-status")) if found else None

    def accessible(self) -> list[dict]:
        """axe-core on the page as it is now: fails on any serious or critical violation."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(done, e => done({error: String(e)}));"
        )
        assert "error" not in result, result
        blocking = [
            {"id": item["id"], "impact": item["impact"], "nodes": [n["target"] for n in item["nodes"]][:5]}
            for item in result["violations"]
            if item["impact"] in BLOCKING_IMPACTS
        ]
        assert not blocking, f"violazioni di accessibilità su {self.path}: {blocking}"
        return result["violations"]

    def snapshot(self, name: str) -> Path:
        """The whole page as a PNG (the window stretched to the page's height)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, max(900, min(int(height), 6000)))
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1280, 900)
        return path


@pytest.fixture
def browser(stack):
    """A fresh Chromium (no cookies) per test."""
    for name, path in (("Chromium", CHROMIUM), ("ChromeDriver", CHROMEDRIVER)):
        if not Path(path).exists():
            pytest.fail(
                f"{name} non trovato in {path}: eseguire deploy/local/ensure_chromium.sh "
                "(make test lo fa) o impostare CHROMIUM_PATH / CHROMEDRIVER_PATH"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    try:
        yield Browser(driver, stack.url)
    finally:
        driver.quit()
