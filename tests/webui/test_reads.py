"""engine/pages.py and engine/access.py: the rules the pages rely on, called directly."""

from __future__ import annotations

import pytest

from engine import access, pages
from engine.errors import Forbidden, InvalidData, NotFound
from engine.spiff.bundle import SourceFile
from engine.store.models import User
from webui.extensions import db

OPEN_TO_ALL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://pmoflow.example/test">
  <bpmn:process id="suggest" name="Suggestion box" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="pmo_reviewer">
      <bpmn:flowNodeRef>read</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="read" name="Read it"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="read"/>
    <bpmn:sequenceFlow id="f2" sourceRef="read" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app.extensions["pmoflow"].engine


def test_startable_respects_the_start_role_and_no_role_means_anyone(ctx):
    ctx.deploy(db.session, [SourceFile("suggest.bpmn", OPEN_TO_ALL)], "owner1")
    assert {d.key for d in pages.startable(ctx, db.session, "pm1")} == {
        "approval3", "widgets", "suggest"}
    assert {d.key for d in pages.startable(ctx, db.session, "team1")} == {"suggest"}
    page = pages.start_page(ctx, db.session, "suggest", "team1")
    assert page.schema is None and page.definition.start_role is None
    with pytest.raises(Forbidden):
        pages.start_page(ctx, db.session, "approval3", "team1")
    with pytest.raises(NotFound):
        pages.start_page(ctx, db.session, "nope", "pm1")


def test_instance_visibility(ctx, arrange):
    inst = arrange.start()
    row = db.session.get(pages.ProcessInstance, inst.id)
    now = ctx.clock.now()
    assert access.may_view_instance(db.session, "pm1", row, now)
    assert access.may_view_instance(db.session, "reviewer1", row, now)  # its task's role
    assert access.may_view_instance(db.session, "admin", row, now)  # the PMO
    assert not access.may_view_instance(db.session, "finance1", row, now)


def test_withdraw_and_reassign_rules(ctx, arrange):
    inst = arrange.start()
    access.require_starter(db.session, inst.id, "pm1")
    with pytest.raises(Forbidden):
        access.require_starter(db.session, inst.id, "pm2")
    with pytest.raises(NotFound):
        access.require_starter(db.session, 999, "pm1")
    access.require_admin(db.session, "admin")
    with pytest.raises(Forbidden):
        access.require_admin(db.session, "pmohead")


def test_set_locale(ctx):
    ctx.set_locale(db.session, "pm1", "zh")
    assert db.session.scalar(db.select(User.locale).where(User.username == "pm1")) == "zh"
    with pytest.raises(InvalidData):
        ctx.set_locale(db.session, "pm1", "fr")


def test_task_page_values_take_draft_over_instance_data(ctx, arrange):
    inst = arrange.start("widgets", data={"title": "T", "budget": {"amount": "1",
                                                                   "currency": "CNY"},
                                          "category": "it"})
    task = arrange.task(inst.id)
    page = pages.task_page(ctx, db.session, task.id, "reviewer1")
    assert page.values == {"title": "T", "budget": {"amount": "1", "currency": "CNY"}}
    ctx.save_draft(db.session, task.id, "reviewer1", {"title": "draft", "decision": "accept"})
    page = pages.task_page(ctx, db.session, task.id, "reviewer1")
    assert page.values["title"] == "draft" and page.values["decision"] == "accept"
    assert page.has_draft and page.can_act and page.can_claim and not page.can_unclaim


def test_lists_page_and_count(ctx, arrange):
    for n in range(4):
        arrange.start(title=f"R{n}")
    listing = pages.my_requests(ctx, db.session, "pm1", offset=1, limit=2)
    assert listing.total == 4 and [r.title for r in listing.rows] == ["R2", "R1"]
    assert listing.rows[0].waiting[0].step == "Check completeness"
    with pytest.raises(Forbidden):
        pages.running_instances(ctx, db.session, "pm1")
    assert pages.running_instances(ctx, db.session, "pmohead").total == 4
