"""Project closure and lessons learned (结项与经验总结) end to end in Chromium.

pm1 starts closing a demo project and picks two team members to ask for lessons; the
sponsor signs off, finance accepts the cost variance, each team member writes a lesson
(one a Chinese war story about 接口联调), reviewer1 ticks the one to publish; the project
is Closed in the portfolio and the story is found in the lessons library by 接口.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.webui.browser.pmo_conftest import DEMO, open_task, portfolio_row, submit_task

CODE = "PRJ-2026-0001"  # Warehouse automation: pm1's, 850,000 CNY, Executing
TITLE = DEMO[CODE][0]
REQUEST = f"{CODE} {TITLE}"  # named by the closure glue after the project
STORY_TITLE = "第三方接口联调 took three weeks"
STORY = ("和物流供应商的接口联调花了三周：他们的测试环境和生产环境不一致。"
         "Book a joint debugging window before signing the contract.")


def test_closure_sign_off_cost_check_lessons_curated_and_published(pmo_page):
    pm = pmo_page("pm1")
    pm.goto("/processes")
    pm.click("[data-testid=start-project_closure]")
    pm.select_option("#f-project_id", label=f"{CODE} — {TITLE}")
    pm.check("#f-deliverables_accepted")
    pm.fill("#f-actual_cost-amount", "840000")
    pm.fill("#f-actual_end", "2026-03-02")
    pm.fill("#f-customer_satisfaction", "4")
    pm.fill("#f-open_items_count", "0")
    team = pm.locator("[data-field=lesson_team]")
    expect(team.locator("input[type=checkbox]")).to_have_count(3)  # the team, by name
    team.get_by_label("Liu Yang (Team) (team1)").check()
    team.get_by_label("Tom Berg (Team) (team2)").check()
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text(f"Your request “{REQUEST}” was")
    expect(pm.locator("[data-testid=instance-title]")).to_have_text(REQUEST)
    expect(pm.locator("[data-testid=project-stage]")).to_have_text("Closing")
    expect(pm.locator("[data-testid=waiting] li")).to_have_count(4)
    expect(pm.locator("[data-testid=summary] [data-field=lesson_team]").first).to_contain_text(
        "Tom Berg (Team)")

    # the sponsor signs off acceptance
    sponsor = pmo_page("sponsor1")
    sponsor.goto("/tasks?tab=claimable")
    expect(sponsor.locator("[data-testid=task-row]", has_text=REQUEST).locator(
        "[data-testid=task-project]")).to_have_text(f"{CODE} {TITLE}")
    open_task(sponsor, REQUEST, "Sign off acceptance", tab="claimable")
    expect(sponsor.locator("[data-testid=project-link]")).to_have_text(f"{CODE} — {TITLE}")
    closure = sponsor.locator("[data-testid=task-form] [data-field=closure]")
    expect(closure.locator("[data-field='closure.code'] .static-value")).to_have_text(CODE)
    expect(closure.locator("[data-field='closure.actual_cost'] .static-value")).to_have_text(
        "CN¥840,000.00")
    expect(closure.locator("[data-field='closure.variance_pct'] .static-value")).to_have_text(
        "-1.18")
    sponsor.check("input[name=decision][value=sign_off]")
    submit_task(sponsor, "Sign off acceptance")

    # finance accepts the cost variance (within the table's tolerance)
    finance = pmo_page("finance1")
    open_task(finance, REQUEST, "Check cost variance", tab="claimable")
    expect(finance.locator("[data-field='cost_check.reason'] .static-value")).to_contain_text(
        "Within the tolerance")
    finance.check("input[name=decision][value=accept]")
    submit_task(finance, "Check cost variance")

    # each team member writes a lesson in their own inbox
    team1, team2 = pmo_page("team1"), pmo_page("team2")
    open_task(team1, REQUEST, "Write lessons learned")
    expect(team1.locator("[data-testid=form-help]")).to_contain_text("third-party interface")
    expect(team1.locator("[data-field='lesson_window.closes_at'] .static-value")).to_have_text(
        "2026-03-09 09:00")
    team1.fill("#f-title", STORY_TITLE)
    team1.select_option("#f-category", "supplier")
    team1.fill("#f-tags", "接口, 联调, vendor")
    team1.fill("#f-what_did_not", STORY)
    team1.fill("#f-recommendation", "Test against the vendor's production-like sandbox early.")
    submit_task(team1, "Write lessons learned")
    open_task(team2, REQUEST, "Write lessons learned")
    team2.fill("#f-title", "Daily stand-up with the warehouse")
    team2.select_option("#f-category", "communication")
    team2.fill("#f-what_went_well", "Fifteen minutes every morning on the floor.")
    submit_task(team2, "Write lessons learned")

    # reviewer1 curates: the collected lessons are readable, publishing is a tick
    reviewer = pmo_page("reviewer1")
    open_task(reviewer, REQUEST, "Curate lessons", tab="claimable")
    collected = reviewer.locator(
        "[data-testid=task-form] [data-field=collected_lessons] [data-testid=record]")
    expect(collected).to_have_count(2)
    expect(collected.first).to_contain_text(STORY)
    expect(collected.first).to_contain_text("team1")
    publish = reviewer.locator("[data-field=publish_ids]")
    expect(publish.locator("input[type=checkbox]")).to_have_count(2)
    publish.get_by_label(STORY_TITLE, exact=False).check()
    reviewer.fill("#f-curation_notes", "The interface story goes to the library.")
    submit_task(reviewer, "Curate lessons")

    # the project is Closed; the portfolio says so
    row = portfolio_row(pm, CODE)
    expect(row.locator("[data-testid=stage]")).to_have_text("Closed")
    row.locator("[data-testid=project-link]").click()
    expect(pm.locator("[data-testid=stage-history]")).to_contain_text(
        "Acceptance signed off by sponsor1")
    # its PM sees both lessons of the project (need-to-know); one is published
    lessons = pm.locator("[data-testid=project-lessons] [data-testid=lesson-item]")
    expect(lessons).to_have_count(2)
    expect(lessons.filter(has_text="Unpublished")).to_have_count(1)
    expect(lessons.filter(has_text=STORY_TITLE).filter(has_text="Unpublished")).to_have_count(0)

    # any PM finds the story in the library by a two-character Chinese term
    other_pm = pmo_page("pm2")
    other_pm.goto("/lessons")
    other_pm.fill("[data-testid=lesson-q]", "接口")
    other_pm.click("[data-testid=lesson-search]")
    found = other_pm.locator("[data-testid=lesson]")
    expect(found).to_have_count(1)
    expect(found.first).to_contain_text("接口联调")
    expect(found.first.locator("mark").first).to_have_text("接口")
    other_pm.fill("[data-testid=lesson-q]", "stand-up")
    other_pm.click("[data-testid=lesson-search]")
    expect(other_pm.locator("[data-testid=lesson]")).to_have_count(0)  # not published
