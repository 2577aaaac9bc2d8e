"""The shipped PMO forms and pages as people meet them (test client, demo database).

What the browser walk-throughs (``browser/test_process_*_e2e.py``) ran into, one check
each: read-only fields as text, form help, pickers of projects and people, choices from
another field, conditionally required fields, folded process data, project links, the
service notes in the history, who may open a request they were told about.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from engine import identity
from engine.pages import Person
from engine.store.uow import unit_of_work
from tests.support import instance_data
from tests.webui.conftest import Arrange, login, one, parse_html, post
from webui.extensions import db
from webui.formatting import ago
from webui.formparse import parse_form
from webui.formview import build_form, required_when
from workflows import records

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def form_schema(name: str) -> dict:
    return json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))


def project_id(app: Flask, code: str) -> int:
    with app.app_context():
        found, _ = records.list_projects(db.session, q=code)
        return next(p.id for p in found if p.code == code)


def escalation(app: Flask, affected: list[int], **kw) -> int:
    """pm1 escalates on PRJ-2026-0001 (through the engine), naming ``affected``."""
    data = {"project_id": project_id(app, "PRJ-2026-0001"), "affected_project_ids": affected,
            "title": "Crane booked twice", "kind": "resource_conflict", "severity": "high",
            "tried": "Asked the vendor.", "needed_by": "2026-03-10", **kw}
    return Arrange(app).start("escalation", "pm1", data, title=data["title"]).id


def text_of(doc, xpath: str) -> str:
    return " ".join(one(doc, xpath).text_content().split())


# --------------------------------------------------------------------------- read-only


READ_ONLY = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "readOnly": True, "title": "Code"},
        "budget": {"type": "object", "x-widget": "money", "readOnly": True,
                   "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}}},
        "owner": {"type": "string", "x-widget": "user", "readOnly": True},
        "urgent": {"type": "boolean", "readOnly": True},
        "note": {"type": "string", "readOnly": True},
        "closure": {"type": "object", "readOnly": True, "title": "Closure", "properties": {
            "pm": {"type": "string", "x-widget": "user"}, "notes": {"type": "string"}}},
        "lessons": {"type": "array", "x-widget": "rows", "readOnly": True, "items": {
            "type": "object", "properties": {k: {"type": "string"} for k in "abcde"}}},
        "decision": {"type": "string", "enum": ["ok"]},
    },
}
PEOPLE = (Person("pm1", "Li Wei (PM)", ("pm",), ("pm",)),)


def test_read_only_fields_are_text_grouped_and_left_out_when_empty(app):
    values = {"code": "C-1", "budget": {"amount": "1200.5", "currency": "CNY"},
              "owner": "pm1", "urgent": False, "note": "", "closure": {"pm": "pm1", "notes": ""},
              "lessons": [{"a": "x", "b": "y", "c": "", "d": "d", "e": "e"}]}
    with app.test_request_context():
        form = build_form(READ_ONLY, values, people=PEOPLE)
    f = {x.name: x for x in form.fields}
    assert list(f) == ["code", "budget", "owner", "urgent", "closure", "lessons", "decision"]
    assert all(f[k].widget == "static" and f[k].read_only for k in ("code", "budget", "owner"))
    assert (f["code"].static.text, f["budget"].static.text, f["owner"].static.text,
            f["urgent"].static.text) == ("C-1", "CN¥1,200.50", "Li Wei (PM)", "No")
    assert f["closure"].widget == "static_group"
    assert [(c.name, c.static.text) for c in f["closure"].children] == [
        ("closure.pm", "Li Wei (PM)")]
    assert f["lessons"].static.wide and f["lessons"].static.table == [["x", "y", "—", "d", "e"]]
    assert f["decision"].widget == "radio"


def test_task_page_shows_read_only_values_as_text_not_inputs(pmo_client, pmo_app):
    inst = escalation(pmo_app, [])
    task = Arrange(pmo_app).task(inst, "triage")
    login(pmo_client, "reviewer1")
    doc = parse_html(pmo_client.get(f"/tasks/{task.id}").get_data(as_text=True))
    form = one(doc, '//form[@data-testid="task-form"]')
    assert text_of(form, './/*[@data-field="severity"]//*[@id="f-severity"]') == "High"
    assert text_of(form, './/*[@data-field="needed_by"]//*[@id="f-needed_by"]') == "2026-03-10"
    assert not form.xpath('.//*[@data-field="reopen_reason"]')  # no value: not shown
    assert not form.xpath('.//input[@disabled] | .//textarea[@disabled]')
    assert form.xpath('.//input[@name="decision"]')


# --------------------------------------------------------------------------- form help


def test_start_and_task_forms_show_their_description(pmo_client, pmo_app):
    login(pmo_client, "pm1")
    doc = parse_html(pmo_client.get("/processes/risk_review/start").get_data(as_text=True))
    assert "probability x impact" in text_of(doc, '//*[@data-testid="form-help"]')
    inst = escalation(pmo_app, [])
    Arrange(pmo_app).complete(Arrange(pmo_app).task(inst, "triage").id, "reviewer1",
                              {"decision": "resolve", "comment": "Site A first."})
    task = Arrange(pmo_app).task(inst, "confirm")
    doc = parse_html(pmo_client.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert text_of(doc, '//*[@data-testid="form-help"]').startswith(
        "Confirm that the decision settled the issue")
    assert text_of(doc, '//*[@data-field="outcome_text"]//*[@id="f-outcome_text"]') == (
        "Site A first.")


def test_fields_required_only_for_some_decisions_say_when(app):
    check = form_schema("project_approval-check")
    with app.test_request_context():
        notes = required_when(check, "en")
        form = build_form(check, {})
    assert notes["comment"] == "Required when Decision is Return for rework or Reject."
    assert notes["charter_complete"] == "Required when Decision is Accept."
    f = {x.name: x for x in form.fields}
    assert f["comment"].help == notes["comment"] and not f["comment"].required
    risk = form_schema("risk_review-review")  # has its own description: kept as written
    with app.test_request_context():
        f = {x.name: x for x in build_form(risk, {}).fields}
    assert f["comment"].help.startswith("Required when you send the plan back")
    with app.test_request_context("/?lang=zh"):
        from flask_babel import force_locale

        with force_locale("zh"):
            assert required_when(check, "zh")["comment"] == "当“结论”为 退回修改 或 拒绝 时必填。"


# --------------------------------------------------------------------------- pickers


def test_affected_projects_are_picked_from_every_running_project(pmo_client, pmo_app):
    own, other = project_id(pmo_app, "PRJ-2026-0001"), project_id(pmo_app, "PRJ-2026-0002")
    login(pmo_client, "pm1")
    doc = parse_html(pmo_client.get("/processes/escalation/start").get_data(as_text=True))
    mine = doc.xpath('//select[@id="f-project_id"]/option[@value!=""]/text()')
    assert mine == ["PRJ-2026-0001 — Warehouse automation", "PRJ-2026-0003 — Data centre "
                    "migration"]  # the raising project: pm1's own
    boxes = doc.xpath('//input[@name="affected_project_ids"]')
    assert [b.get("type") for b in boxes] == ["checkbox"] * 3  # any running project
    labels = doc.xpath('//*[@data-field="affected_project_ids"]//label/text()')
    assert "PRJ-2026-0002 — Customer portal relaunch" in labels
    response = post(pmo_client, "/processes/escalation/start", [
        ("project_id", str(own)), ("affected_project_ids", str(other)), ("title", "Crane"),
        ("kind", "vendor"), ("severity", "low"), ("tried", "Called."),
        ("needed_by", "2026-03-10")], token_from="/")
    assert response.status_code == 302, response.get_data(as_text=True)
    inst_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with pmo_app.app_context():
        data = instance_data(pmo_app.extensions["pmoflow"].engine, db.session, inst_id)
    assert data["affected_project_ids"] == [other]


def test_lesson_team_is_picked_by_name_including_project_team_members(pmo_client, pmo_app):
    arrange = Arrange(pmo_app)
    arrange.add_user("contractor", name="Ola Contractor")  # no global team role
    warehouse = project_id(pmo_app, "PRJ-2026-0001")
    with pmo_app.app_context(), unit_of_work(db.session):
        identity.grant_project_role(db.session, warehouse, "contractor", "team")
    login(pmo_client, "pm1")
    doc = parse_html(pmo_client.get("/processes/project_closure/start").get_data(as_text=True))
    labels = doc.xpath('//*[@data-field="lesson_team"]//label/text()')
    assert labels == ["Liu Yang (Team) (team1)", "Nina Petrova (Team) (team3)",
                      "Ola Contractor (contractor)", "Tom Berg (Team) (team2)"]
    response = post(pmo_client, "/processes/project_closure/start", [
        ("project_id", str(warehouse)), ("deliverables_accepted", "on"),
        ("actual_cost.amount", "840,000"), ("actual_cost.currency", "CNY"),
        ("actual_end", "2026-03-02"), ("customer_satisfaction", "4"),
        ("open_items_count", "0"), ("lesson_team", "team1"), ("lesson_team", "contractor")],
        token_from="/")
    assert response.status_code == 302, response.get_data(as_text=True)
    inst_id = int(response.headers["Location"].rsplit("/", 1)[1])
    tasks = arrange.tasks(inst_id, "open")
    assert sorted(t.assignee for t in tasks if t.element_id == "write_lesson") == [
        "contractor", "team1"]
    # no title field: the request is named after its project
    page = pmo_client.get(f"/instances/{inst_id}").get_data(as_text=True)
    assert text_of(parse_html(page), '//*[@data-testid="instance-title"]') == (
        "PRJ-2026-0001 Warehouse automation")


def test_choices_from_another_field_of_the_form():
    curate = form_schema("project_closure-curate")
    lessons = [{"id": 7, "title": "Interface debugging", "author": "team1"},
               {"id": 9, "title": "", "author": "team2"}]
    form = build_form(curate, {"collected_lessons": lessons, "publish_ids": [9]})
    f = {x.name: x for x in form.fields}
    publish = f["publish_ids"]
    assert publish.widget == "multiselect"
    assert [(o.value, o.label, o.selected) for o in publish.options] == [
        ("7", "Interface debugging (#7)", False), ("9", "#9", True)]
    source = f["merges"].rows[0][0]
    assert source.widget == "select" and [o.value for o in source.options] == ["7", "9"]
    assert [o.value for o in f["edits"].rows[0][0].options] == ["7", "9"]
    assert f["edits"].attrs["stacked"] and not f["merges"].attrs["stacked"]
    data = parse_form(curate, {"publish_ids": ["7", "9"], "merges.0.source": "9",
                               "merges.0.target": "7"})
    assert data == {"publish_ids": [7, 9], "merges": [{"source": 9, "target": 7}]}


# --------------------------------------------------------------------------- summary, links


def test_request_page_names_projects_links_the_project_and_folds_process_data(
        pmo_client, pmo_app):
    other = project_id(pmo_app, "PRJ-2026-0002")
    inst = escalation(pmo_app, [other])
    login(pmo_client, "pm1")
    doc = parse_html(pmo_client.get(f"/instances/{inst}").get_data(as_text=True))
    shown = one(doc, '//*[@data-testid="summary"]')
    assert text_of(shown, './/dd[@data-field="project_id"]') == (
        "PRJ-2026-0001 — Warehouse automation")
    assert text_of(shown, './/dd[@data-field="affected_project_ids"]') == (
        "PRJ-2026-0002 — Customer portal relaunch")
    assert not shown.xpath('.//dd[@data-field="escalation"]')  # the glue's record: folded
    folded = one(doc, '//details[@data-testid="recorded"]')
    assert "Recorded by the process" in text_of(folded, "./summary")
    assert text_of(folded, './/dd[@data-field="escalation.status"]') == "triage"
    link = one(doc, '//*[@data-testid="project"]//a[@data-testid="project-link"]')
    assert link.text_content() == "PRJ-2026-0001 — Warehouse automation"
    assert link.get("href") == f"/projects/{project_id(pmo_app, 'PRJ-2026-0001')}"
    assert text_of(doc, '//*[@data-testid="project-stage"]') == "Executing"
    notes = text_of(doc, '//*[@data-testid="history"]//*[@data-testid="notes"]')
    assert notes == "Escalation 1 logged on PRJ-2026-0001 for 1 affected project(s)."


def test_people_told_about_a_request_may_open_it(pmo_client, pmo_app):
    inst = escalation(pmo_app, [project_id(pmo_app, "PRJ-2026-0002")])
    login(pmo_client, "pm2")  # the affected project's PM: told, so may look
    assert pmo_client.get(f"/instances/{inst}").status_code == 200
    notes = parse_html(pmo_client.get("/notifications").get_data(as_text=True))
    link = notes.xpath('//a[@data-testid="notification-link"]/@href')[0]
    assert pmo_client.get(link).headers["Location"] == f"/instances/{inst}"
    stranger = pmo_app.test_client()
    login(stranger, "finance1")  # no role in the projects it names
    assert stranger.get(f"/instances/{inst}").status_code == 403


def test_inbox_shows_the_project_code_and_title(pmo_client, pmo_app):
    data = {"project_id": project_id(pmo_app, "PRJ-2026-0001"), "title": "Vendor slips",
            "description": "d", "category": "supplier", "probability": 3, "impact": 4,
            "response": "mitigate", "contingency": "c", "owner": "pm1", "urgent": False}
    Arrange(pmo_app).start("risk_review", "pm1", data, title="Vendor slips")
    login(pmo_client, "sponsor1")
    doc = parse_html(pmo_client.get("/tasks?tab=claimable").get_data(as_text=True))
    assert text_of(doc, '//*[@data-testid="task-project"]') == \
        "PRJ-2026-0001 Warehouse automation"


def test_a_step_the_process_assigned_cannot_be_given_back_to_the_pool(pmo_client, pmo_app):
    arrange = Arrange(pmo_app)
    data = {"title": "Intranet search", "business_case": "b", "strategic_objective": "o",
            "category": "it", "budget": {"amount": "50000", "currency": "CNY"},
            "planned_start": "2026-04-01", "planned_end": "2026-12-31", "sponsor": "sponsor1",
            "expected_roi_pct": 5, "risk_rating": "low", "departments": ["IT"],
            "headcount": 2}
    inst = arrange.start("project_approval", "pm1", data, title=data["title"])
    check = arrange.task(inst.id, "check")
    arrange.complete(check.id, "reviewer1", {"decision": "rework", "comment": "Add a WBS."})
    revise = arrange.task(inst.id, "revise")  # assigned to the submitter by the process
    login(pmo_client, "pm1")
    page = pmo_client.get(f"/tasks/{revise.id}").get_data(as_text=True)
    assert 'data-testid="submit"' in page and 'data-testid="unclaim"' not in page
    inbox = pmo_client.get("/tasks?tab=mine").get_data(as_text=True)
    assert 'data-testid="task-row"' in inbox and 'data-testid="unclaim"' not in inbox
    # a task claimed from the pool can still be given back
    inst2 = arrange.start("project_approval", "pm2", {**data, "title": "Other"}, title="Other")
    arrange.claim(arrange.task(inst2.id, "check").id, "reviewer1")
    login(pmo_client, "reviewer1")
    page = pmo_client.get(f"/tasks/{arrange.task(inst2.id, 'check').id}").get_data(
        as_text=True)
    assert 'data-testid="unclaim"' in page


@pytest.mark.parametrize(("seconds", "expected"), [(0, "just now"), (-45, "just now"),
                                                   (30, "just now"), (-120, "2 minutes ago")])
def test_times_within_a_minute_are_just_now(app, pmo_clock, seconds, expected):
    now = pmo_clock.now()
    with app.test_request_context():
        assert ago(now + timedelta(seconds=seconds), now) == expected


FAILING_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Defs_fails" targetNamespace="http://pmoflow.example/webui-test">
  <bpmn:process id="fails" name="Broken rule" isExecutable="true">
    <bpmn:startEvent id="f_start">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="fails-start.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>ff1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="f_rule" name="Apply the rule">
      <bpmn:incoming>ff1</bpmn:incoming><bpmn:outgoing>ff2</bpmn:outgoing>
      <bpmn:script>share = 100 / (headcount - headcount)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="f_end"><bpmn:incoming>ff2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="ff1" sourceRef="f_start" targetRef="f_rule"/>
    <bpmn:sequenceFlow id="ff2" sourceRef="f_rule" targetRef="f_end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_failing_step_keeps_the_input_and_says_what_happened(client, app):
    from engine.spiff.bundle import SourceFile

    schema = {"type": "object", "required": ["title"], "properties": {
        "title": {"type": "string", "title": "Title"},
        "headcount": {"type": "integer", "title": "Headcount"}}}
    with app.app_context():
        app.extensions["pmoflow"].engine.deploy(db.session, [
            SourceFile("fails.bpmn", FAILING_BPMN),
            SourceFile("forms/fails-start.schema.json", json.dumps(schema).encode())],
            "owner1")
    login(client, "pm1")
    response = post(client, "/processes/fails/start", {"title": "Keep me", "headcount": "3"},
                    token_from="/")
    assert response.status_code == 422
    doc = parse_html(response.get_data(as_text=True))
    summary = text_of(doc, '//*[@data-testid="error-summary"]')
    assert "The process could not go on, so nothing was saved; your input is kept." in summary
    assert "Apply the rule" in summary and "ZeroDivisionError" in summary
    assert one(doc, '//input[@id="f-title"]').get("value") == "Keep me"
    assert one(doc, '//input[@id="f-headcount"]').get("value") == "3"
