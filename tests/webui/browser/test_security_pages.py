"""Sign-in limits, lockout and "sign out everywhere" in a real browser."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask

from engine.clock import ManualClock
from pmoflow.app import create_app
from tests.webui.browser.conftest import sign_in
from tests.webui.conftest import START, app_config, copy_database
from webui.extensions import db

SHOTS = os.environ.get("PMOFLOW_SCREENSHOTS")


@pytest.fixture
def app(tmp_path, template_db) -> Iterator[Flask]:
    """The web app with a lockout after 3 failures and 4 failed sign-ins per minute."""
    copy_database(template_db, tmp_path / "web.db")
    config = app_config(tmp_path / "web.db", rate_limits=True, lockout_after=3,
                        sign_in_limit_account="4 per minute")
    application = create_app(config, clock=ManualClock(START))
    yield application
    with application.app_context():
        db.engine.dispose()


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.fixture
def visitor(browser, live_server):
    """A page that is not signed in (failed sign-ins answer 401: no console check)."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_lockout_shows_on_the_admin_page_and_unlock_lifts_it(new_page, visitor):
    for _ in range(3):
        sign_in(visitor, "pm1", "wrong")
    error = visitor.locator("[data-testid=login-error]").inner_text()
    assert "Wrong username or password." in error and "locked" in error
    admin = new_page("admin")
    admin.goto("/admin/users/pm1")
    assert admin.locator("[data-testid=user-locked]").is_visible()
    shot(admin, "admin-user-locked")
    admin.click("[data-testid=unlock] button")
    assert admin.locator("[data-testid=user-locked]").count() == 0
    assert "unlocked" in admin.locator(".alert-success").inner_text()
    sign_in(visitor, "pm1")
    visitor.wait_for_selector("[data-testid=whoami]", state="attached")


def test_too_many_attempts_says_when_to_retry_in_chinese(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    page = context.new_page()
    try:
        for _ in range(5):
            sign_in(page, "nobody", "wrong")
        error = page.locator("[data-testid=login-error]").inner_text()
        assert "尝试次数过多" in error and "秒后再试" in error
        assert page.locator("#username").input_value() == "nobody"
        shot(page, "login-429-zh")
    finally:
        context.close()


def test_sign_out_everywhere_from_my_account(new_page):
    laptop = new_page("pm2")
    phone = new_page("pm2")
    laptop.goto("/account/tokens")
    shot(laptop, "account-sessions")
    laptop.click("[data-testid=sign-out-everywhere] button")
    assert laptop.url.endswith("/login")
    assert "signed out everywhere" in laptop.locator(".alert").first.inner_text()
    phone.goto("/tasks")
    assert "/login" in phone.url
