"""The form designer's engine side: the schema checker names every problem by JSON
pointer, drafts are saved (process owners only, audited, nothing half-way) and go into
the next version deployed from the modeler, deployed copies never change in place."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import form_schema
from engine.date_range import date_bound
from engine.errors import Forbidden, InvalidData
from engine.forms import validate_form
from engine.store.models import AuditEvent, ProcessDefinition
from tests.engine.driver import Driver
from tests.engine.test_versions import NS

SHIPPED = sorted(Path("bpmn/forms").glob("*.schema.json"))

GOOD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Site visit",
    "x-title-zh": "现场检查",
    "type": "object",
    "required": ["visited_on"],
    "properties": {
        "visited_on": {"type": "string", "format": "date", "title": "Visited on",
                       "x-title-zh": "检查日期"},
        "outcome": {"type": "string", "enum": ["ok", "issues"],
                    "x-enum-titles": {"ok": ["OK", "正常"], "issues": ["Issues", "有问题"]}},
        "notes": {"type": "string", "maxLength": 4000, "x-widget": "textarea"},
    },
    "if": {"properties": {"outcome": {"const": "issues"}}, "required": ["outcome"]},
    "then": {"required": ["notes"]},
}


def problems(text: str) -> dict[str, str]:
    with pytest.raises(InvalidData) as caught:
        form_schema.parse(text)
    return {k: v.code for k, v in caught.value.errors.items()}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_form_passes_the_checker_unchanged(path):
    text = path.read_text(encoding="utf-8")
    assert form_schema.parse(text) == json.loads(text)


def test_a_good_form_passes():
    assert form_schema.parse(json.dumps(GOOD)) == GOOD


def test_every_problem_is_named_with_its_pointer():
    bad = json.loads(json.dumps(GOOD))
    bad["then"]["required"] = ["note"]  # required-when naming a missing field
    bad["if"]["properties"]["result"] = {"const": "x"}
    bad["properties"]["outcome"]["x-enum-titles"]["issues"] = ["Issues"]  # no zh label
    bad["required"].append("ghost")
    found = problems(json.dumps(bad))
    assert found == {
        "/then/required/0": "form_schema.unknown_field",
        "/if/properties/result": "form_schema.unknown_field",
        "/properties/outcome/x-enum-titles/issues/1": "form_schema.choice_label",
        "/required/1": "form_schema.unknown_field",
    }


def test_not_json_schema_points_at_the_bad_keyword():
    bad = json.loads(json.dumps(GOOD))
    bad["properties"]["notes"]["maxLength"] = "long"
    bad["properties"]["visited_on"]["type"] = "day"
    assert problems(json.dumps(bad)) == {
        "/properties/notes/maxLength": "form_schema.invalid",
        "/properties/visited_on/type": "form_schema.invalid",
    }


def test_duplicate_keys_are_named_where_they_repeat():
    text = json.dumps(GOOD).replace('"notes": {"type": "string",',
                                    '"notes": {"type": "string", "type": "string",')
    assert problems(text) == {"/properties/notes/type": "form_schema.duplicate_key"}


def test_not_json_not_an_object_and_too_large():
    assert problems("{nope") == {"": "form_schema.not_json"}
    assert problems("[1]") == {"": "form_schema.not_object"}
    assert problems('{"type": "string"}') == {"/type": "form_schema.not_object"}
    big = json.dumps({**GOOD, "description": "x" * (5 * 1024 * 1024)})
    assert problems(big) == {"": "form_schema.too_large"}


def test_bad_names_are_refused():
    for name in ("../x.json", "x", "a b.json", ""):
        with pytest.raises(InvalidData):
            form_schema.check_name(name)
    assert form_schema.check_name("site_visit.schema.json") == "site_visit.schema.json"


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return Driver(engine, session, clock)


def _diagram(form: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d" '
            'targetNamespace="t"><bpmn:process id="visit" name="Visit" isExecutable="true">'
            '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="pmo_reviewer">'
            '<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>v</bpmn:flowNodeRef>'
            '<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
            '<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:userTask id="v" name="Visit site"><bpmn:extensionElements>'
            '<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
            f'value="{form}"/></spiffworkflow:properties></bpmn:extensionElements>'
            '<bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="v"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="v" targetRef="end"/>'
            '</bpmn:process></bpmn:definitions>').encode()


def test_saved_form_goes_into_the_next_version_and_deployed_copies_never_change(drv, session):
    eng = drv.engine
    name = "visit-site.schema.json"
    problems_before = eng.validate_draft(session, _diagram(name), "owner1")
    assert any(name in p.message for p in problems_before)  # the step's form is missing

    saved = eng.save_form(session, "owner1", name, json.dumps(GOOD))
    assert saved.draft and saved.schema == GOOD and saved.updated_by == "owner1"
    assert eng.validate_draft(session, _diagram(name), "owner1") == []
    eng.deploy_draft(session, _diagram(name), "owner1", comment="new step with a form")
    v1 = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "visit"))
    assert v1.forms == {name: GOOD}

    changed = {**GOOD, "title": "Site visit (new)"}
    eng.save_form(session, "owner1", name, json.dumps(changed))
    session.refresh(v1)
    assert v1.forms[name]["title"] == "Site visit"  # version 1 keeps its copy
    listed = {f.name: f for f in eng.forms(session, "owner1")}
    assert listed[name].schema["title"] == "Site visit (new)"
    assert listed[name].deployed_in == ("visit v1",)
    assert session.scalars(select(AuditEvent).where(AuditEvent.kind == "form_saved")).all()


def test_a_bad_form_saves_nothing_and_only_process_owners_may(drv, session):
    eng = drv.engine
    bad = {**GOOD, "required": ["ghost"]}
    with pytest.raises(InvalidData) as caught:
        eng.save_form(session, "owner1", "x.schema.json", json.dumps(bad))
    assert list(caught.value.errors) == ["/required/0"]
    assert eng.forms(session, "owner1") == []
    with pytest.raises(Forbidden):
        eng.save_form(session, "pm1", "x.schema.json", json.dumps(GOOD))
    with pytest.raises(Forbidden):
        eng.forms(session, "pm1")


def test_preview_validates_sample_data(drv, session):
    found = drv.engine.preview_form(session, "owner1", json.dumps(GOOD),
                                    {"visited_on": "2026-13-40", "outcome": "issues"})
    assert {k: v.code for k, v in found.errors.items()} == {
        "visited_on": "form.format", "notes": "form.required"}


def _gated(form: str, condition: str) -> bytes:
    """start -> step with ``form`` -> gateway whose flow tests ``condition`` -> end."""
    xml = _diagram(form).decode()
    xml = xml.replace('<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>',
                      '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>'
                      '<bpmn:exclusiveGateway id="gw" default="f3"><bpmn:incoming>f1'
                      '</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3'
                      '</bpmn:outgoing></bpmn:exclusiveGateway>')
    xml = xml.replace('<bpmn:sequenceFlow id="f1" sourceRef="v" targetRef="end"/>',
                      '<bpmn:sequenceFlow id="f1" sourceRef="v" targetRef="gw"/>'
                      '<bpmn:sequenceFlow id="f2" name="Issues" sourceRef="gw" targetRef="end">'
                      f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>'
                      '</bpmn:sequenceFlow><bpmn:sequenceFlow id="f3" sourceRef="gw" '
                      'targetRef="end"/>')
    xml = xml.replace('<bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>',
                      '<bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming>'
                      '</bpmn:endEvent>')
    return xml.encode()


def test_modeler_notes_conditions_that_read_what_no_form_asks(drv, session):
    eng = drv.engine
    name = "visit-site.schema.json"
    eng.save_form(session, "owner1", name, json.dumps(GOOD))
    asked = _gated(name, 'outcome == "issues"')
    assert eng.validate_draft(session, asked, "owner1", notes=True) == []
    unasked = _gated(name, 'verdict == "issues" and [x for x in [1] if x]')
    notes = eng.validate_draft(session, unasked, "owner1", notes=True)
    assert [(p.code, p.element_id, p.params["name"]) for p in notes] == [
        ("diagram.unasked_field", "f2", "verdict")]
    assert eng.validate_draft(session, unasked, "owner1") == []  # deploying is not blocked
    eng.deploy_draft(session, unasked, "owner1", comment="a note does not block")


def _ruled(form: str) -> bytes:
    """start -> step with ``form`` -> business rule task calling ``slas`` -> end."""
    xml = _diagram(form).decode()
    xml = xml.replace('<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>',
                      '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>'
                      '<bpmn:businessRuleTask id="rules" name="Apply the SLA rules">'
                      '<bpmn:extensionElements><spiffworkflow:calledDecisionId>slas'
                      '</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
                      '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
                      '</bpmn:businessRuleTask>')
    xml = xml.replace('<bpmn:sequenceFlow id="f1" sourceRef="v" targetRef="end"/>',
                      '<bpmn:sequenceFlow id="f1" sourceRef="v" targetRef="rules"/>'
                      '<bpmn:sequenceFlow id="f2" sourceRef="rules" targetRef="end"/>')
    return xml.replace('<bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>',
                       '<bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>').encode()


@pytest.mark.parametrize(("expression", "noted"), [
    ("budget", ["budget"]),                 # no form asks for it, nothing sets it
    ("outcome", []),                        # the step's form asks for it
    ("parse_amount(outcome) > 1", []),      # a script helper and a form field
])
def test_modeler_notes_what_a_called_decision_table_reads_but_no_form_asks(
        drv, session, expression, noted):
    from engine.spiff.bundle import SourceFile
    from tests.engine.test_engine_rules import COLLECT_DMN

    eng = drv.engine
    dmn = COLLECT_DMN.replace("<text>budget</text>", f"<text>{expression}</text>")
    eng.deploy(session, [SourceFile("slas.dmn", dmn.encode())], "owner1")
    name = "visit-site.schema.json"
    eng.save_form(session, "owner1", name, json.dumps(GOOD))
    notes = eng.validate_draft(session, _ruled(name), "owner1", notes=True)
    assert [(p.code, p.element_id, p.params["name"], p.params["decision"]) for p in notes] == [
        ("diagram.unasked_field", "rules", n, "slas") for n in noted]
    assert eng.validate_draft(session, _ruled(name), "owner1") == []  # never blocks deploying


def _shipped_decisions() -> dict[str, dict]:
    from engine.definitions import decision_meta
    from engine.spiff.dmn import read_decision
    from engine.spiff.xmlsafe import parse_xml

    found = {}
    for path in sorted(Path("bpmn").glob("*.dmn")):
        data = path.read_bytes()
        decision, _problems = read_decision(parse_xml(data, path.name).getroot(), path.name, data)
        found[decision.key] = decision_meta(decision)
    return found


@pytest.mark.parametrize("path", sorted(Path("bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_the_shipped_processes_ask_for_everything_their_conditions_and_tables_read(path):
    from engine.form_coverage import unasked_fields

    forms = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SHIPPED}
    decisions = _shipped_decisions()
    assert len(decisions) == 6
    assert unasked_fields(path.read_bytes(), path.name, forms, 5_000_000, decisions) == []
    # the check does look: a table reading a name nobody provides is noted
    blind = {key: {**meta, "inputs": [{"label": "x", "expression": "nobody_sets_this"}]}
             for key, meta in decisions.items()}
    calls_tables = b"calledDecisionId" in path.read_bytes()
    noted = unasked_fields(path.read_bytes(), path.name, forms, 5_000_000, blind)
    assert bool(noted) == (calls_tables and b"callActivity" not in path.read_bytes())


# ---------------------------------------------------------------- date ranges (x-earliest)

RANGED = {
    "type": "object",
    "properties": {
        "sign_by": {"type": "string", "format": "date", "x-earliest": "today",
                    "x-latest": "today+30d"},
        "since": {"type": "string", "format": "date", "x-earliest": "2026-01-01",
                  "x-latest": "2026-12-31"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "due": {"type": "string", "format": "date", "x-latest": "-1d"}}}},
    },
}


def test_date_bounds_read_dates_and_days_from_today():
    today = date(2026, 3, 10)
    assert date_bound("2026-02-01", today) == date(2026, 2, 1)
    assert date_bound("today", today) == today
    assert date_bound("today+30d", today) == date(2026, 4, 9)
    assert date_bound("today-7d", today) == date(2026, 3, 3)
    assert date_bound("+1d", today) == date(2026, 3, 11)
    for bad in ("", "tomorrow", "2026-02-31", "today+3", "30d", 5, None, "today+3w"):
        assert date_bound(bad, today) is None, bad


def test_days_outside_the_range_are_refused_with_the_bound():
    today = date(2026, 3, 10)
    validate_form(RANGED, {"sign_by": "2026-03-10", "since": "2026-12-31",
                           "rows": [{"due": "2026-03-09"}]}, today)
    with pytest.raises(InvalidData) as caught:
        validate_form(RANGED, {"sign_by": "2026-04-10", "since": "2025-12-31",
                               "rows": [{"due": "2026-03-10"}]}, today)
    found = {k: (v.code, v.params["limit"]) for k, v in caught.value.errors.items()}
    assert found == {"sign_by": ("form.latest", "2026-04-09"),
                     "since": ("form.earliest", "2026-01-01"),
                     "rows.0.due": ("form.latest", "2026-03-09")}
    assert str(caught.value.errors["sign_by"]) == "Must be on or before 2026-04-09."
    with pytest.raises(InvalidData) as caught:  # the day moves with today
        validate_form(RANGED, {"sign_by": "2026-03-10"}, date(2026, 3, 11))
    assert caught.value.errors["sign_by"].code == "form.earliest"
    with pytest.raises(InvalidData) as caught:  # not a day at all: the format says so
        validate_form(RANGED, {"sign_by": "2026-02-31"}, today)
    assert caught.value.errors["sign_by"].code == "form.format"


def test_a_range_that_ends_before_it_starts_or_is_no_date_is_named():
    bad = json.loads(json.dumps(GOOD))
    bad["properties"]["visited_on"].update({"x-earliest": "2026-05-01",
                                            "x-latest": "2026-04-30"})
    bad["properties"]["notes"]["x-latest"] = "next week"
    found = problems(json.dumps(bad))
    assert found == {"/properties/visited_on/x-earliest": "form_schema.date_range",
                     "/properties/notes/x-latest": "form_schema.date_bound"}
    with pytest.raises(InvalidData) as caught:
        form_schema.parse(json.dumps(bad))
    assert "visited_on" in str(caught.value.errors["/properties/visited_on/x-earliest"])
    relative = json.loads(json.dumps(GOOD))
    relative["properties"]["visited_on"].update({"x-earliest": "today+1d",
                                                 "x-latest": "today"})
    assert problems(json.dumps(relative)) == {
        "/properties/visited_on/x-earliest": "form_schema.date_range"}
    mixed = json.loads(json.dumps(GOOD))  # a date and a relative bound: not known yet
    mixed["properties"]["visited_on"].update({"x-earliest": "2026-05-01", "x-latest": "today"})
    fine = {**json.loads(json.dumps(GOOD))}
    fine["properties"]["visited_on"].update({"x-earliest": "today", "x-latest": "+30d"})
    for schema in (mixed, fine, RANGED):
        assert form_schema.parse(json.dumps(schema)) == schema


def test_a_task_form_refuses_a_day_outside_its_range_on_the_engine_clock(drv, session):
    form = json.loads(json.dumps(GOOD))
    form["properties"]["visited_on"]["x-earliest"] = "today"
    drv.engine.save_form(session, "owner1", "visit.schema.json", json.dumps(form))
    drv.engine.deploy_draft(session, _diagram("visit.schema.json"), "owner1", comment="ranged")
    started = drv.start("visit", "reviewer1")
    assert drv.engine.today() == date(2026, 3, 2)
    drv.clock.advance(hours=11)  # 20:00 UTC: already 3 March in Shanghai, the site's zone
    assert drv.engine.today() == date(2026, 3, 3)
    reviewer = "reviewer1"
    with pytest.raises(InvalidData) as caught:
        drv.complete(started.id, "v", reviewer, {"visited_on": "2026-03-02"})
    assert {k: (v.code, v.params["limit"]) for k, v in caught.value.errors.items()} == {
        "visited_on": ("form.earliest", "2026-03-03")}
    drv.complete(started.id, "v", reviewer, {"visited_on": "2026-03-03"})
    assert drv.open_tasks(started.id) == []
