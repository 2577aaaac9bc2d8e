"""A PMO admin lowers the finance threshold of the approval routing from 100k to 50k in
the browser: edits a draft in the dmn-js table editor, uses the test panel, runs the
what-if over proposals made for the test, publishes with a comment, and the next 60k
proposal goes to finance.  Everyone else is refused the rules pages."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from webui.extensions import db

KEY = "approval_routing"
ACCEPT = {"decision": "accept", "charter_complete": True, "plan_attached": True,
          "budget_broken_down": True}
#: Budgets of the proposals made for the what-if: 8 between 50k and 100k change.
BELOW = ["12000.00", "30000.00", "45000.00", "49999.99"] * 2
BETWEEN = ["50000.00", "60000.00", "75000.00", "99999.99"] * 2
ABOVE = ["100000.00", "250000.00", "500000.00", "900000.00"] * 2


def _proposal(amount: str, title: str) -> dict:
    return {
        "title": title, "business_case": "Needed for the test.",
        "strategic_objective": "Customer retention", "category": "it",
        "budget": {"amount": amount, "currency": "CNY"}, "planned_start": "2026-04-01",
        "planned_end": "2026-12-31", "sponsor": "sponsor1", "expected_roi_pct": 18.5,
        "risk_rating": "low", "departments": ["IT"], "headcount": 3,
    }


def propose_and_check(app: Flask, amount: str, title: str) -> int:
    """A proposal by pm1 that reviewer1 found complete (so the routing table ran)."""
    with app.app_context():
        engine = app.extensions["pmoflow"].engine
        inst = engine.start(db.session, "project_approval", "pm1", _proposal(amount, title),
                            title=title)
        tasks, _ = engine.tasks(db.session, None, _query(inst.id))
        check = next(t for t in tasks if t.element_id == "check")
        engine.complete(db.session, check.id, "reviewer1", ACCEPT)
        return inst.id


def _query(instance_id: int):
    from engine.api import TaskQuery

    return TaskQuery(scope="all", instance_id=instance_id, limit=50)


def open_steps(app: Flask, instance_id: int) -> list[str]:
    with app.app_context():
        engine = app.extensions["pmoflow"].engine
        tasks, _ = engine.tasks(db.session, None, _query(instance_id))
        return sorted(t.element_id for t in tasks)


def recorded_before(app: Flask) -> int:
    """Instances that used the table before the test made any (the demo data's)."""
    with app.app_context():
        engine = app.extensions["pmoflow"].engine
        return engine.decision_what_if(db.session, KEY, "admin",
                                       engine.decision_table(db.session, KEY, "admin").source
                                       ).checked


def edit_cell(page: Page, old: str, new: str) -> None:
    """Click a table cell in the dmn-js editor and type its new text."""
    cell = page.locator("#dmn-editor td").filter(has_text=old).locator("[contenteditable]")
    expect(cell).to_have_count(1)
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(new)
    expect(page.locator("#dmn-editor td").filter(has_text=new)).to_have_count(1)


def test_admin_lowers_the_finance_threshold_with_test_what_if_and_publish(pmo_app, pmo_page):
    before = recorded_before(pmo_app)
    made = {}
    for group, amounts in (("below", BELOW), ("between", BETWEEN), ("above", ABOVE)):
        for n, amount in enumerate(amounts):
            made[propose_and_check(pmo_app, amount, f"WI {group} {n} {amount}")] = group
    assert len(made) == 24
    assert all(("review_finance" in open_steps(pmo_app, i)) == (g == "above")
               for i, g in list(made.items())[::5])

    admin = pmo_page("admin")
    admin.click("[data-testid=nav-rules]")
    expect(admin.locator("h1")).to_have_text("Rules")
    admin.locator(f"[data-key={KEY}] a").click()
    expect(admin.locator("#dmn-editor")).to_have_attribute("data-ready", "true")
    edit_cell(admin, ">= 100000", ">= 50000")

    # test panel: the published table and the edited draft on the same 60k proposal
    admin.fill("#in-Input_budget", "60000")
    admin.fill("#in-Input_category", "it")
    admin.fill("#in-Input_risk", '"low"')  # as the cells write it
    admin.select_option("#in-Input_multi", "false")
    admin.click("[data-testid=run-test]")
    published = admin.locator("[data-testid=test-published]")
    draft = admin.locator("[data-testid=test-draft]")
    expect(published.locator("[data-testid=matched-rows]")).to_have_text("Matched rows: 1")
    expect(draft.locator("[data-testid=matched-rows]")).to_have_text("Matched rows: 1, 3")
    expect(published.locator("[data-output='approvers.role']")).to_have_text("pmo_head")
    expect(draft.locator("[data-output='approvers.role']")).to_have_text("pmo_head, finance")
    # the page kept the edited draft in the editor (not yet saved)
    expect(admin.locator("#dmn-editor td").filter(has_text=">= 50000")).to_have_count(1)

    # what-if over every past proposal: exactly the 8 between 50k and 100k change
    admin.click("[data-testid=run-what-if]")
    result = admin.locator("[data-testid=what-if-result]")
    expect(result).to_have_attribute("data-checked", str(before + 24))
    expect(result).to_have_attribute("data-changed", "8")
    expect(result).to_contain_text(f"{before + 24} past requests checked: 8 would have been "
                                   "decided differently.")
    expect(admin.locator("[data-testid=what-if-summary] li").first).to_have_text(
        "8 would also have had Approver role “finance”")
    changed_links = admin.locator("[data-testid=what-if-changed] a")
    expect(changed_links).to_have_count(8)
    hrefs = {int(h.rsplit("/", 1)[-1]) for h in
             changed_links.evaluate_all("els => els.map(e => e.getAttribute('href'))")}
    assert hrefs == {i for i, g in made.items() if g == "between"}

    # publishing needs a comment; with one, version 2 is in effect and version 1 retired
    admin.fill("#publish-comment", "Finance reviews from 50k CNY (audit finding 2026-07)")
    admin.click("[data-testid=publish]")
    expect(admin.locator("[data-testid=flash]")).to_contain_text("Version 2 published")
    versions = admin.locator("[data-testid=versions]")
    expect(versions.locator("tr[data-version='2']")).to_contain_text("In effect")
    expect(versions.locator("tr[data-version='2']")).to_contain_text("audit finding 2026-07")
    expect(versions.locator("tr[data-version='1']")).to_contain_text("Retired")

    # the next 60k proposal goes to finance; one made before keeps its version
    nxt = propose_and_check(pmo_app, "60000.00", "After the rule change 60k")
    assert "review_finance" in open_steps(pmo_app, nxt)
    earlier = next(i for i, g in made.items() if g == "between")
    assert "review_finance" not in open_steps(pmo_app, earlier)
    finance = pmo_page("finance1")
    finance.goto("/tasks?tab=claimable")
    expect(finance.locator("[data-testid=task-row]", has_text="After the rule change 60k")
           ).to_contain_text("Finance review")


def test_the_rules_pages_are_for_pmo_admins_only(pmo_page):
    pm = pmo_page("pm1")
    expect(pm.locator("[data-testid=nav-rules]")).to_have_count(0)
    response = pm.goto(f"/rules/{KEY}")
    assert response is not None and response.status == 403
    assert pm.goto("/rules").status == 403
