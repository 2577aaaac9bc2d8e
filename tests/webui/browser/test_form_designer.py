"""The form designer in Chromium: a process owner designs a form with money, a date with a
range (today .. today+90d), a choice, a person and repeating rows; the preview (the task
page's own renderer) lists the real people and refuses a date outside the range in
Chinese; the owner saves it, gives it to a new step in the modeler, deploys, and a PM
completes that step with the new form."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.webui.browser.pmo_conftest import submit_task
from tests.webui.browser.test_process_owner import (
    PROPOSAL,
    add_unconnected_step,
    connect_onto,
    deploy,
    open_in_modeler,
)
from tests.webui.conftest import Arrange
from webui.extensions import db

FORM = "legal_check.schema.json"
SHOTS = os.environ.get("PMOFLOW_SCREENSHOTS")  # a folder: keep screenshots for the README


def add_field(owner: Page, kind: str, key: str, label: str, label_zh: str,
              under: str | None = None) -> str:
    """Add a field of ``kind`` (at the top or into the rows/group ``under``), give it its
    key and labels; returns its path as the designer names it."""
    where = "field_1"
    if under is None:
        owner.select_option("[data-testid=add-kind]", kind)
        owner.click("[data-testid=add-field]")
        where = f"field_{owner.locator('#fd-fields > .fd-field').count()}"
    else:
        owner.select_option(f"[data-testid='add-kind-{under}']", kind)
        owner.click(f"[data-testid='add-{under}']")
        where = f"{under}.field_1"
    owner.fill(f"[data-testid='key-{where}']", key)
    owner.press(f"[data-testid='key-{where}']", "Tab")
    path = f"{under}.{key}" if under else key
    owner.fill(f"[data-testid='label-{path}']", label)
    owner.press(f"[data-testid='label-{path}']", "Tab")
    owner.fill(f"[data-testid='label-zh-{path}']", label_zh)
    owner.press(f"[data-testid='label-zh-{path}']", "Tab")
    return path


def designer_ready(owner: Page) -> None:
    """Wait for the designer's script to have run: a field typed in before it would be
    taken by the page, but a button clicked before it has no listener yet."""
    expect(owner.locator("[data-testid=form-designer]")).to_have_attribute("data-ready", "true")


def design_form(owner: Page) -> None:
    owner.goto("/library")
    owner.click("[data-testid=open-forms]")
    owner.fill("[data-testid=new-form-name]", FORM)
    owner.click("[data-testid=new-form]")
    expect(owner.locator("[data-testid=form-name]")).to_have_text(FORM)
    designer_ready(owner)
    owner.fill("[data-testid=form-title]", "Legal check")
    owner.fill("[data-testid=form-title-zh]", "法务审核")
    owner.press("[data-testid=form-title-zh]", "Tab")
    add_field(owner, "money", "fee", "Legal fee", "律师费")
    add_field(owner, "date", "sign_by", "Sign by", "签署截止日期")
    owner.check("[data-testid='required-sign_by']")
    owner.fill("[data-testid='earliest-sign_by']", "today")
    owner.press("[data-testid='earliest-sign_by']", "Tab")
    owner.fill("[data-testid='latest-sign_by']", "today+90d")
    owner.press("[data-testid='latest-sign_by']", "Tab")
    add_field(owner, "radio", "verdict", "Verdict", "结论")
    owner.fill("[data-testid='choices-verdict']", "ok | Cleared | 通过\nblock | Blocked | 不通过")
    owner.press("[data-testid='choices-verdict']", "Tab")
    owner.check("[data-testid='required-verdict']")
    add_field(owner, "user", "counsel", "Counsel", "法务顾问")
    add_field(owner, "rows", "clauses", "Clauses to watch", "需关注的条款")
    add_field(owner, "text", "clause", "Clause", "条款", under="clauses")
    preview = owner.locator("[data-testid=preview]")
    expect(preview.locator("[data-testid=preview-title]")).to_have_text("Legal check")
    expect(preview.locator("[name='fee.amount']")).to_be_visible()
    expect(preview.locator("[name='clauses.0.clause']")).to_be_attached()


def preview_refuses_a_date_outside_its_range_in_chinese(owner: Page, today: date) -> None:
    owner.click("label[for=fd-lang-zh]")
    preview = owner.locator("[data-testid=preview]")
    expect(preview.locator("[data-testid=preview-title]")).to_have_text("法务审核")
    expect(preview).to_contain_text("签署截止日期")
    expect(preview).to_contain_text("不通过")
    picker = preview.locator("[name=sign_by]")
    expect(picker).to_have_attribute("min", today.isoformat())
    expect(picker).to_have_attribute("max", (today + timedelta(days=90)).isoformat())
    # the person picker lists the real people (it listed nobody before)
    expect(preview.locator("[name=counsel] option[value=pm2]")).to_have_count(1)
    picker.fill((today - timedelta(days=1)).isoformat())  # typed: the picker's min is a hint
    preview.locator("[name=verdict][value=ok]").check()
    owner.click("[data-testid=preview-check]")
    expect(preview.locator("[data-error-for=sign_by]")).to_have_text(
        f"不得早于 {today.isoformat()}。")
    expect(preview.locator("[data-error-for=verdict]")).to_have_count(0)
    if SHOTS:
        owner.screenshot(path=os.path.join(SHOTS, "form-designer.png"), full_page=True,
                         clip={"x": 0, "y": 0, "width": 1280, "height": 1260})
    owner.click("label[for=fd-lang-en]")
    expect(preview.locator("[data-testid=preview-title]")).to_have_text("Legal check")


def test_owner_designs_a_form_binds_it_to_a_new_step_and_a_pm_completes_it(pmo_page, pmo_app):
    arrange = Arrange(pmo_app)
    owner = pmo_page("owner1")
    with pmo_app.app_context():
        today = arrange.engine.today()
    design_form(owner)
    preview_refuses_a_date_outside_its_range_in_chinese(owner, today)
    owner.click("[data-testid=save-form]")
    expect(owner.locator("[data-testid=form-status]")).to_contain_text("Form saved")
    expect(owner.locator("[data-testid=form-problems] li")).to_have_count(0)

    owner.goto("/forms")
    expect(owner.locator(f"[data-testid='form-{FORM}']")).to_be_visible()
    expect(owner.locator("[data-testid=forms] tr", has_text=FORM)).to_contain_text(
        "saved, not deployed yet")

    open_in_modeler(owner)
    new_id = add_unconnected_step(owner, (250, 250))
    expect(owner.locator("[data-testid=new-form]")).to_have_attribute(
        "href", f"/forms/project_approval-{new_id}.schema.json")
    expect(owner.locator("[data-testid=edit-form]")).to_be_hidden()
    owner.fill("[data-testid=prop-form]", FORM)
    owner.press("[data-testid=prop-form]", "Tab")
    expect(owner.locator("[data-testid=edit-form]")).to_have_attribute("href", f"/forms/{FORM}")
    connect_onto(owner, new_id, "Flow_start_record_proposal", "Legal check")
    deploy(owner, "Legal checks every proposal first, with its own form")
    expect(owner.locator("[data-testid=deployed-link]")).to_have_text("project_approval v2")

    started = arrange.start("project_approval", "pm2", PROPOSAL, title=PROPOSAL["title"])
    task = arrange.task(started.id, new_id)
    pm = pmo_page("pm2")
    pm.goto(f"/tasks/{task.id}")
    if pm.locator("[data-testid=claim]").count():
        pm.click("[data-testid=claim]")
    pm.fill("[name='fee.amount']", "1200.50")
    sign_by = (today + timedelta(days=7)).isoformat()
    expect(pm.locator("[name=sign_by]")).to_have_attribute("min", today.isoformat())
    pm.fill("[name=sign_by]", sign_by)
    pm.check("[name=verdict][value=ok]")
    pm.select_option("[name=counsel]", "sponsor1")
    pm.fill("[name='clauses.0.clause']", "Liability cap")
    submit_task(pm, "Legal check")
    done = [t for t in arrange.tasks(started.id) if t.element_id == new_id]
    assert [t.status for t in done] == ["completed"]
    with pmo_app.app_context():
        data = arrange.engine.instance_and_task_data(db.session, started.id, None).data
    assert data["fee"] == {"amount": "1200.50", "currency": "CNY"}
    assert data["sign_by"] == sign_by and data["verdict"] == "ok"
    assert data["counsel"] == "sponsor1"
    assert data["clauses"] == [{"clause": "Liability cap"}]
    with pmo_app.app_context():  # version 2 froze the form as designed
        frozen = arrange.engine.form(db.session, "owner1", FORM).deployed_in
    assert frozen == ("project_approval v2",)


SHIPPED = sorted((Path(__file__).resolve().parents[3] / "bpmn" / "forms").glob("*.json"))


def test_every_shipped_form_opens_in_the_designer_and_saves_back_unchanged(pmo_page, pmo_app):
    owner = pmo_page("owner1")
    for path in SHIPPED:
        owner.goto(f"/forms/{path.name}")
        expect(owner.locator("#fd-fields > .fd-field").first).to_be_visible()
        expect(owner.locator("[data-testid=preview-title]")).not_to_have_text("")
        owner.click("[data-testid=save-form]")
        expect(owner.locator("[data-testid=form-status]")).to_contain_text("Form saved")
        shipped = json.loads(path.read_text(encoding="utf-8"))
        with pmo_app.app_context():
            saved = Arrange(pmo_app).engine.form(db.session, "owner1", path.name)
        assert saved.draft and saved.schema == shipped, path.name
        assert list(saved.schema["properties"]) == list(shipped["properties"]), path.name


#: Fire "change" on every control of the field panels (as if the owner had gone through
#: each and confirmed its value), except the kind (changing the kind starts the field
#: afresh); the panels are redrawn on some changes, so controls are found again by index.
TOUCH_EVERY_CONTROL = """() => {
  const controls = () => document.querySelectorAll(
    '#fd-fields input, #fd-fields select, #fd-fields textarea');
  const before = controls().length;
  let touched = 0;
  for (let i = 0; i < before; i++) {
    const c = controls()[i];
    if (!c || (c.dataset.testid || '').match(/^(kind|add-kind)-/)) { continue; }
    c.dispatchEvent(new Event('change'));
    touched += 1;
  }
  return [before, controls().length, touched];
}"""


def test_every_shipped_form_means_the_same_after_every_control_is_confirmed(pmo_page, pmo_app):
    """Going through every field panel keeps a shipped form as written: required-when rules
    testing several values stay an enum (not the text "reject, changes"), number choices
    stay numbers, a money field without a currency list gets none, choices taken from
    another field get no empty list, a rule the designer does not edit (a minimum) is kept."""
    owner = pmo_page("owner1")
    changed = {}
    for path in SHIPPED:
        owner.goto(f"/forms/{path.name}")
        expect(owner.locator("#fd-fields > .fd-field").first).to_be_visible()
        before, after, touched = owner.evaluate(TOUCH_EVERY_CONTROL)
        assert before == after and touched > 0, path.name
        owner.click("[data-testid=save-form]")
        expect(owner.locator("[data-testid=form-status]")).to_contain_text("Form saved")
        shipped = json.loads(path.read_text(encoding="utf-8"))
        with pmo_app.app_context():
            saved = Arrange(pmo_app).engine.form(db.session, "owner1", path.name).schema
        if saved != shipped:
            changed[path.name] = saved
    assert changed == {}


def test_a_title_typed_before_the_designer_script_ran_is_kept(pmo_page, pmo_app):
    """On a slow line the owner can type the form's title before the designer's script has
    arrived: the script takes that title instead of resetting it to the page's."""
    owner = pmo_page("owner1")
    held = []
    owner.route("**/js/form_designer.js", lambda route: held.append(route))
    owner.goto("/forms/slow_line.schema.json", wait_until="commit")
    owner.fill("[data-testid=form-title]", "Typed early")
    assert len(held) == 1
    held[0].continue_()
    designer_ready(owner)
    expect(owner.locator("[data-testid=form-title]")).to_have_value("Typed early")
    add_field(owner, "text", "note", "Note", "备注")
    expect(owner.locator("[data-testid=preview-title]")).to_have_text("Typed early")
    owner.click("[data-testid=save-form]")
    expect(owner.locator("[data-testid=form-status]")).to_contain_text("Form saved")
    with pmo_app.app_context():
        saved = Arrange(pmo_app).engine.form(db.session, "owner1", "slow_line.schema.json")
    assert saved.schema["title"] == "Typed early"


def test_bad_input_is_named_where_it_is_and_nothing_is_saved(pmo_page, pmo_app):
    """A choice without its Chinese label, a date range ending before it starts, a 5 MB
    form: the owner reads what is wrong and where; nothing is saved."""
    owner = pmo_page("owner1")
    owner.goto("/forms/bad_input.schema.json")
    designer_ready(owner)
    add_field(owner, "select", "kind", "Kind", "类型")
    owner.fill("[data-testid='choices-kind']", "a | Apple | 苹果\nb | Banana")
    owner.press("[data-testid='choices-kind']", "Tab")
    add_field(owner, "date", "due", "Due", "到期")
    owner.fill("[data-testid='earliest-due']", "2026-06-01")
    owner.press("[data-testid='earliest-due']", "Tab")
    owner.fill("[data-testid='latest-due']", "2026-05-01")
    owner.press("[data-testid='latest-due']", "Tab")
    owner.click("[data-testid=save-form]")
    expect(owner.locator("[data-testid=form-status]")).to_have_text("Not saved:")
    problems = owner.locator("[data-testid=form-problems] li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_have_text(
        "/properties/kind/x-enum-titles/b/1: The choice b has no zh label.")
    expect(problems.nth(1)).to_have_text(
        "/properties/due/x-earliest: due: the earliest date 2026-06-01 is after the latest "
        "date 2026-05-01.")
    owner.fill("[data-testid='choices-kind']", "a | Apple | 苹果\nb | Banana | 香蕉")
    owner.press("[data-testid='choices-kind']", "Tab")
    owner.fill("[data-testid='latest-due']", "")
    owner.press("[data-testid='latest-due']", "Tab")
    owner.evaluate("""() => { const t = document.getElementById('fd-title');
        t.value = 'x'.repeat(5 * 1024 * 1024); t.dispatchEvent(new Event('change')); }""")
    owner.click("[data-testid=save-form]")
    expect(owner.locator("[data-testid=form-status]")).to_have_text("Not saved:")
    expect(problems).to_have_count(1)
    expect(problems.nth(0)).to_have_text("/: The form is larger than 524288 characters.")
    with pmo_app.app_context():
        names = {f.name for f in Arrange(pmo_app).engine.forms(db.session, "owner1")}
    assert "bad_input.schema.json" not in names
    owner.evaluate("""() => { const t = document.getElementById('fd-title');
        t.value = 'Bad input, mended'; t.dispatchEvent(new Event('change')); }""")
    owner.click("[data-testid=save-form]")
    expect(owner.locator("[data-testid=form-status]")).to_contain_text("Form saved")
    with pmo_app.app_context():
        saved = Arrange(pmo_app).engine.form(db.session, "owner1", "bad_input.schema.json")
    assert saved.schema["properties"]["due"] == {
        "type": "string", "format": "date", "title": "Due", "x-title-zh": "到期",
        "x-earliest": "2026-06-01"}


def test_required_when_several_values_is_edited_in_place(pmo_page, pmo_app):
    """The review's comment is required when the decision is reject or changes: the panel
    shows both, editing them keeps the rule's own checks, and a rule testing a minimum
    (closure: a note when open items >= 1) is shown but cannot be edited."""
    owner = pmo_page("owner1")
    owner.goto("/forms/project_approval-review.schema.json")
    value = owner.locator("[data-testid='when-value-comment']")
    expect(value).to_have_value("reject, changes")
    expect(owner.locator("[data-testid='when-comment']")).to_have_value("decision")
    value.fill("changes, reject")
    value.press("Tab")
    owner.click("[data-testid=save-form]")
    expect(owner.locator("[data-testid=form-status]")).to_contain_text("Form saved")
    with pmo_app.app_context():
        saved = Arrange(pmo_app).engine.form(db.session, "owner1",
                                             "project_approval-review.schema.json").schema
    assert saved["if"] == {"properties": {"decision": {"enum": ["changes", "reject"]}},
                           "required": ["decision"]}
    assert saved["then"]["required"] == ["comment"] and "allOf" not in saved
    assert saved["then"]["properties"]["comment"]["minLength"] == 1
    owner.goto("/forms/project_closure-start.schema.json")
    expect(owner.locator("[data-testid='when-open_items_note']")).to_be_disabled()
    expect(owner.locator("[data-testid='when-value-open_items_note']")).to_be_disabled()
