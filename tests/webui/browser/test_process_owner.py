"""The process owner's journey in Chromium: open the approval process in the modeler, add
a step, find it from the validation problem, connect it, deploy version 2 with a comment;
new requests run version 2 while a running one finishes on version 1, or is moved."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.webui.conftest import Arrange

CONFORMANCE = Path(__file__).resolve().parents[2] / "conformance" / "miwg-reference"
PROPOSAL = {"title": "Intranet search", "business_case": "b", "strategic_objective": "o",
            "category": "it", "budget": {"amount": "50000", "currency": "CNY"},
            "planned_start": "2026-04-01", "planned_end": "2026-12-31",
            "sponsor": "sponsor1", "expected_roi_pct": 5, "risk_rating": "low",
            "departments": ["IT"], "headcount": 2}


def _screen(page: Page, x: float, y: float) -> tuple[float, float]:
    """Where diagram point (x, y) is on the screen now."""
    return page.evaluate(
        """([x, y]) => {
             const canvas = window.pmoModeler.get('canvas');
             const vb = canvas.viewbox();
             const box = document.getElementById('modeler-canvas').getBoundingClientRect();
             return [box.left + (x - vb.x) * vb.scale, box.top + (y - vb.y) * vb.scale];
           }""", [x, y])


def _look_at(page: Page, x: float, y: float) -> None:
    """Zoom to 80 % centred on diagram point (x, y), as the owner would with the wheel."""
    page.evaluate(
        """([x, y]) => {
             const canvas = window.pmoModeler.get('canvas');
             const outer = canvas.viewbox().outer;
             const w = outer.width / 0.8, h = outer.height / 0.8;
             canvas.viewbox({x: x - w / 2, y: y - h / 2, width: w, height: h});
           }""", [x, y])


def _center(page: Page, element_id: str, along: float = 0.5) -> tuple[float, float]:
    """The screen point of an element's centre (a flow: ``along`` its first leg)."""
    x, y = page.evaluate(
        """([id, t]) => {
             const el = window.pmoModeler.get('elementRegistry').get(id);
             if (el.waypoints) {
               const [a, b] = el.waypoints;
               return [a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t];
             }
             return [el.x + el.width / 2, el.y + el.height / 2];
           }""", [element_id, along])
    return _screen(page, x, y)


def open_in_modeler(owner: Page) -> None:
    owner.goto("/")
    owner.click("[data-testid=nav-library]")
    owner.click("[data-testid=library-link-project_approval]")
    owner.click("[data-testid=edit-version]")
    expect(owner.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")


def add_unconnected_step(owner: Page, at: tuple[float, float]) -> str:
    """Draw a task from the palette at diagram point ``at``; validation names it; clicking
    the problem selects it. Returns its id."""
    _look_at(owner, *at)
    owner.click(".djs-palette [data-action='create.task']")
    x, y = _screen(owner, *at)
    owner.mouse.move(x - 5, y - 5)
    owner.mouse.move(x, y)
    owner.mouse.click(x, y)
    owner.click("[data-testid=validate]")
    problem = owner.locator("[data-testid=problem][data-element^='Activity_']").first
    expect(problem).to_contain_text("reached")  # "can never be reached": no incoming flow
    expect(owner.locator("[data-testid=deploy]")).to_be_disabled()
    new_id = problem.get_attribute("data-element")
    owner.click("body")  # nothing selected
    problem.click()
    expect(owner.locator(f".djs-element.selected[data-element-id='{new_id}']")).to_have_count(1)
    expect(owner.locator("[data-testid=prop-id]")).to_have_value(new_id)
    return new_id


def connect_onto(owner: Page, new_id: str, flow_id: str, name: str, along: float = 0.5
                 ) -> None:
    """Name the step in the properties panel and drop it onto a flow (which splits) at
    ``along`` its first leg (clear of the flow's label)."""
    owner.fill("[data-testid=prop-name]", name)
    owner.press("[data-testid=prop-name]", "Tab")
    xy = owner.evaluate(
        """([a, b]) => {
             const reg = window.pmoModeler.get('elementRegistry');
             const s = reg.get(a), f = reg.get(b);
             return [(s.x + s.width / 2 + f.waypoints[0].x) / 2,
                     (s.y + s.height / 2 + f.waypoints[0].y) / 2];
           }""", [new_id, flow_id])
    _look_at(owner, *xy)  # the owner zooms to see both the step and the flow
    sx, sy = _center(owner, new_id)
    tx, ty = _center(owner, flow_id, along)
    owner.mouse.move(sx, sy)
    owner.mouse.down()
    for i in range(1, 11):
        owner.mouse.move(sx + (tx - sx) * i / 10, sy + (ty - sy) * i / 10)
    owner.mouse.up()
    owner.click("[data-testid=validate]")
    expect(owner.locator("[data-testid=problems-none]")).to_be_visible()


def deploy(owner: Page, comment: str, *, move: bool = False) -> None:
    owner.fill("[data-testid=deploy-comment]", comment)
    if move:
        owner.check("[data-testid=running-move]")
    owner.click("[data-testid=deploy]")


def test_owner_adds_a_step_and_new_requests_run_version_2(pmo_page, pmo_app):
    arrange = Arrange(pmo_app)
    old = arrange.start("project_approval", "pm1", PROPOSAL, title=PROPOSAL["title"])
    owner = pmo_page("owner1")
    open_in_modeler(owner)
    new_id = add_unconnected_step(owner, (250, 250))  # in the PM's lane, beside the start
    connect_onto(owner, new_id, "Flow_start_record_proposal", "Legal check")
    deploy(owner, "Legal checks every proposal first")
    expect(owner.locator("[data-testid=deployed-link]")).to_have_text("project_approval v2")

    owner.click("[data-testid=deployed-link]")
    expect(owner.locator("[data-testid=comment-2]")).to_have_text(
        "Legal checks every proposal first")
    expect(owner.locator("[data-testid=version-2]")).to_contain_text("owner1")
    expect(owner.locator("[data-testid=running-1]")).to_have_text("1")
    expect(owner.locator(f"[data-testid=stays-{old.id}]")).to_have_count(0)  # it could move

    new = arrange.start("project_approval", "pm2", {**PROPOSAL, "title": "Wiki"}, title="Wiki")
    assert new.definition_version == 2
    assert [t.element_id for t in arrange.tasks(new.id, "open")] == [new_id]
    assert [t.name for t in arrange.tasks(new.id, "open")] == ["Legal check"]
    # The running one finishes on version 1, without the new step.
    check = arrange.task(old.id, "check")
    done = arrange.complete(check.id, "reviewer1", {"decision": "reject", "comment": "No."})
    assert done.status == "completed" and done.definition_version == 1

    owner.goto("/library/project_approval/diff?from=1&to=2")
    expect(owner.locator(f"[data-testid=diff-added-{new_id}]")).to_contain_text("Legal check")
    expect(owner.locator("[data-testid=diff-changed-Flow_start_record_proposal]")).to_contain_text(
        "target")
    expect(owner.locator("[data-testid=diagram-new]")).to_have_attribute("data-ready", "true")
    expect(owner.locator(f"[data-testid=diagram-new] [data-element-id='{new_id}']")).to_have_class(
        re.compile("diff-added"))


def test_a_running_request_is_moved_to_version_2(pmo_page, pmo_app):
    arrange = Arrange(pmo_app)
    waiting = arrange.start("project_approval", "pm1", PROPOSAL, title=PROPOSAL["title"])
    owner = pmo_page("owner1")
    open_in_modeler(owner)
    # A step after the routing rules, beyond the completeness check the request waits at.
    new_id = add_unconnected_step(owner, (1320, 380))
    connect_onto(owner, new_id, "Flow_route_record_routing", "Brief the sponsor")
    deploy(owner, "Sponsors are briefed before the reviews", move=True)

    expect(owner).to_have_url(re.compile(r"/library/project_approval\?v=2#running-work"))
    owner.check(f"[data-testid=move-{waiting.id}]")
    owner.fill("[data-testid=move-reason]", "Sponsors must be briefed on these too")
    owner.click("[data-testid=move-submit]")
    expect(owner.locator("[data-testid=flash]").first).to_contain_text(f"#{waiting.id}")
    expect(owner.locator("[data-testid=running-2]")).to_have_text("1")
    expect(owner.locator("[data-testid=no-candidates]")).to_be_visible()

    check = arrange.task(waiting.id, "check")
    moved = arrange.complete(check.id, "reviewer1", {
        "decision": "accept", "comment": "OK", "charter_complete": True,
        "plan_attached": True, "budget_broken_down": True})
    assert moved.definition_version == 2 and moved.status == "running"
    assert [t.element_id for t in arrange.tasks(waiting.id, "open")] == [new_id]
    pm = pmo_page("pm1")
    pm.goto(f"/instances/{waiting.id}")
    expect(pm.locator(".eyebrow").first).to_contain_text("v2")
    expect(pm.locator("[data-testid=history]")).to_contain_text("version 2")


def test_a_diagram_drawn_elsewhere_opens_validates_and_is_kept_as_a_draft(pmo_page):
    owner = pmo_page("owner1")
    owner.goto("/modeler")
    expect(owner.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    owner.set_input_files("[data-testid=upload]", str(CONFORMANCE / "C.1.0.bpmn"))
    expect(owner.locator(".djs-element[data-element-id]").nth(5)).to_be_attached()
    owner.click("[data-testid=validate]")
    expect(owner.locator("[data-testid=problem]").first).to_be_visible()
    expect(owner.locator("[data-testid=deploy]")).to_be_disabled()
    owner.click("[data-testid=save-draft]")
    expect(owner.locator("[data-testid=modeler-status]")).not_to_have_text("")
    expect(owner).to_have_url(re.compile(r"/modeler\?draft=\d+"))
    owner.reload()
    expect(owner.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    expect(owner.locator("[data-testid=drafts] li")).to_have_count(1)
    owner.locator("[data-testid^=delete-draft-]").click()
    expect(owner.locator("[data-testid=drafts] li")).to_have_count(0)
    owner.goto("/modeler")
    expect(owner.locator("[data-testid=drafts]")).to_have_count(0)
