"""The dashboard in Chromium after a short demo year: every chart draws, the table view
opens, the filters apply, the CSV link downloads; a screenshot for the eye."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.webui.browser.conftest import page_factory, serving
from tests.webui.test_dashboard import demo_app, demo_template_db  # noqa: F401 (fixtures)

SHOTS = Path(os.environ.get("PMOFLOW_SCREENSHOTS", "/tmp"))


@pytest.fixture
def demo_page(browser, demo_app):  # noqa: F811 (the fixture imported above)
    with serving(demo_app) as url:
        yield from page_factory(browser, url)


def test_pmo_head_reads_the_dashboard(demo_page):
    page = demo_page("pmohead", width=1400, height=1000)
    page.click("[data-testid=nav-pmo]")
    page.click("[data-testid=nav-dashboard]")
    page.wait_for_selector("[data-testid=dashboard]")
    charts = ["chart-cycle_trend", "chart-cycle_time", "chart-steps", "chart-throughput",
              "chart-approval_routes", "chart-wip"]
    # the scripts that draw come last in the page: the dashboard's element is there before
    # they ran (CI once read no chart at all); wait for the drawing, then check what drew
    page.wait_for_function("""ids => window.Chart && ids.every(id => {
        const c = document.getElementById(id); return c && Chart.getChart(c); })""",
                           arg=charts)
    drawn = page.evaluate("""() => [...document.querySelectorAll('canvas')]
        .filter(c => window.Chart && Chart.getChart(c)).map(c => c.id)""")
    assert set(drawn) >= set(charts)
    assert page.locator("[data-testid=grid-1-1]").count() == 1
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    page.click("[data-testid=figure-steps] summary")
    table = page.locator("[data-testid=table-steps]")
    assert table.is_visible() and table.locator("tbody tr").count() >= 5

    page.fill("#f-start", "2026-02-15")
    page.fill("#f-end", "2026-03-01")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboard?start=2026-02-15&end=2026-03-01*")
    assert "2026-02-15" in page.locator("h1 + p").inner_text()

    with page.expect_download() as download:
        page.click("[data-testid=csv-throughput]")
    assert download.value.suggested_filename == "pmoflow-throughput-2026-02-15-2026-03-01.csv"

    page.fill("#f-start", "2026-03-01")
    page.fill("#f-end", "2026-02-01")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    assert "before it starts" in page.locator("[data-testid=dashboard-errors]").inner_text()


def test_heatmap_colours_the_slowest_step(demo_page):
    page = demo_page("pmohead", width=1400, height=900)
    page.goto("/dashboard")
    page.click("[data-testid=heatmap-links] >> text=Project approval")
    page.wait_for_selector("[data-testid=heatmap][data-ready=true]")
    hottest = page.evaluate("""() => [...document.querySelectorAll('.djs-element.heat-4')]
        .map(e => e.getAttribute('data-element-id'))""")
    assert hottest and set(hottest) <= {"check", "review_pmo_head", "review_finance",
                                        "steering_vote", "revise", "kickoff"}
    assert page.locator(".djs-connection.heat-flow-4").count() >= 1
    assert page.locator(".heat-badge").count() >= 4
    page.screenshot(path=str(SHOTS / "heatmap.png"), full_page=True)
