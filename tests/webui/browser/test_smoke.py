"""The app in a real browser: sign in, see the start page, bad password, sign out."""

from __future__ import annotations

from tests.webui.browser.conftest import sign_in


def test_sign_in_see_home_sign_out(page):
    sign_in(page, "reviewer1")
    page.wait_for_selector("[data-testid=stat-mine]")
    assert "Omar Haddad" in page.inner_text("nav")
    page.click("text=Sign out")
    page.wait_for_selector("#username")
    assert "You are signed out." in page.content()


def test_wrong_password_shows_message(page):
    sign_in(page, "reviewer1", "wrong")
    assert page.inner_text("[data-testid=login-error]") == "Wrong username or password."
