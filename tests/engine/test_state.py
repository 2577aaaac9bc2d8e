"""Saved state: spec-less, version-checked, never poisoned, never aliased."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import execution
from engine.errors import InvalidData, StateError, TaskFailed
from engine.spiff.bundle import SourceFile
from engine.store import rows
from engine.store.models import HumanTask, ProcessInstance
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from tests.support import instance_data, visited_elements

SCRIPTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="scripted" name="Scripted" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="pm"><bpmn:flowNodeRef>first</bpmn:flowNodeRef><bpmn:flowNodeRef>second</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first" name="First"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="mutate" name="Mutate"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>proj["meta"]["owner"] = "bob"
SCRIPT_BODY</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="second" name="Second"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="mutate"/>
    <bpmn:sequenceFlow id="f3" sourceRef="mutate" targetRef="second"/>
    <bpmn:sequenceFlow id="f4" sourceRef="second" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return Driver(engine, session, clock)


def _deploy(drv, body: str = "x = 1"):
    drv.deploy_text("scripted.bpmn", SCRIPTED.replace("SCRIPT_BODY", body))


def test_reserved_ids_start_and_end_deploy_and_run(drv, session):
    _deploy(drv)
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    drv.complete(inst.id, "first", "pm1")
    done = drv.complete(inst.id, "second", "pm1")
    assert done.status == "completed"
    visits = visited_elements(drv.engine, session, inst.id)
    assert visits["Start"] == 1 and visits["End"] == 1  # reported under the diagram's ids


def test_state_is_specless_and_wrapped(drv, session):
    _deploy(drv)
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    state = json.loads(session.get(ProcessInstance, inst.id).state)
    assert state["format"] == 1 and state["spiff"] == "1.5"
    assert "spec" not in state["workflow"] and "subprocess_specs" not in state["workflow"]


def test_unknown_serializer_version_is_refused_and_instance_untouched(drv, session):
    _deploy(drv)
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    with unit_of_work(session):
        row = session.get(ProcessInstance, inst.id)
        doc = json.loads(row.state)
        doc["spiff"] = "1.4"
        row.state = json.dumps(doc)
    task = drv.task(inst.id, "first")
    with pytest.raises(StateError, match=r"reads only 1 / 1\.5"):
        drv.engine.complete(session, task.id, "pm1", {})
    session.expire_all()
    assert session.get(HumanTask, task.id).status == "open"


def test_script_cannot_rewrite_earlier_task_data(drv, session):
    _deploy(drv)
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    drv.complete(inst.id, "first", "pm1")
    # The script changed the nested owner for what follows ...
    assert instance_data(drv.engine, session, inst.id)["proj"]["meta"]["owner"] == "bob"
    # ... but the instance's own start data (root of the tree) still says ann.
    row = rows.require_instance(session, inst.id)
    loaded = execution.load(drv.engine.ctx, session, row, "t", drv.clock.now())
    assert loaded.workflow.task_tree.data["proj"]["meta"]["owner"] == "ann"


def test_form_data_with_a_type_tag_key_is_refused(drv, session):
    _deploy(drv)
    with pytest.raises(InvalidData, match="reserved"):
        drv.start("scripted", data={"proj": {"typename": "BpmnWorkflow"}})
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    with pytest.raises(InvalidData, match="reserved"):
        drv.complete(inst.id, "first", "pm1", {"x": [{"typename": "UUID", "value": "1"}]})
    assert drv.task(inst.id, "first").status == "open"


def test_script_storing_a_type_tag_key_fails_and_nothing_is_saved(drv, session):
    _deploy(drv, 'bad = {"typename": "UUID", "value": "x"}')
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    revision = drv.instance(inst.id).revision
    with pytest.raises(InvalidData, match="reserved"):
        drv.complete(inst.id, "first", "pm1")
    assert drv.instance(inst.id).revision == revision
    assert drv.task(inst.id, "first").status == "open"


def test_script_error_names_element_and_line(drv, session):
    _deploy(drv, "y = 1\nz = undefined_name + 1")
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    with pytest.raises(TaskFailed) as err:
        drv.complete(inst.id, "first", "pm1")
    assert err.value.element_id == "mutate" and err.value.line == 3
    assert "undefined_name" in str(err.value)
    assert session.scalars(select(HumanTask.status).where(
        HumanTask.element_id == "first")).all() == ["open"]


def test_script_timeout_names_element(drv, session):
    _deploy(drv, "while True:\n    try:\n        pass\n    except Exception:\n        pass")
    inst = drv.start("scripted", data={"proj": {"meta": {"owner": "ann"}}})
    with pytest.raises(TaskFailed) as err:
        drv.complete(inst.id, "first", "pm1")
    assert err.value.element_id == "mutate"
    assert "time limit" in str(err.value)


def test_deploy_rejects_a_script_that_imports(drv, session):
    from engine.errors import InvalidDiagram
    with pytest.raises(InvalidDiagram) as err:
        drv.engine.deploy(session, [SourceFile("s.bpmn", SCRIPTED.replace(
            "SCRIPT_BODY", "import os").encode())], "owner1")
    assert [p.element_id for p in err.value.problems] == ["mutate"]
