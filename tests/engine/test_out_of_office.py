"""Out of office: work assigned in the period goes to the delegate (audited), four eyes
still holds, the delegate must be allowed to do the work, bad periods are field errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import identity
from engine.errors import InvalidData
from engine.store.models import AuditEvent, OutboxMessage
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs" targetNamespace="http://pmoflow.example/test">
  <bpmn:process id="ooo_check" name="A check by a named reviewer" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_pm" name="pm"><bpmn:flowNodeRef>start</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_rev" name="pmo_reviewer"><bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="assignee" value="reviewer"/>
      <spiffworkflow:property name="fourEyes" value="true"/>
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy_text("ooo_check.bpmn", BPMN)
    return d


def _audit(session, kind):
    session.expire_all()
    with unit_of_work(session, write=False):
        return session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)).all()


def test_work_assigned_while_away_goes_to_the_delegate(drv, engine, session, clock):
    now = clock.now()
    away = engine.set_out_of_office(session, "reviewer1", delegate="reviewer2",
                                    starts_at=now - timedelta(hours=1),
                                    ends_at=now + timedelta(days=2), reason="holiday")
    assert away.delegate == "reviewer2"
    assert engine.mail_preferences(session, "reviewer1").out_of_office == away
    inst = drv.start("ooo_check", data={"reviewer": "reviewer1"})
    assert drv.task(inst.id, "check").assignee == "reviewer2"
    [event] = _audit(session, "out_of_office_redirected")
    assert event.instance_id == inst.id
    assert event.detail == {"task": "Check", "from": "reviewer1", "to": "reviewer2"}
    with unit_of_work(session, write=False):
        mailed = session.scalars(select(OutboxMessage.username)).all()
    assert mailed == ["reviewer2"]  # the delegate is told, not the absent reviewer
    assert drv.complete(inst.id, "check", "reviewer2").status == "completed"
    assert [e.actor for e in _audit(session, "out_of_office_set")] == ["reviewer1"]

    clock.advance(timedelta(days=3))  # back from holiday: work stays with them
    later = drv.start("ooo_check", data={"reviewer": "reviewer1"})
    assert drv.task(later.id, "check").assignee == "reviewer1"
    assert engine.mail_preferences(session, "reviewer1").out_of_office is None


def test_four_eyes_still_holds_for_the_delegate(drv, engine, session, clock):
    with unit_of_work(session):
        identity.create_user(session, "rev3", now=clock.now(), roles=["pm", "pmo_reviewer"])
    now = clock.now()
    engine.set_out_of_office(session, "reviewer1", delegate="rev3", starts_at=now,
                             ends_at=now + timedelta(days=1))
    clock.advance(timedelta(minutes=1))
    inst = drv.start("ooo_check", actor="rev3", data={"reviewer": "reviewer1"})
    # rev3 started the request, so the four-eyes check stays with its assignee.
    assert drv.task(inst.id, "check").assignee == "reviewer1"
    [kept] = _audit(session, "out_of_office_kept")
    assert kept.detail["to"] == "rev3" and kept.instance_id == inst.id
    assert _audit(session, "out_of_office_redirected") == []


def test_bad_periods_and_delegates_are_field_errors_and_nothing_is_saved(engine, session, clock,
                                                                       people):
    now = clock.now()
    with pytest.raises(InvalidData) as err:
        engine.set_out_of_office(session, "reviewer1", delegate="reviewer2", starts_at=now,
                                 ends_at=now - timedelta(days=1))
    assert err.value.errors["ends_at"].code == "ooo.ends_before_start"
    with pytest.raises(InvalidData) as err:
        engine.set_out_of_office(session, "reviewer1", delegate="pm1", starts_at=now,
                                 ends_at=now + timedelta(days=1))
    problem = err.value.errors["delegate"]
    assert problem.code == "ooo.delegate_not_allowed"
    assert problem.params["role"] == "pmo_reviewer" and problem.params["user"] == "pm1"
    for delegate, code in (("reviewer1", "ooo.delegate_self"), ("nobody", "ooo.delegate_unknown"),
                           ("", "form.required")):
        with pytest.raises(InvalidData) as err:
            engine.set_out_of_office(session, "reviewer1", delegate=delegate, starts_at=now,
                                     ends_at=now + timedelta(days=1))
        assert err.value.errors["delegate"].code == code
    assert engine.mail_preferences(session, "reviewer1").out_of_office is None
    assert _audit(session, "out_of_office_set") == []


def test_mail_mode_is_a_choice(engine, session, people):
    assert engine.mail_preferences(session, "pm1").mail_mode == "immediate"
    assert engine.set_mail_mode(session, "pm1", "digest").mail_mode == "digest"
    with pytest.raises(InvalidData) as err:
        engine.set_mail_mode(session, "pm1", "hourly")
    assert err.value.errors["mail_mode"].code == "form.enum"
    assert engine.mail_preferences(session, "pm1").mail_mode == "digest"
