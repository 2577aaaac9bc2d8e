"""Committee votes (distinct people), SLA expressions in working days, glue errors, timers."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.errors import Forbidden, InvalidData, TaskFailed
from engine.services import ServiceCall
from engine.working_days import sla_due
from tests.engine.driver import Driver
from tests.support import instance_data

COMMITTEE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="committee" name="Committee" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="pm"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="steering"><bpmn:flowNodeRef>vote</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="check" name="Check">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="check_budget" resultVariable="checked"><spiffworkflow:parameters><spiffworkflow:parameter id="amount" type="int" value="budget"/></spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="vote" name="Vote">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="distinctActors" value="true"/>
        <spiffworkflow:property name="slaExpression" value="sla_days"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
        <bpmn:loopDataOutputRef>votes</bpmn:loopDataOutputRef>
        <bpmn:outputDataItem id="ballot" name="ballot"/>
        <bpmn:completionCondition>len([v for v in votes if v == "approve"]) &gt;= 2 or len([v for v in votes if v == "reject"]) &gt;= 2</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f1" sourceRef="check" targetRef="vote"/>
    <bpmn:sequenceFlow id="f2" sourceRef="vote" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def check_budget(call: ServiceCall) -> dict:
    if call.params["amount"] < 0:
        raise InvalidData({"budget": "The budget cannot be negative."})
    call.describe(title=f"Budget {call.params['amount']}", business_key="B-1")
    return {"ok": True, "by": call.actor}


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    engine.services.register("check_budget", check_budget)
    d = Driver(engine, session, clock)
    d.deploy_text("committee.bpmn", COMMITTEE)
    return d


def test_committee_majority_needs_distinct_people(drv, session):
    inst = drv.start("committee", data={"budget": 5, "sla_days": 2})
    votes = drv.open_tasks(inst.id)
    assert [(t.element_id, t.role) for t in votes] == [("vote", "steering")] * 3
    # Monday 09:00 + 2 working days
    assert votes[0].due_at == datetime.fromisoformat("2026-03-04T09:00:00+00:00")
    drv.engine.complete(session, votes[0].id, "steer1", {"ballot": "approve"})
    with pytest.raises(Forbidden, match="already completed 'Vote'"):
        drv.engine.complete(session, votes[1].id, "steer1", {"ballot": "approve"})
    with pytest.raises(Forbidden, match="already completed"):
        drv.engine.claim(session, votes[1].id, "steer1")
    drv.engine.complete(session, votes[1].id, "steer2", {"ballot": "approve"})
    done = drv.instance(inst.id)
    # Two approvals of three: the majority is reached, the third vote is withdrawn.
    assert done.status == "completed"
    assert instance_data(drv.engine, session, inst.id)["votes"][:2] == ["approve", "approve"]


def test_committee_majority_not_reached_until_third_vote(drv, session):
    inst = drv.start("committee", data={"budget": 5, "sla_days": 1})
    votes = drv.open_tasks(inst.id)
    drv.engine.complete(session, votes[0].id, "steer1", {"ballot": "approve"})
    drv.engine.complete(session, votes[1].id, "steer2", {"ballot": "reject"})
    assert drv.instance(inst.id).status == "running"
    drv.engine.complete(session, votes[2].id, "steer3", {"ballot": "reject"})
    assert drv.instance(inst.id).status == "completed"
    assert sorted(instance_data(drv.engine, session, inst.id)["votes"]) == [
        "approve", "reject", "reject"]


def test_glue_invalid_data_reaches_the_form_and_nothing_is_written(drv, session):
    with pytest.raises(InvalidData) as err:
        drv.start("committee", data={"budget": -1, "sla_days": 1})
    assert err.value.errors == {"budget": "The budget cannot be negative."}
    assert drv.engine.instances(session) == []


def test_service_result_lands_in_data_and_audit(drv, session):
    inst = drv.start("committee", data={"budget": 5, "sla_days": 1})
    assert instance_data(drv.engine, session, inst.id)["checked"] == {"ok": True, "by": "pm1"}
    assert (inst.title, inst.business_key) == ("Budget 5", "B-1")
    assert "service_called" in drv.kinds(inst.id)


def test_bad_sla_expression_names_the_element(drv):
    with pytest.raises(TaskFailed) as err:
        drv.start("committee", data={"budget": 5, "sla_days": "soon"})
    assert err.value.element_id == "vote" and "soon" in str(err.value)


def test_sla_due_counts_working_days():
    friday = datetime.fromisoformat("2026-03-06T16:00:00+00:00")
    assert sla_due(friday, "P1D").isoformat() == "2026-03-09T16:00:00+00:00"
    assert sla_due(friday, 3).isoformat() == "2026-03-11T16:00:00+00:00"
    assert sla_due(friday, "P1W").isoformat() == "2026-03-13T16:00:00+00:00"
    assert sla_due(friday, "PT4H").isoformat() == "2026-03-06T20:00:00+00:00"
    with pytest.raises(ValueError):
        sla_due(friday, "three days")


def test_absurd_timer_duration_is_refused_quickly():
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    import engine.spiff.fixes  # noqa: F401  (installs the bound)
    with pytest.raises(ValueError, match="longer than 100 years"):
        TimerEventDefinition.parse_iso_duration("P100000000Y")
    assert TimerEventDefinition.parse_iso_duration("P2D") == {"days": 2}


def test_on_cancel_glue_runs_when_withdrawn(engine, session, clock, people):
    seen: list[dict] = []

    def withdrawn(call: ServiceCall) -> None:
        seen.append({"reason": call.params["reason"], "status": call.params["status"],
                     "budget": call.data.get("budget"), "actor": call.actor})
        call.notify(["reviewer1"], "Withdrawn")

    engine.services.register("proposal_withdrawn", withdrawn)
    xml = COMMITTEE.replace(
        '<bpmn:process id="committee" name="Committee" isExecutable="true">',
        '<bpmn:process id="committee" name="Committee" isExecutable="true"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="onCancel" '
        'value="proposal_withdrawn"/></spiffworkflow:properties></bpmn:extensionElements>')
    engine.services.register("check_budget", check_budget)
    d = Driver(engine, session, clock)
    d.deploy_text("committee.bpmn", xml)
    inst = d.start("committee", data={"budget": 7, "sla_days": 1})
    done = engine.cancel(session, inst.id, "pm1", "no longer needed", kind="withdrawn")
    assert done.status == "withdrawn"
    assert seen == [{"reason": "no longer needed", "status": "withdrawn", "budget": 7,
                     "actor": "pm1"}]
    assert engine.notifications(session, "reviewer1")[0].title == "Withdrawn"
    assert d.kinds(inst.id)[-2:] == ["withdrawn", "service_called"]


def test_on_cancel_must_name_a_known_operation(engine, session, clock, people):
    from engine.errors import InvalidDiagram

    engine.services.register("check_budget", check_budget)
    xml = COMMITTEE.replace(
        'isExecutable="true">',
        'isExecutable="true"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="onCancel" value="nope"/></spiffworkflow:properties>'
        '</bpmn:extensionElements>', 1)
    with pytest.raises(InvalidDiagram, match="unknown operation 'nope'"):
        Driver(engine, session, clock).deploy_text("committee.bpmn", xml)


def test_holders_of_global_and_project_roles(session, people, clock):
    from engine import identity
    from engine.store.uow import unit_of_work

    assert identity.holders(session, "steering") == ["steer1", "steer2", "steer3"]
    with unit_of_work(session):
        identity.grant_project_role(session, 7, "pm2", "sponsor")
    assert identity.holders(session, "sponsor", 7) == ["pm2"]
    assert identity.holders(session, "sponsor", 8) == []
    assert identity.holders(session, "sponsor") == ["sponsor1"]


REVOTE = COMMITTEE.replace(
    '<bpmn:sequenceFlow id="f2" sourceRef="vote" targetRef="end"/>',
    '<bpmn:sequenceFlow id="f2" sourceRef="vote" targetRef="gw"/>'
    '<bpmn:sequenceFlow id="f_again" sourceRef="gw" targetRef="vote">'
    '<bpmn:conditionExpression>len([v for v in votes if v == "approve"]) &lt; 2'
    '</bpmn:conditionExpression></bpmn:sequenceFlow>'
    '<bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="end"/>'
).replace('<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
          '<bpmn:exclusiveGateway id="gw" name="Approved?" default="f_done">'
          '<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_again</bpmn:outgoing>'
          '<bpmn:outgoing>f_done</bpmn:outgoing></bpmn:exclusiveGateway>'
          '<bpmn:endEvent id="end"><bpmn:incoming>f_done</bpmn:incoming></bpmn:endEvent>'
).replace('<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>',
          '<bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_again</bpmn:incoming>'
          '<bpmn:outgoing>f2</bpmn:outgoing>').replace(
    '<bpmn:lane id="l2" name="steering"><bpmn:flowNodeRef>vote</bpmn:flowNodeRef>',
    '<bpmn:lane id="l2" name="steering"><bpmn:flowNodeRef>vote</bpmn:flowNodeRef>'
    '<bpmn:flowNodeRef>gw</bpmn:flowNodeRef>')


def test_a_committee_votes_again_in_a_new_round(engine, session, clock, people):
    """distinctActors holds within one round; a second run of the step is a new round
    (and the library's multi-instance output typo no longer crashes it)."""
    engine.services.register("check_budget", check_budget)
    d = Driver(engine, session, clock)
    d.deploy_text("committee.bpmn", REVOTE)
    inst = d.start("committee", data={"budget": 5, "sla_days": 1})
    for user, ballot in (("steer1", "reject"), ("steer2", "reject")):
        task = next(t for t in d.open_tasks(inst.id) if t.element_id == "vote")
        engine.complete(session, task.id, user, {"ballot": ballot})
    # Rejected by majority: the same committee votes again, in a new round.
    second = [t for t in d.open_tasks(inst.id) if t.element_id == "vote"]
    assert len(second) == 3
    engine.complete(session, second[0].id, "steer1", {"ballot": "approve"})
    with pytest.raises(Forbidden, match="already completed"):
        engine.complete(session, second[1].id, "steer1", {"ballot": "approve"})
    engine.complete(session, second[1].id, "steer2", {"ballot": "approve"})
    assert d.instance(inst.id).status == "completed"
    assert instance_data(engine, session, inst.id)["votes"][:2] == ["approve", "approve"]


COLLECT_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="t">
  <decision id="slas" name="SLAs">
    <decisionTable id="t" hitPolicy="COLLECT">
      <input id="i1" label="Budget"><inputExpression id="e1" typeRef="number"><text>budget</text></inputExpression></input>
      <output id="o1" label="Role" name="approver_roles" typeRef="string"/>
      <output id="o2" label="SLA" name="sla_days" typeRef="number"/>
      <rule id="r1"><inputEntry id="a1"><text></text></inputEntry><outputEntry id="b1"><text>"pmo_head"</text></outputEntry><outputEntry id="c1"><text>5</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="a2"><text>&gt;= 100000</text></inputEntry><outputEntry id="b2"><text>"finance"</text></outputEntry><outputEntry id="c2"><text>5</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="a3"><text>&gt; 1000000</text></inputEntry><outputEntry id="b3"><text>"steering"</text></outputEntry><outputEntry id="c3"><text>10</text></outputEntry></rule>
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
      <bpmn:incoming>f0</bpmn:incoming><bpmn:incoming>f_back</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:userTask id="look" name="Look"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" default="f_end"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_back</bpmn:outgoing><bpmn:outgoing>f_end</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="rules"/>
    <bpmn:sequenceFlow id="f1" sourceRef="rules" targetRef="look"/>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_back" sourceRef="gw" targetRef="rules"><bpmn:conditionExpression>again</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_end" sourceRef="gw" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_decision_outputs_are_assigned_not_merged(engine, session, clock, people):
    from engine.spiff.bundle import SourceFile

    engine.deploy(session, [SourceFile("route.bpmn", ROUTE.encode()),
                            SourceFile("slas.dmn", COLLECT_DMN.encode())], "owner1")
    d = Driver(engine, session, clock)
    inst = d.start("route", data={"budget": 50_000})
    data = instance_data(engine, session, inst.id)
    assert data["approver_roles"] == ["pmo_head"] and data["sla_days"] == [5]
    # A second evaluation replaces the lists (the library's merge kept [5, 10]: it
    # drops duplicates and mixes rounds); COLLECT keeps duplicates in rule order.
    d.complete(inst.id, "look", "pm1", {"again": True, "budget": 2_000_000})
    data = instance_data(engine, session, inst.id)
    assert data["approver_roles"] == ["pmo_head", "finance", "steering"]
    assert data["sla_days"] == [5, 5, 10]


def test_validate_reports_the_same_on_cancel_problem_as_deploy(engine, session, people):
    from engine.spiff.bundle import SourceFile

    engine.services.register("check_budget", check_budget)
    xml = COMMITTEE.replace(
        'isExecutable="true">',
        'isExecutable="true"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="onCancel" value="nope"/></spiffworkflow:properties>'
        '</bpmn:extensionElements>', 1)
    problems = engine.validate(session, [SourceFile("committee.bpmn", xml.encode())])
    assert [p.element_id for p in problems] == ["committee"]
    assert "unknown operation 'nope'" in problems[0].message


def test_glue_sees_on_whose_behalf_a_delegate_acts(engine, session, clock, people):
    from engine import identity
    from engine.store.uow import unit_of_work

    seen = []

    def who(call: ServiceCall) -> None:
        seen.append((call.actor, call.on_behalf_of))

    engine.services.register("who", who)
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="whop" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="pm"><bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="pmo_head"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="t" name="Decide"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:serviceTask id="w" name="Record"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="who"><spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="w"/>
    <bpmn:sequenceFlow id="f3" sourceRef="w" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    d = Driver(engine, session, clock)
    d.deploy_text("whop.bpmn", xml)
    with unit_of_work(session):
        identity.add_delegation(session, "pmohead", "reviewer1", clock.now(), None, "leave",
                                clock.now())
    inst = d.start("whop")
    d.complete(inst.id, "t", "reviewer1")
    assert seen == [("reviewer1", "pmohead")]
