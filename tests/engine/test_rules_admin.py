"""Decision tables as the PMO admin manages them: checks before publishing, versions
(draft, published, retired, effective dates), the test panel and the what-if.

Runs on SQLite and PostgreSQL (the ``db`` fixture behind ``session``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, InvalidData, InvalidDiagram
from engine.spiff.bundle import SourceFile
from engine.spiff.dmn_checks import check_table
from engine.store.models import AuditEvent, DecisionDefinition, DecisionEvaluation
from tests.engine.driver import Driver

TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="t">
  <decision id="slas" name="Approvers">
    <decisionTable id="t" hitPolicy="COLLECT">
      <input id="i1" label="Budget"><inputExpression id="e1" typeRef="number"><text>budget</text></inputExpression></input>
      <output id="o1" label="Role" name="approver_roles" typeRef="string">
        <outputValues id="v1"><text>"pmo_head","finance","steering"</text></outputValues>
      </output>
      <output id="o2" label="SLA" name="sla_days" typeRef="number"/>
      <rule id="r1"><inputEntry id="a1"><text></text></inputEntry><outputEntry id="b1"><text>"pmo_head"</text></outputEntry><outputEntry id="c1"><text>5</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="a2"><text>&gt;= 100000</text></inputEntry><outputEntry id="b2"><text>"finance"</text></outputEntry><outputEntry id="c2"><text>5</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="a3"><text>&gt; 1000000</text></inputEntry><outputEntry id="b3"><text>"steering"</text></outputEntry><outputEntry id="c3"><text>10</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""

UNIQUE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="t">
  <decision id="level" name="Level">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i1" label="Score"><inputExpression id="e1" typeRef="number"><text>score</text></inputExpression></input>
      <input id="i2" label="Area"><inputExpression id="e2" typeRef="string"><text>area</text></inputExpression></input>
      <output id="o1" label="Level" name="level" typeRef="string"/>
      <rule id="r1"><inputEntry id="a1"><text>&lt; 10</text></inputEntry><inputEntry id="x1"><text>-</text></inputEntry><outputEntry id="b1"><text>"low"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="a2"><text>10 &lt;= ? &lt; 20</text></inputEntry><inputEntry id="x2"><text>"IT"</text></inputEntry><outputEntry id="b2"><text>"medium"</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="a3"><text>&gt;= 20</text></inputEntry><inputEntry id="x3"><text>-</text></inputEntry><outputEntry id="b3"><text>"high"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""

ROUTE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="route" name="Route" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="pm"><bpmn:flowNodeRef>look</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="rules" name="Rules"><bpmn:extensionElements><spiffworkflow:calledDecisionId>slas</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:userTask id="look" name="Look"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="rules"/>
    <bpmn:sequenceFlow id="f1" sourceRef="rules" targetRef="look"/>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

LOWER = TABLE.replace("&gt;= 100000", "&gt;= 50000")


def messages(xml: str) -> list[str]:
    return [p.message for p in check_table(xml.encode(), "t.dmn").problems]


# --------------------------------------------------------------------------- checks


def test_the_shipped_table_and_the_fixture_are_clean() -> None:
    assert messages(TABLE) == [] and messages(UNIQUE) == []


def test_overlap_under_unique_names_both_rows_and_the_columns() -> None:
    overlapping = UNIQUE.replace("10 &lt;= ? &lt; 20", "5 &lt;= ? &lt; 25")
    found = messages(overlapping)
    assert found == ["rows 1 and 2 overlap: both match the same inputs (Score, Area), but hit "
                     "policy UNIQUE allows one matching row",
                     "rows 2 and 3 overlap: both match the same inputs (Score, Area), but hit "
                     "policy UNIQUE allows one matching row"]
    # exclusive in the second column: rows 1 and 2 no longer overlap
    clean = overlapping.replace("&lt; 10</text></inputEntry><inputEntry id=\"x1\"><text>-",
                           "&lt; 10</text></inputEntry><inputEntry id=\"x1\"><text>\"HR\"")
    assert messages(clean) == found[1:]


def test_overlap_under_any_with_different_outputs_is_named() -> None:
    any_table = UNIQUE.replace('hitPolicy="UNIQUE"', 'hitPolicy="ANY"').replace(
        "10 &lt;= ? &lt; 20", "5 &lt;= ? &lt; 20")
    found = messages(any_table)
    assert "rows 1 and 2 overlap and give different values in output 'Level': hit policy " \
           "ANY needs them equal" in found
    same = any_table.replace('"medium"', '"low"')
    assert not [m for m in messages(same) if "overlap" in m]


def test_output_outside_its_allowed_values_names_row_and_column() -> None:
    found = messages(TABLE.replace('"steering"</text></outputEntry>',
                                   '"committee"</text></outputEntry>'))
    assert len(found) == 1
    assert found[0].startswith("row 3, output 'Role': \"committee\" is not one of the allowed "
                               "values ('pmo_head', 'finance', 'steering')")


def test_cells_that_do_not_compile_name_row_and_column() -> None:
    bad_input = messages(TABLE.replace("&gt; 1000000", "&gt; 1000000 )"))
    assert len(bad_input) == 1 and bad_input[0].startswith("row 3, input 'Budget': ")
    bad_output = messages(TABLE.replace("<text>5</text></outputEntry></rule>\n      <rule id=\"r2\"",
                                        "<text>__import__('os')</text></outputEntry></rule>\n"
                                        "      <rule id=\"r2\""))
    assert len(bad_output) == 1 and bad_output[0].startswith("row 1, output 'SLA': ")
    assert "does not compile" in bad_output[0]


def test_unsafe_or_oversized_files_are_one_clear_problem() -> None:
    entity = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]>'
              '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">&x;</definitions>')
    found = check_table(entity.encode(), "evil.dmn")
    assert found.decision is None and len(found.problems) == 1
    big = check_table(b"<a>" + b" " * 2000 + b"</a>", "big.dmn", max_bytes=1000)
    assert big.decision is None and big.problems[0].file == "big.dmn"
    assert "bytes" in big.problems[0].message or "large" in big.problems[0].message
    not_dmn = check_table(b"<html/>", "page.dmn")
    assert not_dmn.decision is None and "not a DMN" in not_dmn.problems[0].message


# --------------------------------------------------------------------------- versions


@pytest.fixture
def deployed(engine, session, people):
    engine.deploy(session, [SourceFile("route.bpmn", ROUTE.encode()),
                            SourceFile("slas.dmn", TABLE.encode())], "owner1")
    return engine


def _route_of(engine, session, inst_id) -> list[str]:
    return engine.instance_and_task_data(session, inst_id, None).data["approver_roles"]


def test_publish_makes_the_draft_what_new_instances_bind_to(deployed, session, clock):
    engine = deployed
    d = Driver(engine, session, clock)
    before = d.start("route", data={"budget": 60_000})
    assert _route_of(engine, session, before.id) == ["pmo_head"]
    view, problems = engine.save_decision_draft(session, "slas", LOWER, "admin")
    assert view.status == "draft" and problems == []
    table = engine.decision_table(session, "slas", "admin")
    assert table.draft is not None and table.in_effect.version == 1
    with pytest.raises(InvalidData) as refused:
        engine.publish_decision(session, "slas", "admin", "  ")
    assert "comment" in refused.value.errors
    clock.advance(timedelta(minutes=5))
    published = engine.publish_decision(session, "slas", "admin", "finance from 50k")
    assert (published.version, published.status) == (2, "published")
    table = engine.decision_table(session, "slas", "admin")
    assert table.draft is None and table.in_effect.version == 2
    old = next(v for v in table.versions if v.version == 1)
    assert (old.status, old.retired_by) == ("retired", "admin")
    assert table.in_effect.comment == "finance from 50k"
    after = d.start("route", data={"budget": 60_000})
    assert _route_of(engine, session, after.id) == ["pmo_head", "finance"]
    audit = session.scalars(select(AuditEvent.kind).where(
        AuditEvent.kind.in_(["rule_draft_saved", "rule_published"]))).all()
    assert sorted(audit) == ["rule_draft_saved", "rule_published"]


def test_a_version_published_for_a_later_date_waits_for_it(deployed, session, clock):
    engine = deployed
    d = Driver(engine, session, clock)
    engine.save_decision_draft(session, "slas", LOWER, "admin")
    engine.publish_decision(session, "slas", "admin", "from next week",
                            effective_from=clock.now() + timedelta(days=7))
    assert _route_of(engine, session, d.start("route", data={"budget": 60_000}).id) == [
        "pmo_head"]
    clock.advance(timedelta(days=8))
    assert _route_of(engine, session, d.start("route", data={"budget": 60_000}).id) == [
        "pmo_head", "finance"]


def test_publishing_a_draft_with_problems_writes_nothing(deployed, session):
    engine = deployed
    broken = TABLE.replace('"steering"</text></outputEntry>', '"committee"</text></outputEntry>')
    _, problems = engine.save_decision_draft(session, "slas", broken, "admin")
    assert [p.message[:6] for p in problems] == ["row 3,"]
    audits = session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(InvalidDiagram) as refused:
        engine.publish_decision(session, "slas", "admin", "try")
    assert "row 3, output 'Role'" in refused.value.problems[0].message
    statuses = session.execute(select(DecisionDefinition.version, DecisionDefinition.status)
                               .order_by(DecisionDefinition.version)).all()
    assert [tuple(r) for r in statuses] == [(0, "draft"), (1, "published")]
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_only_pmo_admins_see_test_or_publish_rules(deployed, session):
    engine = deployed
    for actor in ("pm1", "owner1", "pmohead"):
        with pytest.raises(Forbidden):
            engine.decision_tables(session, actor)
        with pytest.raises(Forbidden):
            engine.save_decision_draft(session, "slas", LOWER, actor)
        with pytest.raises(Forbidden):
            engine.publish_decision(session, "slas", actor, "no", content=LOWER)
        with pytest.raises(Forbidden):
            engine.test_decision(session, "slas", actor, {"i1": 1})
        with pytest.raises(Forbidden):
            engine.decision_what_if(session, "slas", actor, LOWER)
    assert session.scalar(select(func.count()).select_from(DecisionDefinition)) == 1


# --------------------------------------------------------------------------- test panel


def test_the_test_panel_shows_matched_rows_and_outputs_side_by_side(deployed, session):
    engine = deployed
    found = engine.test_decision(session, "slas", "admin", {"Budget": "60000"},
                                 content=LOWER)
    assert (found["published"].rows, found["published"].outputs) == (
        [1], {"approver_roles": ["pmo_head"], "sla_days": [5]})
    assert (found["draft"].rows, found["draft"].outputs) == (
        [1, 2], {"approver_roles": ["pmo_head", "finance"], "sla_days": [5, 5]})
    with pytest.raises(InvalidData) as bad:
        engine.test_decision(session, "slas", "admin", {"i1": "lots"})
    assert bad.value.errors == {"inputs.i1": "Budget: enter a number"}


# --------------------------------------------------------------------------- what-if


def test_what_if_replays_the_draft_over_every_recorded_instance(deployed, session, clock):
    engine = deployed
    d = Driver(engine, session, clock)
    budgets = [10_000] * 5 + [60_000] * 7 + [99_999] * 3 + [150_000] * 4 + [2_000_000]
    made = [d.start("route", data={"budget": b}).id for b in budgets]
    recorded = session.scalars(select(DecisionEvaluation).order_by(DecisionEvaluation.id)).all()
    assert [r.instance_id for r in recorded] == made
    assert recorded[5].inputs["values"] == {"i1": 60_000}
    assert recorded[5].outputs == {"rows": [1], "columns": {"approver_roles": ["pmo_head"],
                                                            "sla_days": [5]}}
    result = engine.decision_what_if(session, "slas", "admin", LOWER)
    assert result.checked == len(budgets) and result.failed == []
    assert sorted(c.instance_id for c in result.changed) == made[5:15]
    first = result.changed[0]
    assert first.columns == [("Role", ["finance"], []), ("SLA", [5], [])]
    assert [(s.column, s.kind, s.value, s.count) for s in result.summary][:1] == [
        ("Role", "added", "finance", 10)]
    # the history shows the decision with its inputs
    kinds = [e.kind for e in engine.history(session, made[0])]
    assert "decision" in kinds


def test_text_inputs_may_be_typed_with_or_without_quotes(engine, session, people):
    engine.deploy(session, [SourceFile("level.dmn", UNIQUE.encode())], "owner1")
    for area in ('IT', '"IT"', "'IT'"):
        found = engine.test_decision(session, "level", "admin", {"Score": "12", "Area": area})
        assert (found["published"].rows, found["published"].outputs) == (
            [2], {"level": ["medium"]}), area
    assert "draft" not in found
    missing = engine.test_decision(session, "level", "admin", {"Score": "12"})["published"]
    assert (missing.rows, missing.error) == ([], None)  # no row for area None
