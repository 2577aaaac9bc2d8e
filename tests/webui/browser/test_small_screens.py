"""Inbox, task and request pages on a phone (375 px wide): nothing cut off, the buttons
inside the screen and clickable (issue 13 point 6)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.webui.test_portfolio import seed_records

PHONE = {"width": 375, "height": 812}
#: Where screenshots go when PMOFLOW_SHOTS names a folder (to look at them).
SHOTS = os.environ.get("PMOFLOW_SHOTS")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def inside_viewport(page: Page, selector: str) -> None:
    """Every element ``selector`` finds lies wholly inside the 375 px width."""
    boxes = page.eval_on_selector_all(
        selector, "els => els.map(e => { const r = e.getBoundingClientRect();"
                  " return [r.left, r.right, r.width]; })")
    assert boxes, selector
    for left, right, width in boxes:
        assert width > 0 and left >= 0 and right <= PHONE["width"], (selector, left, right)


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_inbox_task_and_request_pages_fit_a_phone(new_page, app, arrange, web_clock):
    w = seed_records(app, web_clock)
    inst = arrange.start(title="Tower upgrade with a rather long title for a phone",
                         project_id=w.crm)
    arrange.start(title="Second request", project_id=w.lake)
    phone = new_page("reviewer1", **PHONE)

    phone.goto("/tasks?tab=claimable")
    expect(phone.locator("[data-testid=task-row]")).to_have_count(2)
    shot(phone, "inbox-375")
    no_sideways_scroll(phone)
    inside_viewport(phone, "[data-testid=task-row] [data-testid=claim]")
    inside_viewport(phone, "[data-testid=task-row] [data-testid=open]")
    shot(phone, "inbox-375")
    row = phone.locator("[data-testid=task-row]", has_text="Tower upgrade")
    row.locator("[data-testid=claim]").click()  # clickable: nothing covers it
    expect(phone.locator("[data-testid=flash]")).to_contain_text("You have claimed")

    # the task page: the form and its buttons fit
    expect(phone.locator("[data-testid=task-name]")).to_have_text("Check completeness")
    no_sideways_scroll(phone)
    inside_viewport(phone, "[data-testid=submit]")
    inside_viewport(phone, "[data-testid=unclaim]")
    shot(phone, "task-375")

    # a task not claimed yet: its Claim button, at the top of the task page, fits too
    phone.goto("/tasks?tab=claimable")
    phone.locator("[data-testid=task-row]", has_text="Second request").locator(
        "[data-testid=open]").click()
    inside_viewport(phone, "main [data-testid=claim]")
    no_sideways_scroll(phone)

    phone.goto("/tasks?tab=mine")
    mine = phone.locator("[data-testid=task-row]", has_text="Tower upgrade")
    inside_viewport(phone, "[data-testid=task-row] [data-testid=open]")
    mine.locator("[data-testid=open]").click()
    expect(phone.locator("[data-testid=task-name]")).to_have_text("Check completeness")

    # the request page, with its cycle times
    phone.goto(f"/instances/{inst.id}")
    expect(phone.locator("[data-testid=cycle-times]")).to_be_visible()
    no_sideways_scroll(phone)
    inside_viewport(phone, "[data-testid=step-cycle] td")
    shot(phone, "request-375")
