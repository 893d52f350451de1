"""The console's frame in a real browser: sign-in, the menu of each role, sign-out."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_sign_in_page_is_accessible_and_leads_to_the_role_home(browser):
    browser.goto("/ui/profilo")
    assert browser.path.startswith("/ui/accesso")
    browser.accessible()
    browser.snapshot("accesso")
    browser.sign_in("admin", next="/ui/profilo")
    assert browser.text("[data-testid=utente]").endswith("admin")


def test_signing_out_ends_the_session(browser):
    browser.sign_in("admin", next="/ui/profilo")
    browser.goto("/ui/profilo")
    browser.click("form[action='/ui/esci'] button")
    browser.wait_until(lambda: browser.path.startswith("/ui/accesso"))
    browser.goto("/ui/profilo")
    assert browser.path.startswith("/ui/accesso")


def test_a_static_file_that_does_not_exist_answers_404(browser):
    browser.sign_in("admin", next="/ui/profilo")
    browser.goto("/ui/static/x/nothing.js")
    assert browser.problem_status() == 404
