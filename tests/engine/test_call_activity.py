"""Steps inside a called process keep their own properties (assignee, form, four eyes)."""

from __future__ import annotations

import json

import pytest

from engine.errors import Forbidden, InvalidData
from engine.spiff.bundle import SourceFile
from tests.engine.driver import Driver

HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" '
        'targetNamespace="t">')

CALLED = HEAD + """
  <bpmn:process id="contribute" name="Contribute" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="team"><bpmn:flowNodeRef>write</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="cs"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="write" name="Write a lesson"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="assignee" value="member"/>
      <spiffworkflow:property name="fourEyes" value="true"/>
      <spiffworkflow:property name="formJsonSchemaFilename" value="lesson.schema.json"/>
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="ce"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="write"/><bpmn:sequenceFlow id="c2" sourceRef="write" targetRef="ce"/>
  </bpmn:process></bpmn:definitions>"""

CALLER = HEAD + """
  <bpmn:process id="collect" name="Collect" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="pm"><bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="ask" name="Ask the team" calledElement="contribute"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>members</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="member" name="member"/></bpmn:multiInstanceLoopCharacteristics></bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/><bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="e"/>
  </bpmn:process></bpmn:definitions>"""

LESSON = {"type": "object", "required": ["text"],
          "properties": {"text": {"type": "string", "minLength": 3}}}


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    from engine import identity
    from engine.store.uow import unit_of_work

    with unit_of_work(session):
        identity.create_user(session, "team2", now=clock.now(), roles=["team"])
    engine.deploy(session, [SourceFile("contribute.bpmn", CALLED.encode()),
                            SourceFile("forms/lesson.schema.json",
                                       json.dumps(LESSON).encode())], "owner1")
    engine.deploy(session, [SourceFile("collect.bpmn", CALLER.encode())], "owner1")
    return Driver(engine, session, clock)


def test_called_steps_keep_assignee_form_and_four_eyes(drv, session):
    inst = drv.start("collect", data={"members": ["team1", "team2", "pm1"]})
    tasks = drv.open_tasks(inst.id)
    assert sorted((t.element_id, t.assignee, t.form, t.four_eyes) for t in tasks) == [
        ("write", "pm1", "lesson.schema.json", True),
        ("write", "team1", "lesson.schema.json", True),
        ("write", "team2", "lesson.schema.json", True),
    ]
    called = next(d for d in drv.engine.definitions(session) if d.key == "contribute")
    assert {t.form_definition_id for t in tasks} == {called.id}
    mine = {t.assignee: t for t in tasks}
    with pytest.raises(InvalidData) as err:  # the called process's form is enforced
        drv.engine.complete(session, mine["team1"].id, "team1", {"text": ""})
    assert "text" in err.value.errors
    with pytest.raises(Forbidden):  # assigned to team1 only
        drv.engine.complete(session, mine["team1"].id, "team2", {"text": "abc"})
    with pytest.raises(Forbidden, match="four-eyes"):  # pm1 started the instance
        drv.engine.complete(session, mine["pm1"].id, "pm1", {"text": "abc"})
    drv.engine.complete(session, mine["team1"].id, "team1", {"text": "Test early"})
    assert drv.engine.form_schema(session, called.id, "lesson.schema.json") == LESSON
