"""Three-level risk review (三级评审) end to end in Chromium, each actor as themselves.

pm1 raises a medium risk (P3 x I4 = 12) on a demo project they manage through the real
form; the sponsor sends it back, pm1 revises it, the sponsor approves level 1 and the
PMO head level 2; the register shows it accepted, decided by the PMO head at level 2.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.webui.browser.pmo_conftest import DEMO, open_task, submit_task

PROJECT = "PRJ-2026-0001"  # Warehouse automation, pm1's, sponsored by sponsor1
RISK = "Conveyor supplier serves two other projects"


def test_medium_risk_sent_back_revised_then_approved_at_two_levels(pmo_page):
    pm = pmo_page("pm1")
    pm.goto("/processes")
    pm.click("[data-testid=start-risk_review]")
    expect(pm.locator("[data-testid=form-help]")).to_contain_text("probability x impact")
    # the picker offers pm1's running projects only, by code and title
    offered = pm.locator("#f-project_id option:not([value=''])").all_inner_texts()
    assert offered == [f"{code} — {title}" for code, (title, who) in DEMO.items()
                       if who == "pm1"], offered
    pm.select_option("#f-project_id", label=f"{PROJECT} — {DEMO[PROJECT][0]}")
    expect(pm.locator("input#f-title")).to_be_visible()  # a one-line title, not a text area
    pm.fill("#f-title", RISK)
    pm.fill("#f-description", "The conveyor vendor is booked by three sites in May.")
    pm.select_option("#f-category", "supplier")
    pm.select_option("#f-probability", "3")
    pm.select_option("#f-impact", "4")
    pm.check("input[name=response][value=mitigate]")
    pm.fill("#f-contingency", "Pre-qualify a second vendor by April.")
    pm.select_option("#f-owner", "pm1")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text(
        f"Your request “{RISK}” was submitted. It is now with: Sponsor review (level 1).")
    expect(pm.locator("[data-testid=project-link]")).to_have_text(
        f"{PROJECT} — {DEMO[PROJECT][0]}")

    # level 1: the project's sponsor sends it back with a comment
    sponsor = pmo_page("sponsor1")
    open_task(sponsor, RISK, "Sponsor review (level 1)", tab="claimable")
    form = sponsor.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=score] .static-value")).to_have_text("12")
    expect(form.locator("[data-field=risk_level] .static-value")).to_have_text("Medium")
    expect(form.locator("[data-field=levels_needed] .static-value")).to_have_text("2")
    expect(form.locator("[data-field=immediate_action]")).to_have_count(0)  # empty: not shown
    sponsor.check("input[name=decision][value=send_back]")
    sponsor.fill("#f-comment", "Name the second vendor and the date you will switch.")
    submit_task(sponsor, "Sponsor review (level 1)")

    # pm1 revises: the reviewer's words are on the form
    open_task(pm, RISK, "Revise risk")
    form = pm.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=feedback] .static-value")).to_have_text(
        "Name the second vendor and the date you will switch.")
    expect(form.locator("[data-field=feedback_by] .static-value")).to_have_text(
        "Zhang Min (Sponsor)")
    expect(pm.locator("#f-title")).to_have_value(RISK)
    pm.fill("#f-contingency", "Second vendor Acme Conveyors pre-qualified; switch on 15 April.")
    submit_task(pm, "Revise risk")

    # level 1 again, approved this time
    open_task(sponsor, RISK, "Sponsor review (level 1)", tab="claimable")
    expect(sponsor.locator("[data-testid=task-form] [data-field=contingency]")).to_contain_text(
        "Acme Conveyors")
    sponsor.check("input[name=decision][value=approve]")
    submit_task(sponsor, "Sponsor review (level 1)")

    # level 2: the PMO head approves; the risk is decided
    head = pmo_page("pmohead")
    open_task(head, RISK, "PMO review (level 2)", tab="claimable")
    head.check("input[name=decision][value=approve]")
    head.fill("#f-comment", "Plan is sound; track the switch date.")
    submit_task(head, "PMO review (level 2)")

    # the register: accepted, decided by the PMO head at level 2
    head.goto("/risks")
    row = head.locator("[data-testid=risk-row]", has_text=RISK)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(PROJECT)
    expect(row.locator("[data-testid=level]")).to_have_text("Medium")
    expect(row.locator("[data-testid=risk-status]")).to_have_text("Accepted")
    expect(row).to_contain_text("Chen Jing (PMO head) · level 2")
    expect(row).to_contain_text("Acme Conveyors")
    expect(row.locator(".score")).to_have_text("12")
    row.locator("[data-testid=risk-link]").click()
    expect(head.locator("[data-testid=risk-decision]")).to_contain_text(
        "Decided by Chen Jing (PMO head) at level 2")
    level1 = head.locator("[data-testid=review-level-1] [data-testid=review]")
    expect(level1).to_have_count(2)  # sent back, then approved
    expect(level1.first).to_contain_text("Sent back")
    expect(level1.first).to_contain_text("Name the second vendor")
    expect(level1.nth(1)).to_contain_text("Approved")
    expect(head.locator("[data-testid=review-level-2] [data-testid=review]")).to_contain_text(
        "Chen Jing (PMO head)")

    # pm1 is told the decision, and sees the request completed
    pm.goto("/notifications")
    expect(pm.locator("[data-testid=notification]").first).to_contain_text(RISK)
    pm.goto("/requests")
    request = pm.locator("[data-testid=instance-row]", has_text=RISK)
    expect(request.locator("[data-testid=status]")).to_contain_text("Completed")
