"""Issue 14's "done when", in Chromium, after a (short) demo year simulated through the
engine: the PMO head reads the dashboard (filters by department, a table view, a CSV),
the heatmap's slowest step, the portfolio's open risks and a project's timeline, the risk
grid, the lessons library (filters, read counts) and a PM sees lessons of the chosen
category on the proposal form; the PMO admin retries an incident on a demo-year request
and moves its token.  Screenshots land in $PMOFLOW_SCREENSHOTS (default /tmp)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from engine.store.models import HumanTask, ProcessInstance
from engine.store.uow import unit_of_work
from tests.webui.browser.conftest import page_factory, serving
from tests.webui.test_dashboard import demo_app, demo_template_db  # noqa: F401 (fixtures)
from tests.webui.test_portfolio import seed_session
from webui.extensions import db

SHOTS = Path(os.environ.get("PMOFLOW_SCREENSHOTS", "/tmp"))


@pytest.fixture
def journey(browser, demo_app, web_clock):  # noqa: F811 (the fixture imported above)
    with demo_app.app_context(), unit_of_work(db.session):
        world = seed_session(db.session, web_clock)  # lessons with tags, risks, escalation
    with serving(demo_app) as url:
        for make in page_factory(browser, url):
            yield make, world, demo_app


def _drawn(page) -> set[str]:
    return set(page.evaluate("""() => [...document.querySelectorAll('canvas')]
        .filter(c => window.Chart && Chart.getChart(c)).map(c => c.id)"""))


def test_pmo_head_and_admin_after_a_demo_year(journey):
    make, w, app = journey
    page = make("pmohead", width=1400, height=1000)

    # the dashboard: charts drawn, a department filter, a table view, a CSV
    page.goto("/dashboard")
    assert {"chart-cycle_trend", "chart-steps", "chart-lessons"} <= _drawn(page)
    page.select_option("#f-department", "Sales")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboard?*department=Sales*")
    assert "chart-cycle_trend" in _drawn(page)
    page.click("[data-testid=figure-cycle_time] summary")
    expect(page.locator("[data-testid=table-cycle_time] tbody tr").first).to_be_visible()
    with page.expect_download() as download:
        page.click("[data-testid=csv-cycle_time]")
    assert download.value.suggested_filename.endswith("-Sales.csv")

    # the heatmap: the slowest step glows
    page.click("[data-testid=heatmap-links] >> text=Project approval")
    page.wait_for_selector("[data-testid=heatmap][data-ready=true]")
    assert page.locator(".djs-element.heat-4").count() >= 1

    # the portfolio's open risks lead to the project, whose timeline links the risk
    page.goto("/portfolio?q=CRM")
    crm = page.locator(f"tr[data-project-id='{w.crm}']")
    expect(crm.locator("[data-testid=open-risks]")).to_contain_text("2")
    expect(crm.locator("[data-testid=open-escalations]")).to_have_text("1")
    crm.locator("[data-testid=project-link]").click()
    timeline = page.locator("[data-testid=timeline]")
    expect(timeline.locator("[data-testid=timeline-entry]").first).to_have_attribute(
        "data-kind", "lesson")
    timeline.locator(f"a[href='/risks/{w.high_risk}']").first.click()
    page.wait_for_url(f"**/risks/{w.high_risk}")
    page.goto("/risks")
    expect(page.locator("[data-testid=risk-matrix]")).to_be_visible()

    # the lessons library: filter by category and tag; opening a lesson counts one read
    page.goto("/lessons")
    page.select_option("#lesson-category", "technical")
    page.click("[data-testid=lesson-search]")
    cards = page.locator("[data-testid=lesson]")
    expect(cards).to_have_count(1)
    expect(cards.first.locator("[data-testid=lesson-reads]")).to_have_text("0 reads")
    page.click("[data-testid=tag] >> text=#integration")
    expect(page.locator("[data-testid=lesson]")).to_have_count(1)
    page.locator("[data-testid=lesson] h2 a").first.click()
    expect(page.locator("[data-testid=lesson-reads]")).to_have_text("Read by 1 person")
    page.reload()
    expect(page.locator("[data-testid=lesson-reads]")).to_have_text("Read by 1 person")
    page.goto("/lessons?category=technical")
    expect(page.locator("[data-testid=lesson-reads]").first).to_have_text("1 read")

    # a PM's proposal form shows the lessons of the category they choose
    pm = make("pm1", width=1400)
    pm.goto("/processes/project_approval/start")
    related = pm.locator("[data-testid=related-lessons] .related-lessons[data-category=it]")
    expect(related).to_be_hidden()
    pm.select_option("[data-testid=start-form] select[name=category]", "it")
    expect(related).to_be_visible()
    expect(related).to_contain_text("Interface debugging")

    # the PMO admin: a demo-year request lost its task (an incident); retry, move a token
    with app.app_context():
        task = db.session.scalars(select(HumanTask).join(
            ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
            HumanTask.status == "open", HumanTask.element_id == "check",
            ProcessInstance.status == "running").order_by(HumanTask.id)).first()
        assert task is not None
        iid = task.instance_id
        db.session.execute(update(HumanTask).where(HumanTask.id == task.id)
                           .values(status="completed", completed_by="nobody"))
        db.session.commit()
        app.extensions["pmoflow"].engine.doctor(db.session)
    admin = make("admin", width=1400)
    admin.goto("/ops")
    admin.click("[data-testid=tab-incident]")
    row = admin.locator("[data-testid=ops-row]")
    expect(row).to_have_count(1)
    row.locator("a").first.click()
    admin.wait_for_url(f"**/ops/instances/{iid}*")
    expect(admin.locator("[data-testid=incident-where]")).to_contain_text("check")
    admin.fill("#retry-reason", "the inbox lost the completeness check")
    admin.click("[data-testid=retry]")
    expect(admin.locator("[data-testid=flash]")).to_contain_text("Retried")
    expect(admin.locator("[data-testid=token]")).to_have_attribute("data-element", "check")
    admin.select_option("#move-from", "check")
    admin.select_option("#move-to", "revise")
    admin.fill("#move-reason", "the PM must attach the milestone plan first")
    admin.click("[data-testid=move-submit]")
    expect(admin.locator("[data-testid=flash]")).to_contain_text("The token was moved")
    expect(admin.locator("[data-testid=token]")).to_have_attribute("data-element", "revise")
    expect(admin.locator("[data-testid=ops-history]")).to_contain_text("milestone plan")
    with app.app_context():
        open_steps = db.session.scalars(select(HumanTask.element_id).where(
            HumanTask.instance_id == iid, HumanTask.status == "open")).all()
    assert open_steps == ["revise"]
