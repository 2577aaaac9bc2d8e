"""Accessibility: axe-core (vendored, webui/static/vendor/axe-core/) on the main pages, and
a task completed with the keyboard alone (issue 13, the accessibility pass).

axe is loaded from the app's own static folder (the pages' CSP allows only same-origin
scripts); a serious or critical finding fails the test with its rule, help and elements.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.webui.browser.test_small_screens import shot
from tests.webui.test_instances import PROPOSAL
from tests.webui.test_portfolio import seed_records

AXE = "/static/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")


def axe_findings(page: Page) -> list[str]:
    """The serious and critical axe findings on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') +
                           ((n.any[0] && n.any[0].data && n.any[0].data.contrastRatio)
                             ? ` (${n.any[0].data.fgColor} on ${n.any[0].data.bgColor}:`
                               + ` ${n.any[0].data.contrastRatio})` : ''))}))""")
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in violations
            if v["impact"] in BLOCKING]


def check(page: Page, path: str, ready: str) -> list[str]:
    page.goto(path)
    page.wait_for_selector(ready, state="attached")
    shot(page, "a11y" + path.replace("/", "-").replace("?", "-").replace("=", "-"))
    return [f"{path}: {f}" for f in axe_findings(page)]


def test_main_pages_have_no_serious_accessibility_findings(new_page, app, arrange, web_clock):
    w = seed_records(app, web_clock)
    inst = arrange.start("widgets", data=PROPOSAL, project_id=w.crm)
    task = arrange.task(inst.id)
    anonymous = new_page()
    findings = check(anonymous, "/login", "[data-testid=sign-in]")

    reviewer = new_page("reviewer1")
    findings += check(reviewer, "/tasks?tab=claimable", "[data-testid=task-row]")
    findings += check(reviewer, f"/tasks/{task.id}", "[data-testid=task-form]")
    findings += check(reviewer, f"/instances/{inst.id}", "[data-testid=cycle-times]")
    reviewer.get_by_role("button", name="中文").click()  # the same pages in Chinese
    expect(reviewer.locator("html")).to_have_attribute("lang", "zh-CN")
    findings += check(reviewer, "/tasks?tab=claimable", "[data-testid=task-row]")
    findings += check(reviewer, f"/tasks/{task.id}", "[data-testid=task-form]")
    pm = new_page("pm1")
    findings += check(pm, "/", "[data-testid=stat-mine]")
    findings += check(pm, "/processes/widgets/start", "form [data-testid=submit]")
    findings += check(pm, f"/projects/{w.crm}", "[data-testid=project-title]")
    owner = new_page("owner1")
    findings += check(owner, "/library", "h1")
    assert findings == [], "\n".join(findings)


def test_a_task_is_completed_with_the_keyboard_alone(new_page, arrange):
    inst = arrange.start(title="Tower upgrade")
    page = new_page()
    page.goto("/login")  # the username field has the focus: type, Tab, type, Enter
    page.keyboard.type("reviewer1")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=whoami]")).to_be_attached()
    page.goto("/tasks?tab=claimable")
    page.wait_for_selector("[data-testid=task-row]")

    def tab_to(selector: str, limit: int = 80) -> None:
        """Press Tab until the element ``selector`` has the focus."""
        target = page.locator(selector).first
        for _ in range(limit):
            if target.evaluate("e => e === document.activeElement"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    page.locator("body").focus()
    tab_to("[data-testid=task-row] [data-testid=claim]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=task-name]")).to_have_text("Check completeness")
    tab_to("input[name=decision][value=accept]")
    page.keyboard.press("Space")
    expect(page.locator("input[name=decision][value=accept]")).to_be_checked()
    tab_to("[data-testid=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=flash]")).to_contain_text("Done: “Check completeness”")
    done = next(t for t in arrange.tasks(inst.id) if t.element_id == "review")
    assert (done.status, done.completed_by, done.outcome) == ("completed", "reviewer1", "accept")
