"""Signing in with the OpenID provider in Chromium: the button on the sign-in page takes
the browser to the provider (started on localhost by the test) and back, signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.webui.browser.conftest import sign_in
from tests.webui.oidc_provider import TestProvider
from tests.webui.test_sso import map_group, sso_app
from webui.extensions import db


@pytest.fixture
def provider() -> Iterator[TestProvider]:
    running = TestProvider().start()
    yield running
    running.stop()


@pytest.fixture
def app(tmp_path, web_clock, template_db, provider) -> Iterator[Flask]:
    application = sso_app(tmp_path, web_clock, template_db, provider.issuer)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_sign_in_with_the_provider_button(app, page, provider, live_server, tmp_path):
    map_group(app, "pmo-reviewers", "pmo_reviewer")
    page.goto("/login")
    button = page.get_by_role("link", name="Sign in with Corp ID")
    button.wait_for()
    page.screenshot(path=str(tmp_path / "sso-login.png"))
    button.click()
    page.wait_for_selector("[data-testid=whoami]", state="attached")
    assert page.url.startswith(live_server)
    assert "Li Wei" in page.locator("[data-testid=whoami]").inner_text()
    assert page.get_by_role("link", name="Sign in with Corp ID").count() == 0


def test_the_admin_page_in_chinese(app, page, provider, tmp_path):
    provider_page = page.context.new_page()
    provider_page.goto("/login/sso")  # someone signs in once, so a group is seen
    provider_page.wait_for_selector("[data-testid=whoami]", state="attached")
    provider_page.close()
    page.context.clear_cookies()
    page.set_extra_http_headers({"Accept-Language": "zh"})
    sign_in(page, "admin")
    page.goto("/admin/sso")
    assert page.locator("h1").inner_text() == "单点登录"
    assert page.locator("[data-testid=sso-unmapped-group]").count() == 2
    page.fill("#sso-group", "pmo-reviewers")
    page.select_option("#sso-role", "finance")
    page.click("[data-testid=sso-mapping-submit]")
    page.wait_for_selector("[data-testid=sso-mapping][data-group=pmo-reviewers]")
    assert page.locator("[data-testid=sso-unmapped-group]").count() == 1
    page.screenshot(path=str(tmp_path / "sso-admin.png"), full_page=True)


def test_a_token_that_fails_the_checks_is_a_clear_page_in_chinese(app, page, provider,
                                                                  tmp_path):
    provider.tweak = {"aud": "another-app", "azp": "pmoflow-test"}
    page.set_extra_http_headers({"Accept-Language": "zh"})
    page.goto("/login")
    page.get_by_role("link", name="使用 Corp ID 登录").click()
    page.wait_for_selector("[data-testid=sso-error][data-kind=invalid_token]")
    assert page.locator("h1").inner_text() == "无法验证此次登录"
    assert page.locator("[data-testid=whoami]").count() == 0
    page.screenshot(path=str(tmp_path / "sso-error-zh.png"))
