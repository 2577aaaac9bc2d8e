"""The shipped PMO processes in the browser, on a database like ``pmoflow init --demo``.

``pmo_app`` (``tests/webui/conftest.py``) is a copy of a template built once per run:
schema, roles, the demo users (password "demo"), every diagram, table and form in
``bpmn/`` deployed, the demo projects PRJ-2026-0001..0003 of pm1/pm2 with sponsor1 and
team1..team3.  Here: a live server on it and signed-in pages, each user in their own
browser context (``pmo_page("pm1")``), imported by ``tests/webui/browser/conftest.py``;
and the helpers of the ``test_process_*_e2e.py`` tests (open a task from the inbox,
find a project's row in the portfolio).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from webui.extensions import db
from workflows import records

#: The demo portfolio the seeders create: code -> (title, PM).
DEMO = {
    "PRJ-2026-0001": ("Warehouse automation", "pm1"),
    "PRJ-2026-0002": ("Customer portal relaunch", "pm2"),
    "PRJ-2026-0003": ("Data centre migration", "pm1"),
}


@pytest.fixture
def pmo_server(pmo_app) -> Iterator[str]:
    from tests.webui.browser.conftest import serving

    with serving(pmo_app) as url:
        yield url


@pytest.fixture
def pmo_page(browser, pmo_server):
    """``pmo_page("pm1")``: a page signed in as pm1 in its own browser context."""
    from tests.webui.browser.conftest import page_factory

    yield from page_factory(browser, pmo_server)


# --------------------------------------------------------------------------- helpers


def open_task(page: Page, title: str, step: str, tab: str = "mine") -> None:
    """Open the step ``step`` of the request ``title`` from the inbox tab ``tab``."""
    page.goto(f"/tasks?tab={tab}")
    row = page.locator("[data-testid=task-row]", has_text=title).filter(has_text=step)
    expect(row).to_have_count(1)
    row.locator("[data-testid=task-link]").click()
    expect(page.locator("[data-testid=task-name]")).to_have_text(step)


def submit_task(page: Page, step: str) -> None:
    """Submit the open task form and check it was accepted."""
    page.click("[data-testid=submit]")
    expect(page.locator("[data-testid=flash]")).to_contain_text(f"Done: “{step}”")


def portfolio_row(page: Page, text_in_row: str):
    """The portfolio row of a project, searched for by code or title as a user would."""
    page.goto("/portfolio")
    page.fill("#filter-q", text_in_row)
    page.get_by_role("button", name="Apply").click()
    row = page.locator("[data-testid=project-row]", has_text=text_in_row)
    expect(row).to_have_count(1)
    return row


def project_id(app: Flask, code: str) -> int:
    """The record id of a demo project (for URLs only; assertions read pages)."""
    with app.app_context():
        found, _ = records.list_projects(db.session, q=code)
        return next(p.id for p in found if p.code == code)


def bell(page: Page) -> list[str]:
    """Titles of the notifications on the user's notifications page."""
    page.click("[data-testid=bell]")
    expect(page.locator("h1")).to_have_text(re.compile("Notifications"))
    return page.locator("[data-testid=notification]").all_inner_texts()
