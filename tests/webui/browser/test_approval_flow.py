"""The whole approval in Chromium: start with an error, rework, revise, accept, approve."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def open_task(page, tab: str, title: str, step: str) -> None:
    """Open the task ``step`` of request ``title`` from the inbox tab."""
    page.goto(f"/tasks?tab={tab}")
    row = page.locator("[data-testid=task-row]", has_text=title).filter(has_text=step)
    row.locator("[data-testid=task-link]").click()
    expect(page.locator("[data-testid=task-name]")).to_have_text(step)


def test_proposal_through_rework_to_approval(new_page, arrange):
    pm = new_page("pm1")
    pm.goto("/processes")
    pm.click("[data-testid=start-approval3]")
    pm.fill("#f-budget", "250000")
    pm.fill("#f-start", "2026-04-01")
    pm.click("[data-testid=submit]")
    error = pm.locator("[data-error-for=title]")
    expect(error).to_have_text("This field is required.")
    expect(pm.locator("#f-title")).to_have_attribute("aria-invalid", "true")
    expect(pm.locator("#f-budget")).to_have_value("250000")
    expect(pm.locator("#error-summary")).to_be_focused()
    pm.fill("#f-title", "Tower upgrade")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text(
        "Your request “Tower upgrade” was submitted")
    expect(pm.locator("[data-testid=waiting]")).to_contain_text("Check completeness")
    instance_url = pm.url

    reviewer = new_page("reviewer1")
    open_task(reviewer, "claimable", "Tower upgrade", "Check completeness")
    expect(reviewer.locator("[data-testid=summary]")).to_contain_text("250,000")
    reviewer.check("input[name=decision][value=rework]")
    reviewer.fill("#f-comment", "Please attach the milestone plan.")
    reviewer.click("[data-testid=submit]")
    expect(reviewer.locator("[data-testid=flash]")).to_contain_text("Done: “Check completeness”")

    open_task(pm, "mine", "Tower upgrade", "Revise proposal")
    expect(pm.locator("[data-testid=history]")).to_contain_text(
        "Please attach the milestone plan.")
    expect(pm.locator("[data-testid=history] [data-testid=outcome]")).to_have_text("Rework")
    pm.fill("#f-comment", "Milestone plan attached.")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text("Revise proposal")

    open_task(reviewer, "claimable", "Tower upgrade", "Check completeness")
    expect(reviewer.locator("input[name=decision]:checked")).to_have_count(0)
    reviewer.check("input[name=decision][value=accept]")
    reviewer.click("[data-testid=submit]")

    head = new_page("pmohead")
    open_task(head, "claimable", "Tower upgrade", "Approve")
    head.click("[data-testid=claim]")
    expect(head.locator("[data-testid=flash]")).to_contain_text("You have claimed “Approve”.")
    head.check("input[name=decision][value=accept]")
    head.fill("#f-comment", "Approved within delegated authority.")
    head.click("[data-testid=submit]")
    open_task(head, "claimable", "Tower upgrade", "Confirm registration")
    head.click("[data-testid=submit]")

    pm.goto("/requests")
    row = pm.locator("[data-testid=instance-row]", has_text="Tower upgrade")
    expect(row.locator("[data-testid=status]")).to_have_text(re.compile("Completed"))
    row.get_by_role("link", name="Tower upgrade").click()
    assert pm.url == instance_url
    expect(pm.locator("[data-testid=where]")).to_contain_text("Completed on")
    pm.wait_for_selector("[data-diagram][data-ready=true]")
    for element in ("start", "review", "revise", "approve", "confirm", "end_ok"):
        expect(pm.locator(f".djs-element[data-element-id={element}]")).to_have_class(
            re.compile("pmo-completed"))
    expect(pm.locator(".djs-element[data-element-id=end_rejected]")).to_have_class(
        re.compile("pmo-dimmed"))
    expect(pm.locator(".djs-element[data-element-id=f_no]")).to_have_class(
        re.compile("pmo-dimmed"))
    expect(pm.locator(".djs-element[data-element-id=f_back]")).to_have_class(
        re.compile("pmo-taken"))
    expect(pm.locator(".pmo-visits")).to_have_count(2)  # review and its gateway ran twice
    history = pm.locator("[data-testid=history]")
    expect(history).to_contain_text("Approved within delegated authority.")
    expect(history).to_contain_text("The request was completed")


def test_task_page_highlights_the_current_step(new_page, arrange):
    inst = arrange.start(title="Highlight me")
    task = arrange.task(inst.id)
    reviewer = new_page("reviewer1")
    reviewer.goto(f"/tasks/{task.id}")
    reviewer.wait_for_selector("[data-diagram][data-ready=true]")
    current = reviewer.locator(".djs-element[data-element-id=review]")
    expect(current).to_have_class(re.compile("pmo-current"))
    expect(current).to_have_class(re.compile("pmo-focus"))
    expect(reviewer.locator(".djs-element[data-element-id=start]")).to_have_class(
        re.compile("pmo-completed"))
    expect(reviewer.locator(".djs-element[data-element-id=approve]")).to_have_class(
        re.compile("pmo-dimmed"))
