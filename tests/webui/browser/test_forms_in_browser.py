"""Forms in Chromium: repeating rows with and without JavaScript; a phone-sized inbox."""

from __future__ import annotations

from playwright.sync_api import expect

REQUIRED = {"#f-title": "Robots", "#f-budget-amount": "1,250,000"}


def fill_required(page) -> None:
    for selector, value in REQUIRED.items():
        page.fill(selector, value)
    page.select_option("#f-category", "rnd")


def test_rows_can_be_added_and_removed(new_page):
    pm = new_page("pm1")
    pm.goto("/processes/widgets/start")
    fill_required(pm)
    rows = pm.locator("[data-rows] tbody tr")
    expect(rows).to_have_count(1)
    pm.click("[data-add-row]")
    pm.click("[data-add-row]")
    expect(rows).to_have_count(3)
    expect(pm.locator("input[name='milestones.2.name']")).to_be_focused()
    pm.fill("input[name='milestones.0.name']", "Drop me")
    pm.fill("input[name='milestones.1.name']", "Pilot")
    pm.fill("input[name='milestones.1.weeks']", "6")
    pm.fill("input[name='milestones.2.name']", "Scale")
    rows.nth(0).locator("[data-remove-row]").click()
    expect(rows).to_have_count(2)
    pm.click("[data-testid=submit]")
    table = pm.locator("[data-field=milestones] table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Pilot")
    expect(table).not_to_contain_text("Drop me")
    expect(pm.locator("[data-field=budget]")).to_have_text("CN¥1,250,000.00")


def test_rows_stop_at_max_items(new_page):
    pm = new_page("pm1")
    pm.goto("/processes/widgets/start")
    for _ in range(4):
        pm.click("[data-add-row]")
    expect(pm.locator("[data-rows] tbody tr")).to_have_count(5)
    expect(pm.locator("[data-add-row]")).to_be_disabled()


def test_forms_work_without_javascript(new_page):
    pm = new_page("pm1", javascript=False)
    pm.goto("/processes/widgets/start")
    expect(pm.locator("[data-add-row]")).to_be_hidden()
    fill_required(pm)
    pm.fill("input[name='milestones.0.name']", "Pilot")
    pm.check("#f-multi_department")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-field=milestones]")).to_contain_text("Pilot")
    expect(pm.locator("[data-field=multi_department]")).to_have_text("Yes")
    expect(pm.locator("[data-testid=nav-inbox]")).to_be_visible()  # menu open without JS


def test_inbox_fits_a_phone(new_page, arrange):
    for n in range(3):
        arrange.start(title=f"A rather long request title number {n}")
    reviewer = new_page("reviewer1", width=390, height=844)
    reviewer.goto("/tasks?tab=claimable")
    expect(reviewer.locator("[data-testid=task-row]")).to_have_count(3)
    overflow = reviewer.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    reviewer.click("[data-testid=task-row] >> nth=0 >> [data-testid=task-link]")
    expect(reviewer.locator("[data-testid=task-form]")).to_be_visible()
    overflow = reviewer.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
