"""The diagram as people see it: fitted to its frame, zoom buttons, lanes named by role."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from webui.extensions import db

#: The viewport's scale (the ``a`` of its transform matrix) and how much of the frame the
#: drawing fills, width and height.
MEASURE = """(box) => {
  const viewport = box.querySelector('svg g.viewport');
  const scale = viewport.transform.baseVal.consolidate().matrix.a;
  const frame = box.getBoundingClientRect();
  const drawn = viewport.getBoundingClientRect();
  return {scale, fillW: drawn.width / frame.width, fillH: drawn.height / frame.height,
          inside: drawn.left >= frame.left - 2 && drawn.right <= frame.right + 2
                  && drawn.top >= frame.top - 2 && drawn.bottom <= frame.bottom + 2};
}"""


def measure(page) -> dict:
    return page.locator("[data-diagram]").evaluate(MEASURE)


def lane_text(page, lane_id: str):
    return page.locator(f".djs-element[data-element-id={lane_id}] text").first


def test_instance_diagram_is_fitted_and_zooms_with_buttons(new_page, arrange):
    inst = arrange.start(title="Fit me")
    pm = new_page("pm1")
    pm.goto(f"/instances/{inst.id}")
    pm.wait_for_selector("[data-diagram][data-ready=true]")
    fitted = measure(pm)
    # Fitted: the whole drawing is inside the frame and fills it in one direction.
    assert fitted["inside"], fitted
    assert max(fitted["fillW"], fitted["fillH"]) > 0.85, fitted
    # Readable: the frame takes the page's width and the diagram's proportions.
    assert fitted["scale"] >= 0.8, fitted
    zoom_in = pm.get_by_role("button", name="Zoom in")
    zoom_out = pm.get_by_role("button", name="Zoom out")
    fit = pm.get_by_role("button", name="Fit the diagram to the frame")
    zoom_in.click()
    bigger = measure(pm)["scale"]
    assert bigger == _approx(fitted["scale"] * 1.25), (bigger, fitted)
    zoom_out.click()
    zoom_out.click()
    smaller = measure(pm)["scale"]
    assert smaller < fitted["scale"] * 0.85, (smaller, fitted)
    zoom_in.click()
    zoom_in.click()
    fit.click()
    assert measure(pm)["scale"] == _approx(fitted["scale"])
    # Lanes carry the role's name, not its key.
    expect(lane_text(pm, "Lane_rev")).to_have_text("PMO reviewer")
    expect(lane_text(pm, "Lane_pm")).to_have_text("Project manager")
    expect(pm.locator("[data-diagram]")).not_to_contain_text("pmo_reviewer")


def test_task_diagram_lanes_in_chinese(new_page, arrange, app):
    inst = arrange.start(title="Lanes in Chinese")
    task = arrange.task(inst.id)
    with app.app_context():
        arrange.engine.set_locale(db.session, "reviewer1", "zh")
    reviewer = new_page("reviewer1")
    reviewer.goto(f"/tasks/{task.id}")
    reviewer.wait_for_selector("[data-diagram][data-ready=true]")
    expect(lane_text(reviewer, "Lane_rev")).to_have_text("PMO 审核员")
    expect(reviewer.locator("[data-diagram]")).not_to_contain_text("pmo_reviewer")
    expect(reviewer.locator(".djs-element[data-element-id=review]")).to_have_class(
        re.compile("pmo-focus"))
    shown = measure(reviewer)
    assert shown["inside"] and shown["scale"] >= 0.8, shown
    expect(reviewer.get_by_role("button", name="放大")).to_be_visible()


def _approx(value: float):
    import pytest

    return pytest.approx(value, rel=0.03)
