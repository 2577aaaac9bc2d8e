"""Issue 17's "done when", in Chromium: a process owner uploads a Camunda 7 approval
diagram in the modeler, reads the report beside the diagram (elements marked, an entry
selects its element), maps its group to a PMOflow role, binds its one service task,
converts again, saves the draft, validates and deploys it; a PM starts a request and a
PMO reviewer (the mapped role) approves it, and the request completes through the bound
service task."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.webui.browser.pmo_conftest import open_task, submit_task
from tests.webui.browser.test_accessibility import axe_findings

DIAGRAM = Path(__file__).parent / "data" / "camunda7_purchase.bpmn"
SHOTS = Path(os.environ.get("PMOFLOW_SCREENSHOTS", "/tmp"))


def _report(owner: Page) -> None:
    owner.goto("/modeler")
    owner.click("[data-testid=import-camunda]")
    owner.set_input_files("[data-testid=c7-files]", str(DIAGRAM))
    owner.click("[data-testid=c7-upload]")
    expect(owner.locator("[data-testid=c7-canvas]")).to_have_attribute("data-ready", "true")


def test_owner_imports_maps_binds_deploys_and_the_process_runs(pmo_page) -> None:
    owner = pmo_page("owner1")
    _report(owner)
    # the report: by line, the unmapped group and the unbound service task cannot run
    entries = owner.locator("[data-testid=c7-entry]")
    lines = [int(x) for x in entries.evaluate_all("els => els.map(e => e.dataset.line)")]
    assert lines == sorted(lines) and len(lines) >= 5
    expect(owner.locator("[data-testid=c7-file-status]")).to_have_attribute(
        "data-status", "cannot_run")
    expect(owner.locator("[data-testid=c7-unknown-group]")).to_have_count(1)
    expect(owner.locator(".djs-element.c7-cannot-run[data-element-id=notify]")).to_have_count(1)
    expect(owner.locator(".djs-element.c7-cannot-run[data-element-id=review]")).to_have_count(1)
    expect(owner.locator(".djs-element.c7-converted[data-element-id=Flow_yes]")).to_have_count(1)
    # clicking an entry selects its element on the diagram
    entry = entries.filter(has_text="com.acme.purchase.NotifyRequester")
    entry.click()
    expect(entry).to_have_class(re.compile("active"))
    expect(owner.locator(".djs-element.c7-selected[data-element-id=notify]")).to_have_count(1)
    assert axe_findings(owner) == [], axe_findings(owner)
    owner.evaluate("window.scrollTo(0, 0)")
    owner.screenshot(path=str(SHOTS / "camunda-import-report.png"))

    # map the group, bind the service task, convert again
    owner.select_option("[data-testid=c7-role-management]", "pmo_reviewer")
    owner.select_option("[data-testid=c7-operation-notify]", "approval_withdrawn")
    owner.click("[data-testid=c7-convert]")
    expect(owner.locator("[data-testid=c7-canvas]")).to_have_attribute("data-ready", "true")
    expect(owner.locator("[data-testid=c7-file-status]")).to_have_attribute(
        "data-status", "converted")
    expect(owner.locator("[data-testid=c7-unknown-group]")).to_have_count(0)
    expect(owner.locator("[data-testid=c7-role-management]")).to_have_value("pmo_reviewer")
    expect(owner.locator(".djs-element.c7-cannot-run")).to_have_count(0)
    owner.screenshot(path=str(SHOTS / "camunda-import-converted.png"))

    # save as draft: the modeler opens it; it validates clean and deploys
    owner.click("[data-testid=c7-save-drafts]")
    expect(owner).to_have_url(re.compile(r"/modeler\?draft=\d+"))
    expect(owner.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    owner.click("[data-testid=validate]")
    expect(owner.locator("[data-testid=problems-none]")).to_be_visible()
    owner.fill("[data-testid=deploy-comment]", "Moved from Camunda 7")
    owner.click("[data-testid=deploy]")
    expect(owner.locator("[data-testid=deployed-link]")).to_have_text("c7_purchase v1")

    # a PM starts a request; the PMO reviewer (mapped from 'management') approves it
    pm = pmo_page("pm1")
    pm.goto("/processes")
    pm.click("[data-testid=start-c7_purchase]")
    pm.fill("#f-item", "Standing desks")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text("Review purchase")
    request_url = pm.url

    reviewer = pmo_page("reviewer1")
    open_task(reviewer, "", "Review purchase", tab="claimable")
    reviewer.check("#f-approved")
    submit_task(reviewer, "Review purchase")

    pm.goto(request_url)
    expect(pm.locator("[data-testid=status]").first).to_contain_text("Completed")
    expect(pm.locator("main")).to_contain_text("Notify requester")  # the approved path ran
    pm.screenshot(path=str(SHOTS / "camunda-import-ran.png"), full_page=True)


def test_the_report_in_chinese(pmo_page) -> None:
    owner = pmo_page("owner1")
    owner.goto("/")
    owner.click("[data-testid=lang-zh]")
    _report(owner)
    expect(owner.locator("h1")).to_have_text("导入报告")
    expect(owner.locator("[data-testid=c7-file-status]")).to_have_text("无法运行")
    expect(owner.locator("[data-testid=c7-unknown-group]")).to_have_text("尚无角色")
    owner.screenshot(path=str(SHOTS / "camunda-import-report-zh.png"), full_page=True)
