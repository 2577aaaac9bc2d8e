"""A demo install in the browser: the sign-in page lists who to sign in as, the start page
says what to do first, and following it leads somewhere useful (issue 13 point 4)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.webui.browser.test_accessibility import axe_findings
from tests.webui.browser.test_small_screens import shot
from tests.webui.test_demo_guide import mark_demo
from workflows.roles import DEMO_USERS


def test_demo_sign_in_page_and_first_step(pmo_app, pmo_page):
    mark_demo(pmo_app)
    visitor = pmo_page(width=375, height=812)
    visitor.goto("/login")
    users = visitor.locator("[data-testid=demo-user]")
    expect(users).to_have_count(len(DEMO_USERS))
    expect(users.filter(has_text="sponsor1")).to_contain_text(
        "Signs off the acceptance of their projects.")
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 375
    shot(visitor, "demo-sign-in-375")
    assert axe_findings(visitor) == []

    # sign in as one of them, as the list says, and follow the suggested first step
    visitor.fill("#username", "pm1")
    visitor.fill("#password", "demo")
    visitor.click("[data-testid=sign-in]")
    expect(visitor.locator("[data-testid=first-step]")).to_contain_text("proposing a project")
    shot(visitor, "demo-first-step-375")
    assert axe_findings(visitor) == []
    visitor.click("[data-testid=first-step-link]")
    expect(visitor.locator("[data-testid=start-project_approval]")).to_be_visible()
