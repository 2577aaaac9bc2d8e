"""Escalation (问题升级) end to end in Chromium, each actor signed in as themselves.

pm1 escalates a supplier conflict on their project and names pm2's project as affected
(picked from the running projects, not typed as ids); reviewer1 resolves it at PMO level;
pm2 finds the decision under the bell; pm1 confirms; the log shows it resolved.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.webui.browser.pmo_conftest import DEMO, open_task, submit_task

OWN, OTHER = "PRJ-2026-0001", "PRJ-2026-0002"  # pm1's and pm2's demo projects
ISSUE = "Tower crane supplier booked by both sites in March"
DECISION = "Crane to site A 2-20 March, to site B from 21 March; PMO pays the extra move."


def label(code: str) -> str:
    return f"{code} — {DEMO[code][0]}"


def test_escalation_resolved_at_pmo_level_told_to_the_affected_pm_and_confirmed(pmo_page):
    pm = pmo_page("pm1")
    pm.goto("/processes")
    pm.click("[data-testid=start-escalation]")
    pm.select_option("#f-project_id", label=label(OWN))
    affected = pm.locator("[data-field=affected_project_ids]")
    # every running project may be named, not only pm1's own
    expect(affected.get_by_label(label(OTHER))).to_be_visible()
    affected.get_by_label(label(OTHER)).check()
    pm.fill("#f-title", ISSUE)
    pm.fill("#f-description", "One crane crew, two sites, the same three weeks.")
    pm.select_option("#f-kind", "resource_conflict")
    pm.check("input[name=severity][value=high]")
    pm.fill("#f-tried", "Asked the supplier for a second crew; refused.")
    pm.fill("#f-needed_by", "2026-03-06")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text(
        f"Your request “{ISSUE}” was submitted. It is now with: Triage escalation.")
    details = pm.locator("[data-testid=summary]").first
    expect(details.locator("[data-field=affected_project_ids]")).to_have_text(label(OTHER))
    expect(details.locator("[data-field=project_id]")).to_have_text(label(OWN))

    # pm2 learns at once that an escalation names their project
    other_pm = pmo_page("pm2")
    expect(other_pm.locator("[data-testid=bell-count]")).to_have_text("1")

    # reviewer1 triages: the projects are shown by code, and resolves at PMO level
    reviewer = pmo_page("reviewer1")
    open_task(reviewer, ISSUE, "Triage escalation", tab="claimable")
    expect(reviewer.locator("[data-testid=summary] [data-field=affected_project_ids]")
           ).to_have_text(label(OTHER))
    form = reviewer.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=severity] .static-value")).to_have_text("High")
    expect(form.locator("[data-field=reopen_reason]")).to_have_count(0)  # never reopened
    reviewer.check("input[name=decision][value=resolve]")
    reviewer.fill("#f-comment", DECISION)
    submit_task(reviewer, "Triage escalation")

    # pm2 sees the decision under the bell
    other_pm.reload()
    expect(other_pm.locator("[data-testid=bell-count]")).to_have_text("2")
    other_pm.click("[data-testid=bell]")
    note = other_pm.locator("[data-testid=notification]", has_text=f"Escalation decision: {ISSUE}")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("PMO pays the extra move")
    note.locator("[data-testid=notification-link]").click()
    expect(other_pm.locator("[data-testid=instance-title]")).to_have_text(ISSUE)
    expect(other_pm.locator("[data-testid=history]")).to_contain_text(DECISION)
    expect(other_pm.locator("[data-testid=withdraw-form]")).to_have_count(0)

    # pm1 confirms the decision settled it
    open_task(pm, ISSUE, "Confirm resolution")
    form = pm.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=outcome_text] .static-value")).to_have_text(DECISION)
    expect(form.locator("[data-field=outcome_by] .static-value")).to_have_text(
        "Omar Haddad (PMO reviewer)")
    pm.check("input[name=decision][value=resolved]")
    pm.fill("#f-comment", "Both sites replanned; thanks.")
    submit_task(pm, "Confirm resolution")

    # the escalation log: resolved, the PMO's decision, both projects
    pm.goto("/escalations")
    row = pm.locator("[data-testid=escalation-row]", has_text=ISSUE)
    expect(row).to_have_count(1)
    expect(row.locator("[data-testid=esc-status]")).to_have_text("Resolved")
    expect(row).to_contain_text(OWN)
    expect(row).to_contain_text(f"Affects {OTHER}")
    expect(row).to_contain_text("Omar Haddad (PMO reviewer) · PMO")
    expect(row.locator("[data-testid=severity]")).to_have_text("High")
    row.locator("[data-testid=escalation-link]").click()
    expect(pm.locator("[data-testid=escalation-decision]")).to_contain_text(DECISION)
    expect(pm.locator("[data-testid=affected]")).to_contain_text(OTHER)
    expect(pm.locator("body")).to_contain_text("Both sites replanned; thanks.")
