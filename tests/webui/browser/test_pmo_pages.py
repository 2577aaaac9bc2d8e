"""The PMO pages in Chromium: portfolio, project, risk matrix, lessons search, the bell."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.webui.test_notifications import notify
from tests.webui.test_portfolio import seed_records


def test_pmo_user_walks_the_portfolio_risks_lessons_and_bell(new_page, app, web_clock):
    w = seed_records(app, web_clock)
    notify(app, web_clock, "pmohead", "Escalation on PRJ-2026-0001 needs you",
           link=f"/escalations/{w.escalation}")
    notify(app, web_clock, "pmohead", "Reminder: triage is due", link="/risks")
    pmo = new_page("pmohead")

    # the PMO menu (a dropdown with JavaScript) leads to the portfolio
    pmo.click("[data-testid=nav-pmo]")
    pmo.click("[data-testid=pmo-menu] >> text=Portfolio")
    expect(pmo.locator("[data-testid=project-row]")).to_have_count(4)
    pmo.click("[data-testid=stage-Executing]")
    expect(pmo).to_have_url(re.compile(r"/portfolio\?stage=Executing$"))
    rows = pmo.locator("[data-testid=project-row]")
    expect(rows).to_have_count(1)
    rows.first.locator("[data-testid=project-link]").click()
    expect(pmo.locator("[data-testid=project-title]")).to_have_text("CRM replacement")
    expect(pmo.locator("[data-testid=stage-change]")).to_have_count(3)
    expect(pmo.locator("[data-testid=project-risks] [data-testid=risk-row]")).to_have_count(2)

    # the risk register: a matrix cell lists its risks
    pmo.click("[data-testid=nav-pmo]")
    pmo.click("[data-testid=pmo-menu] >> text=Risk register")
    expect(pmo.locator("[data-testid=risk-row]")).to_have_count(3)
    pmo.click("[data-testid=cell-technical-high]")
    expect(pmo.locator("[data-testid=risk-row]")).to_have_count(1)
    expect(pmo.locator("[data-testid=risk-row]")).to_contain_text("Geological surprise on site")
    expect(pmo.locator("#filter-category")).to_have_value("technical")

    # the lessons library: a two-character Chinese term, highlighted
    pmo.goto("/lessons")
    pmo.fill("[data-testid=lesson-q]", "接口")
    pmo.click("[data-testid=lesson-search]")
    lessons = pmo.locator("[data-testid=lesson]")
    expect(lessons).to_have_count(1)
    expect(lessons.first.locator("mark").first).to_have_text("接口")
    expect(lessons.first).to_contain_text("<script>alert('x')</script>")  # shown as text

    # the bell: a count, and "mark all read" clears it
    expect(pmo.locator("[data-testid=bell-count]")).to_have_text("2")
    pmo.click("[data-testid=bell]")
    expect(pmo.locator("[data-testid=notification]")).to_have_count(2)
    pmo.click("[data-testid=mark-all-read]")
    expect(pmo.locator("[data-testid=flash]")).to_contain_text("marked read")
    expect(pmo.locator("[data-testid=bell-count]")).to_have_count(0)


def test_opening_a_notification_follows_its_link(new_page, app, web_clock):
    w = seed_records(app, web_clock)
    notify(app, web_clock, "pm1", "Decision on your escalation",
           link=f"/escalations/{w.escalation}")
    pm = new_page("pm1")
    expect(pm.locator("[data-testid=bell-count]")).to_have_text("1")
    pm.click("[data-testid=bell]")
    pm.click("[data-testid=notification-link]")
    expect(pm.locator("[data-testid=escalation-title]")).to_have_text(
        "Tower supplier serves three projects at once")
    expect(pm.locator("[data-testid=bell-count]")).to_have_count(0)


def test_pmo_pages_work_without_javascript(new_page, app, web_clock):
    seed_records(app, web_clock)
    pm = new_page("pm1", javascript=False)
    pm.click("[data-testid=nav-pmo]")  # no dropdown without scripts: a link to the portfolio
    expect(pm.locator("h1")).to_have_text("Portfolio")
    pm.locator("[data-testid=pmo-nav] >> text=Lessons library").click()
    pm.fill("[data-testid=lesson-q]", "vendor")
    pm.click("[data-testid=lesson-search]")
    expect(pm.locator("[data-testid=lesson] mark").first).to_have_text("vendor")
    expect(pm.locator("[data-testid=nav-running]")).to_have_count(0)  # PMO only


def test_small_screen_shows_the_bell_and_the_portfolio(new_page, app, web_clock):
    seed_records(app, web_clock)
    notify(app, web_clock, "pm2", "Hello")
    phone = new_page("pm2", width=390, height=844)
    phone.goto("/portfolio")
    phone.click(".navbar-toggler")
    # the menu slides open (Bootstrap's "collapsing" transition): a click while it moves
    # can miss the link, so wait until it is shown
    expect(phone.locator(".navbar-collapse")).to_have_class(re.compile(r"\bshow\b"))
    expect(phone.locator("[data-testid=bell-count]")).to_be_visible()
    phone.click("[data-testid=bell]")
    phone.wait_for_url(re.compile(r"/notifications"))
    expect(phone.locator("h1")).to_have_text("Notifications")
    phone.goto("/risks")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
