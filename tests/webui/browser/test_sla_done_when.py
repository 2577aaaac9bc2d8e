"""Issue 12's "done when", in Chromium on the demo database: a proposal left untouched past
its SLA (the PMO admin moves the clock on /admin/time) is marked overdue in the reviewer's
inbox, the reviewer has a reminder mail in the mail catcher (/admin/mail), and after the
clock moves further the PMO head gets the escalation; the request's history says so. Then
the general SLA reminder of a step whose diagram models none (the PM's revision), and the
clock back to real time."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.webui.conftest import Arrange
from tests.workflows.factories import proposal
from webui.extensions import db

SHOTS = Path(os.environ.get("PMOFLOW_SHOTS", "/tmp/sla_shots"))


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _move_clock(admin: Page, duration: str) -> None:
    admin.goto("/admin/time")
    admin.fill("#duration", duration)
    admin.click("[data-testid=advance-clock]")
    expect(admin.locator("[data-testid=clock-banner]")).to_be_visible()


def _worker(app) -> None:
    """What ``pmoflow worker`` does on its next pass: fire the due jobs."""
    with app.app_context():
        report = app.extensions["pmoflow"].engine.fire_due_jobs(db.session)
        assert report.failed == 0, report.errors


def test_untouched_proposal_overdue_reminded_then_escalated(pmo_page, pmo_app):
    arrange = Arrange(pmo_app)
    with pmo_app.app_context():
        arrange.engine.mark_demo_install(db.session, "cli")
    inst = arrange.start("project_approval", "pm1", proposal(title="CRM replacement", expected_roi_pct=18.5),
                         title="CRM replacement")
    check = arrange.task(inst.id, "check")  # "Check completeness", SLA P2D, unclaimed

    admin = pmo_page("admin")
    _move_clock(admin, "3d")  # Thursday: past the two working days
    _worker(pmo_app)

    reviewer = pmo_page("reviewer1")
    reviewer.goto("/tasks?tab=claimable")
    row = reviewer.locator(f"[data-testid=task-row][data-task-id='{check.id}']")
    expect(row.locator("[data-testid=overdue]")).to_be_visible()
    reviewer.check("#filter-overdue")
    reviewer.click("button[type=submit] >> text=Apply")
    expect(row).to_be_visible()
    _shot(reviewer, "1-reviewer-inbox-overdue")

    admin.goto("/admin/mail")
    reminder = admin.locator("[data-testid=mail-row]", has_text="Reminder: Completeness check")
    expect(reminder).to_have_count(1)
    expect(reminder).to_contain_text("reviewer1")
    expect(admin.locator("[data-testid=mail-row]", has_text="Escalation:")).to_have_count(0)
    _shot(admin, "2-mail-catcher-reminder")

    _move_clock(admin, "2d")  # Saturday: the second period (four working days) has passed
    _worker(pmo_app)
    admin.goto("/admin/mail")
    escalation = admin.locator("[data-testid=mail-row]",
                               has_text="Escalation: Completeness check")
    expect(escalation).to_have_count(1)
    expect(escalation).to_contain_text("pmohead")
    _shot(admin, "3-mail-catcher-escalation")

    head = pmo_page("pmohead")
    head.goto("/notifications")
    expect(head.locator("main")).to_contain_text("Escalation: Completeness check")
    # Everything in the audit: the timers fired, whom they reminded and told.
    head.goto(f"/instances/{inst.id}")
    history = head.locator("main")
    expect(history).to_contain_text("Timer “At SLA” fired")
    expect(history).to_contain_text("Timer “2nd period” fired")
    expect(history).to_contain_text("SLA reached on Completeness check: reminded")
    expect(history).to_contain_text(
        "Completeness check overdue: escalated to PMO head (Chen Jing (PMO head))")
    _shot(head, "4-request-history")
    # The work was never stopped: the reviewer can still take the step.
    reviewer.goto(f"/tasks/{check.id}")
    expect(reviewer.locator("[data-testid=task-name]")).to_have_text("Check completeness")


def test_general_reminder_of_a_step_without_one_and_back_to_real_time(pmo_page, pmo_app):
    arrange = Arrange(pmo_app)
    with pmo_app.app_context():
        arrange.engine.mark_demo_install(db.session, "cli")
    inst = arrange.start("project_approval", "pm1", proposal(title="Badge readers", expected_roi_pct=18.5),
                         title="Badge readers")
    check = arrange.task(inst.id, "check")
    with pmo_app.app_context():
        arrange.engine.complete(db.session, check.id, "reviewer1",
                                {"decision": "rework", "comment": "Add the budget breakdown."})
    revise = arrange.task(inst.id, "revise")  # the PM's, P5D, no reminder in the diagram

    pm = pmo_page("pm1")
    pm.goto(f"/tasks/{revise.id}")
    waits = pm.locator("[data-testid=wait-next]")
    expect(waits.first).to_contain_text("SLA reached: whoever holds the step is reminded")
    _shot(pm, "5-task-general-reminder")

    admin = pmo_page("admin")
    _move_clock(admin, "8d")  # past five working days
    _worker(pmo_app)
    admin.goto("/admin/mail")
    expect(admin.locator("[data-testid=mail-row]",
                         has_text="Reminder: Revise proposal of 'Badge readers'")).to_have_count(1)
    _move_clock(admin, "1d")  # one working day later
    _worker(pmo_app)
    admin.goto("/admin/mail")
    expect(admin.locator("[data-testid=mail-row]",
                         has_text="Escalation: Revise proposal of 'Badge readers'")
           ).to_contain_text("pmohead")
    pm.goto(f"/instances/{inst.id}")
    expect(pm.locator("main")).to_contain_text("“Revise proposal” reached its SLA: reminded")
    expect(pm.locator("main")).to_contain_text("“Revise proposal” is overdue: escalated to")
    _shot(pm, "6-request-history-general")

    admin.goto("/admin/time")
    admin.click("[data-testid=reset-clock]")
    expect(admin.locator("[data-testid=clock-banner]")).to_have_count(0)
    _shot(admin, "7-admin-time-real-time")


def test_risk_and_escalation_pages_say_when_and_what_then(pmo_page, pmo_app):
    from tests.webui.test_deadline_pages import _risk_id
    from tests.webui.test_pmo_forms import escalation, project_id
    from workflows import records

    arrange = Arrange(pmo_app)
    data = {"project_id": project_id(pmo_app, "PRJ-2026-0001"), "title": "Karst cave",
            "description": "Found while drilling.", "category": "technical",
            "probability": 3, "impact": 4, "response": "mitigate", "contingency": "Move it.",
            "owner": "pm1", "urgent": True, "immediate_action": "Stopped drilling."}
    inst = arrange.start("risk_review", "pm1", data, title="Karst cave")
    risk_id = _risk_id(pmo_app, inst.id)
    esc = escalation(pmo_app, [project_id(pmo_app, "PRJ-2026-0002")])
    with pmo_app.app_context():
        found, _total = records.list_escalations(db.session, limit=50)
        esc_id = next(e.id for e in found if e.instance_id == esc)

    pm = pmo_page("pm1")
    pm.goto(f"/risks/{risk_id}")
    card = pm.locator("[data-testid=deadlines]")
    expect(card.locator("[data-testid=deadline-step]")).to_contain_text("Sponsor review")
    expect(card.locator("[data-testid=deadline-wait]")).to_contain_text("Window over")
    _shot(pm, "8-urgent-risk-deadlines")
    pm.goto(f"/escalations/{esc_id}")
    step = pm.locator("[data-testid=deadlines] [data-testid=deadline-step]")
    expect(step).to_contain_text("Triage escalation")
    expect(step).to_contain_text("SLA passed → Hand over to PMO head")
    _shot(pm, "9-escalation-deadlines")
