"""Need-to-know (engine/access.py) on both databases: who sees which request, the SQL
filter and the one-object check agree, attachments follow the request, glue notifications
(and their e-mail) reach only those who may see the request, people chosen in a role field
must hold the role, out-of-office and hand-over go only to people who may do the work, and
an administrator's override needs a reason and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from engine import access, identity
from engine.errors import Forbidden, InvalidData
from engine.services import ServiceCall
from engine.store.models import (
    AuditEvent,
    HumanTask,
    Notification,
    OutboxMessage,
    ProcessInstance,
    UserRole,
)
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver

PROJECT = 7


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def _seen(session, username: str, now) -> set[int]:
    with unit_of_work(session, write=False):
        return set(session.scalars(select(ProcessInstance.id)
                                   .where(access.instance_filter(session, username, now))))


def _check(session, username: str, instance_id: int, now) -> bool:
    with unit_of_work(session, write=False):
        inst = session.get(ProcessInstance, instance_id)
        return access.may_view_instance(session, username, inst, now)


def test_who_sees_a_request_and_list_and_page_agree(drv, session, clock, people):
    mine = drv.start("approval3", actor="pm1", data={"title": "Mine", "budget": 1},
                     project_id=PROJECT)
    other = drv.start("approval3", actor="pm2", data={"title": "Other", "budget": 1})
    now = clock.now()
    expected = {
        "pm1": {mine.id},  # started it
        "pm2": {other.id},
        "reviewer1": {mine.id, other.id},  # the open review waits on their role
        "pmohead": {mine.id, other.id},  # the PMO sees every request
        "steer1": {mine.id, other.id},  # and so does the steering committee
        "finance1": set(),
        "team1": set(),
        "sponsor1": set(),
    }
    for user, ids in expected.items():
        assert _seen(session, user, now) == ids, user
        for inst in (mine.id, other.id):
            assert _check(session, user, inst, now) == (inst in ids), (user, inst)
    with unit_of_work(session):  # a role in the project shows its requests
        identity.grant_project_role(session, PROJECT, "team1", "team")
    assert _seen(session, "team1", now) == {mine.id}
    assert _check(session, "team1", mine.id, now)


def test_taking_part_keeps_a_request_visible(drv, engine, session, clock, people):
    inst = drv.start("approval3", actor="pm1", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    engine.claim(session, review.id, "reviewer1")
    with unit_of_work(session):  # reviewer1 leaves the PMO; the review is theirs
        session.execute(delete(UserRole).where(UserRole.username == "reviewer1"))
    assert _check(session, "reviewer1", inst.id, clock.now())  # assigned to them
    assert _check(session, "reviewer2", inst.id, clock.now())  # holds the step's role
    assert not _check(session, "finance1", inst.id, clock.now())


def test_attachments_follow_the_request(drv, engine, session, clock, people):
    upload = engine.add_attachment(session, "pm1", "charter.txt", b"charter\n")
    inst = drv.start("approval3", actor="pm1",
                     data={"title": "A", "budget": 1,
                           "charter": {"attachment_id": upload.id, "name": "charter.txt"}})
    assert engine.attachment(session, upload.id, "pm1")[1] == b"charter\n"
    assert engine.attachment(session, upload.id, "steer1")[1] == b"charter\n"
    with pytest.raises(Forbidden) as refused:
        engine.attachment(session, upload.id, "pm2")
    assert refused.value.code == "access.no_access"
    assert inst.id


def test_glue_notifications_and_mail_only_reach_those_who_may_see(engine, session, clock,
                                                                   people):
    from tests.engine.test_engine_rules import COMMITTEE, check_budget

    def withdrawn(call: ServiceCall) -> None:
        call.notify(["pm2", "steer1", "team1"], "Withdrawn")  # pm2, team1: nothing to do
        call.notify(["team1"], "Named on it", named=True)  # the process names team1

    engine.services.register("proposal_withdrawn", withdrawn)
    engine.services.register("check_budget", check_budget)
    xml = COMMITTEE.replace(
        '<bpmn:process id="committee" name="Committee" isExecutable="true">',
        '<bpmn:process id="committee" name="Committee" isExecutable="true"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="onCancel" '
        'value="proposal_withdrawn"/></spiffworkflow:properties></bpmn:extensionElements>')
    d = Driver(engine, session, clock)
    d.deploy_text("committee.bpmn", xml)
    inst = d.start("committee", data={"budget": 7, "sla_days": 1})
    engine.cancel(session, inst.id, "pm1", "no longer needed", kind="withdrawn")
    with unit_of_work(session, write=False):
        told = sorted(session.execute(
            select(Notification.username, Notification.title)
            .where(Notification.instance_id == inst.id, Notification.kind == "info")).all())
        mailed = set(session.scalars(select(OutboxMessage.username)
                                     .where(OutboxMessage.kind == "info")))
    assert told == [("steer1", "Withdrawn"), ("team1", "Named on it")]
    assert mailed == {"steer1", "team1"}  # no mail to pm2 either
    assert _check(session, "team1", inst.id, clock.now())  # named: they may open it now
    assert not _check(session, "pm2", inst.id, clock.now())


def test_a_role_field_takes_only_holders_of_the_role(session, people):
    schema = {"type": "object", "properties": {
        "sponsor": {"type": "string", "x-widget": "user", "x-role": "sponsor"},
        "team": {"type": "array", "items": {"type": "string", "x-role": "team"}}}}
    with unit_of_work(session, write=False):
        access.check_people(session, schema, {"sponsor": "sponsor1", "team": ["team1"]})
        with pytest.raises(InvalidData) as refused:
            access.check_people(session, schema, {"sponsor": "pm2", "team": ["team1", "pm1"]})
    errors = refused.value.errors
    assert set(errors) == {"sponsor", "team"}
    assert errors["sponsor"].code == "form.not_role_holder"
    assert errors["sponsor"].params == {"field": "sponsor", "user": "pm2", "role": "sponsor"}
    assert "pm2" in errors["sponsor"] and "sponsor" in errors["sponsor"]
    assert errors["team"].params["user"] == "pm1"
    with unit_of_work(session):  # a project role does not make someone eligible
        identity.grant_project_role(session, PROJECT, "pm2", "sponsor")
    with unit_of_work(session, write=False), pytest.raises(InvalidData):
        access.check_people(session, schema, {"sponsor": "pm2"})
    with unit_of_work(session, write=False):  # but counts for that project's own forms
        access.check_people(session, schema, {"sponsor": "pm2"}, PROJECT)
        access.check_people(session, schema, {"sponsor": "pm2", "project_id": PROJECT})
        with pytest.raises(InvalidData):
            access.check_people(session, schema, {"sponsor": "pm2"}, PROJECT + 1)


SPONSOR_STEP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs" targetNamespace="http://pmoflow.example/test">
  <bpmn:process id="signoff" name="Sponsor sign-off" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_pm" name="pm"><bpmn:flowNodeRef>start</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_sp" name="sponsor"><bpmn:flowNodeRef>sign</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="sign" name="Sign off"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="assignee" value="sponsor"/>
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_out_of_office_goes_only_to_a_delegate_who_may_do_the_work(engine, session, clock,
                                                                     people):
    d = Driver(engine, session, clock)
    d.deploy_text("signoff.bpmn", SPONSOR_STEP)
    now = clock.now()
    with unit_of_work(session):
        identity.create_user(session, "sponsor2", now=now, password="demo", roles=["sponsor"])
        identity.grant_project_role(session, PROJECT, "sponsor1", "sponsor")
    engine.set_out_of_office(session, "sponsor1", delegate="sponsor2",
                             starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2),
                             reason="holiday")
    inst = d.start("signoff", data={"sponsor": "sponsor1"}, project_id=PROJECT)
    assert d.task(inst.id, "sign").assignee == "sponsor1"  # sponsor2 is not this project's
    with unit_of_work(session, write=False):
        kept = session.scalar(select(AuditEvent).where(AuditEvent.kind == "out_of_office_kept"))
    assert kept.detail["to"] == "sponsor2" and "sponsor" in kept.detail["why"]
    with unit_of_work(session):
        identity.grant_project_role(session, PROJECT, "sponsor2", "sponsor")
    later = d.start("signoff", data={"sponsor": "sponsor1"}, project_id=PROJECT)
    assert d.task(later.id, "sign").assignee == "sponsor2"


def test_hand_over_needs_an_eligible_person_and_an_override_is_audited(drv, engine, session,
                                                                        clock, people):
    inst = drv.start("approval3", actor="pm1", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    with pytest.raises(Forbidden) as refused:
        engine.reassign(session, review.id, "admin", "pm2", "cover")
    assert refused.value.code == "access.handover_not_eligible"
    with pytest.raises(InvalidData):  # an override needs a reason too
        engine.reassign(session, review.id, "admin", "pm2", " ", override=True)
    with pytest.raises(Forbidden):  # only an administrator may override
        engine.reassign(session, review.id, "reviewer1", "pm2", "cover", override=True)
    moved = engine.reassign(session, review.id, "admin", "pm2", "cover", override=True)
    assert moved.assignee == "pm2"
    with unit_of_work(session, write=False):
        event = session.scalar(select(AuditEvent).where(AuditEvent.kind == "reassigned"))
        assert session.get(HumanTask, review.id).assignee == "pm2"
    assert event.actor == "admin" and event.reason == "cover"
    assert event.detail["to"] == "pm2" and "pmo_reviewer" in event.detail["override"]


def test_a_step_given_to_one_pm_is_not_shown_to_the_other_pms(engine, session, clock, people):
    d = Driver(engine, session, clock)
    d.deploy_text("ooo_check.bpmn", PM_STEP)
    inst = d.start("pm_rework", actor="pm1", data={"who": "pm1"})
    rework = d.task(inst.id, "rework")
    assert rework.assignee == "pm1"
    now = clock.now()
    assert not _check(session, "pm2", inst.id, now)  # holds the role pm, but not the step
    assert inst.id not in _seen(session, "pm2", now)
    with pytest.raises(Forbidden):
        engine.task(session, rework.id, "pm2")
    assert engine.task(session, rework.id, "pm1").id == rework.id


PM_STEP = SPONSOR_STEP.replace('id="signoff" name="Sponsor sign-off"',
                               'id="pm_rework" name="Rework"').replace(
    'name="sponsor"><bpmn:flowNodeRef>sign', 'name="pm"><bpmn:flowNodeRef>rework').replace(
    'flowNodeRef>sign<', 'flowNodeRef>rework<').replace(
    'id="sign" name="Sign off"', 'id="rework" name="Rework"').replace(
    'value="sponsor"', 'value="who"').replace('targetRef="sign"', 'targetRef="rework"').replace(
    'sourceRef="sign"', 'sourceRef="rework"')
