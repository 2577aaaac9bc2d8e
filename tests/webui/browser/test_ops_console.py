"""The PMO administrator in Chromium: finds a request with an incident in the ops
console, sees the error and where it happened, retries it, then moves its token to
another step with a reason (screenshots in the test's output folder)."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import update

from engine.store.models import HumanTask
from tests.webui.browser.conftest import sign_in
from webui.extensions import db


def test_admin_retries_an_incident_and_moves_a_token(page, app, arrange, tmp_path):
    iid = arrange.start().id
    review = arrange.task(iid, "review")
    with app.app_context():  # the inbox loses the task: the doctor records an incident
        db.session.execute(update(HumanTask).where(HumanTask.id == review.id)
                           .values(status="completed", completed_by="nobody"))
        db.session.commit()
        arrange.engine.doctor(db.session)

    sign_in(page, "admin")
    page.click("[data-testid=nav-pmo]")
    page.click("[data-testid=nav-ops]")
    expect(page.locator("h1")).to_have_text("Operations")
    page.click("[data-testid=tab-incident]")
    page.screenshot(path=str(tmp_path / "ops_list.png"), full_page=True)
    row = page.locator("[data-testid=ops-row]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-testid=incident-badge]")).to_have_text("1")
    row.locator("a").first.click()

    incident = page.locator("[data-testid=incident]")
    expect(incident).to_have_count(1)
    expect(incident.locator("[data-testid=incident-where]")).to_contain_text(
        "Check completeness")
    expect(incident.locator("[data-testid=incident-where]")).to_contain_text("review")
    expect(incident.locator("[data-testid=incident-error]")).to_contain_text(
        "waits for a person but has no open task")
    page.screenshot(path=str(tmp_path / "ops_incident.png"), full_page=True)

    page.fill("#retry-reason", "the inbox lost the review")
    page.click("[data-testid=retry]")
    expect(page.locator("[data-testid=flash]")).to_contain_text("Retried")
    expect(page.locator("[data-testid=incident]")).to_have_count(0)
    expect(page.locator("[data-testid=token]")).to_have_attribute("data-element", "review")

    page.select_option("#move-from", "review")
    page.click("[data-testid=move-submit]")  # no target, no reason: named, nothing moves
    expect(page.locator("[data-testid=error-move-to_element]")).to_be_visible()
    page.select_option("#move-to", "approve")
    page.fill("#move-reason", "checked by phone with the PM")
    page.click("[data-testid=move-submit]")
    expect(page.locator("[data-testid=flash]")).to_contain_text("The token was moved")
    expect(page.locator("[data-testid=token]")).to_have_attribute("data-element", "approve")
    expect(page.locator("[data-testid=ops-history]")).to_contain_text(
        "checked by phone with the PM")
    page.screenshot(path=str(tmp_path / "ops_moved.png"), full_page=True)
    assert [t.element_id for t in arrange.tasks(iid, "open")] == ["approve"]
    print(f"screenshots: {tmp_path}")
