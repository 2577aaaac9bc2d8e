"""Project approval (立项审批) end to end in Chromium, each actor signed in as themselves.

pm1 proposes a 500k IT project through the real start form, reviewer1 returns it for
rework, pm1 revises, reviewer1 accepts, the PMO head and finance approve in parallel,
pm1 learns the project code and records the kick-off; the portfolio shows it Executing.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.webui.browser.pmo_conftest import (
    bell,
    open_task,
    portfolio_row,
    submit_task,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
TITLE = "CRM replacement"
CODE = "PRJ-2026-0004"  # the demo portfolio holds 0001..0003


def fill_proposal(pm, tmp_path: Path) -> None:
    """Every field of the proposal form, as a PM types it."""
    charter, plan = tmp_path / "charter.pdf", tmp_path / "milestones.pdf"
    charter.write_bytes(PDF)
    plan.write_bytes(PDF)
    pm.fill("#f-title", TITLE)
    pm.fill("#f-business_case", "The old CRM is out of support from 2027; sales loses leads.")
    pm.fill("#f-strategic_objective", "Customer retention")
    pm.select_option("#f-category", "it")
    pm.select_option("#f-budget-currency", "CNY")
    pm.fill("#f-budget-amount", "500,000")
    pm.fill("#f-planned_start", "2026-04-01")
    pm.fill("#f-planned_end", "2026-12-31")
    pm.select_option("#f-sponsor", "sponsor1")
    pm.fill("#f-expected_roi_pct", "18.5")
    pm.check("input[name=risk_rating][value=medium]")
    pm.fill("#f-departments", "IT, Sales")
    pm.fill("#f-headcount", "12")
    pm.set_input_files("#f-charter", str(charter))
    pm.set_input_files("#f-milestone_plan", str(plan))
    pm.fill("input[name='budget_breakdown.0.item']", "Licences")
    pm.fill("input[name='budget_breakdown.0.amount']", "200000")
    pm.click("[data-add-row]")
    pm.fill("input[name='budget_breakdown.1.item']", "Integration services")
    pm.fill("input[name='budget_breakdown.1.amount']", "300000")


def test_proposal_rework_parallel_approval_code_and_kickoff(pmo_page, tmp_path):
    pm = pmo_page("pm1")
    pm.goto("/processes")
    pm.click("[data-testid=start-project_approval]")
    expect(pm.locator("[data-testid=form-help]")).to_have_count(0)  # this form has none
    expect(pm.locator("#f-sponsor option[value=sponsor1]")).to_have_text(
        "Zhang Min (Sponsor) (sponsor1)")
    fill_proposal(pm, tmp_path)
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text(
        f"Your request “{TITLE}” was submitted. It is now with: Check completeness.")
    summary = pm.locator("[data-testid=summary]").first
    expect(summary.locator("[data-field=budget]")).to_have_text("CN¥500,000.00")
    expect(summary.locator("[data-field=departments]")).to_contain_text("IT")
    expect(summary.locator("[data-field=charter]")).to_have_text("charter.pdf")
    expect(summary.locator("[data-field=budget_breakdown] tbody tr")).to_have_count(2)
    # the request is already a proposal in the portfolio, without a code yet
    expect(pm.locator("[data-testid=project]")).to_contain_text(TITLE)
    expect(pm.locator("[data-testid=project-stage]")).to_have_text("Proposed")

    # reviewer1 returns it for rework: a comment is required
    reviewer = pmo_page("reviewer1")
    open_task(reviewer, TITLE, "Check completeness", tab="claimable")
    form = reviewer.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=budget] .static-value")).to_have_text("CN¥500,000.00")
    expect(form.locator("[data-field=sponsor] .static-value")).to_have_text("Zhang Min (Sponsor)")
    expect(form.locator("input[name=title]")).to_have_count(0)  # read-only: text, not inputs
    expect(reviewer.locator("#f-comment-help")).to_have_text(
        "Required when Decision is Return for rework or Reject.")
    reviewer.check("input[name=decision][value=rework]")
    reviewer.click("[data-testid=submit]")
    expect(reviewer.locator("[data-error-for=comment]")).to_have_text(
        "This field is required.")
    reviewer.fill("#f-comment", "Break the licences down per year and name the integrator.")
    submit_task(reviewer, "Check completeness")

    # pm1 revises: the form keeps the proposal, the comment is in the history
    open_task(pm, TITLE, "Revise proposal")
    expect(pm.locator("[data-testid=form-help]")).to_have_text(
        "The reviewers' comments are in the history below.")
    expect(pm.locator("[data-testid=history] [data-testid=comment]").first).to_contain_text(
        "name the integrator")
    expect(pm.locator("#f-title")).to_have_value(TITLE)
    expect(pm.locator("#f-budget-amount")).to_have_value("500000")
    expect(pm.locator("[data-field=charter] [data-testid=kept-file]")).to_contain_text(
        "charter.pdf")
    pm.fill("input[name='budget_breakdown.1.item']", "Integration by Acme Consulting")
    pm.fill("#f-headcount", "14")
    submit_task(pm, "Revise proposal")

    # reviewer1 accepts: all three standards ticked
    open_task(reviewer, TITLE, "Check completeness", tab="claimable")
    # shown once: in the form (read-only), not again in the summary beside it
    form = reviewer.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=headcount] .static-value")).to_have_text("14")
    expect(reviewer.locator("[data-testid=summary] [data-field=headcount]")).to_have_count(0)
    reviewer.check("input[name=decision][value=accept]")
    reviewer.click("[data-testid=submit]")
    expect(reviewer.locator("[data-error-for=charter_complete]")).to_have_text(
        "Accept only a complete charter.")
    for box in ("charter_complete", "plan_attached", "budget_broken_down"):
        reviewer.check(f"#f-{box}")
    submit_task(reviewer, "Check completeness")

    # 500k: the PMO head and finance review in parallel, each signed in as themselves
    head, finance = pmo_page("pmohead"), pmo_page("finance1")
    open_task(head, TITLE, "PMO head review", tab="claimable")
    open_task(finance, TITLE, "Finance review", tab="claimable")
    for person, step in ((finance, "Finance review"), (head, "PMO head review")):
        person.check("input[name=decision][value=approve]")
        submit_task(person, step)
    head.goto("/tasks?tab=claimable")
    expect(head.locator("[data-testid=task-row]", has_text=TITLE)).to_have_count(0)

    # pm1 is told the code: bell, instance page, portfolio
    titles = bell(pm)
    assert any(f"Project approved: {CODE} {TITLE}" in t for t in titles), titles
    pm.locator("[data-testid=notification]", has_text="Project approved").locator(
        "[data-testid=notification-link]").click()
    pm.goto("/requests")
    pm.locator("[data-testid=instance-row]", has_text=TITLE).get_by_role(
        "link", name=TITLE).click()
    expect(pm.locator("[data-testid=project-link]")).to_have_text(f"{CODE} — {TITLE}")
    expect(pm.locator("[data-testid=project-stage]")).to_have_text("Initiation")
    expect(pm.locator("[data-testid=history]")).to_contain_text(
        f"Registered as {CODE} (Initiation)")
    expect(pm.locator("[data-testid=waiting]")).to_contain_text("Record kick-off")
    row = portfolio_row(pm, CODE)
    expect(row.locator("[data-testid=stage]")).to_have_text("Initiation")

    # the kick-off moves it to Executing
    open_task(pm, TITLE, "Record kick-off")
    expect(pm.locator("[data-testid=project-link]")).to_have_text(f"{CODE} — {TITLE}")
    pm.fill("#f-kickoff_date", "2026-03-09")  # a week ahead: refused
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-error-for=kickoff_date]")).to_have_text(
        "The kick-off cannot be in the future.")
    pm.fill("#f-kickoff_date", "2026-03-02")
    pm.fill("#f-kickoff_notes", "Kick-off with sales and IT.")
    submit_task(pm, "Record kick-off")
    row = portfolio_row(pm, CODE)
    expect(row.locator("[data-testid=stage]")).to_have_text("Executing")
    expect(row).to_contain_text("Li Wei (PM)")
    expect(row).to_contain_text("CN¥500,000")
    row.locator("[data-testid=project-link]").click()
    expect(pm.locator("[data-testid=project-code]")).to_have_text(CODE)
    changes = pm.locator("[data-testid=stage-change]")
    expect(changes).to_have_count(3)  # Proposed -> Initiation -> Executing
    expect(pm.locator("[data-testid=stage-history]")).to_contain_text("Kick-off on 2026-03-02")
    expect(pm.locator("[data-testid=project-requests]")).to_contain_text(re.compile(
        "Completed"))
