"""Deadlines in Chromium: the PMO admin moves a demo install's clock, every page shows the
test-clock banner, the reviewer's inbox marks the late task overdue (and filters on it),
and the task page says when the step is due and what happens then."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from engine.spiff.bundle import SourceFile
from webui.extensions import db

BOUNDARY = Path(__file__).parents[2] / "engine" / "processes" / "timer_boundary.bpmn"


def test_admin_moves_the_clock_and_the_reviewer_sees_overdue_work(new_page, arrange, app):
    with app.app_context():
        arrange.engine.mark_demo_install(db.session, "cli")
        arrange.engine.deploy(db.session, [SourceFile(BOUNDARY.name, BOUNDARY.read_bytes())],
                              "owner1")
    late = arrange.start(title="Tower upgrade")  # "Check completeness", SLA P2D
    triage = arrange.start("timer_boundary", data={"reminders": 0, "remind_hours": 100})
    late_task = arrange.task(late.id)
    triage_task = arrange.task(triage.id)

    admin = new_page("admin")
    admin.goto("/admin")
    admin.click("[data-testid=admin-time-link]")
    admin.fill("#duration", "soon")
    admin.click("[data-testid=advance-clock]")
    expect(admin.locator("[data-error-for=duration]")).to_contain_text("soon")
    admin.fill("#duration", "7d")
    admin.click("[data-testid=advance-clock]")
    expect(admin.locator("[data-testid=clock-banner]")).to_be_visible()

    reviewer = new_page("reviewer1")
    reviewer.goto("/tasks?tab=claimable")
    expect(reviewer.locator("[data-testid=clock-banner]")).to_be_visible()
    row = reviewer.locator(f"[data-testid=task-row][data-task-id='{late_task.id}']")
    expect(row.locator("[data-testid=overdue]")).to_be_visible()
    reviewer.check("#filter-overdue")
    reviewer.click("button[type=submit] >> text=Apply")
    expect(reviewer.locator("[data-testid=task-row]")).to_have_count(1)
    expect(row).to_be_visible()

    reviewer.goto(f"/tasks/{triage_task.id}")
    expect(reviewer.locator("[data-testid=task-name]")).to_have_text("Triage")
    line = reviewer.locator("[data-testid=wait-next]").first
    expect(line).to_contain_text("48 hours passed")
    expect(line).to_contain_text("Decide escalated issue")
    reviewer.goto(f"/tasks/{late_task.id}")
    expect(reviewer.locator("main [data-testid=overdue]").first).to_be_visible()
