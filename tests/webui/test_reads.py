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


def test_pages_read_the_names_they_show_not_the_whole_directory(ctx, arrange):
    """A task page whose form picks nobody, the instance page, their lists and deadlines
    name everyone they show (the starter even after leaving, a person picked in the
    data, a reviewer inside a row, whom the task may go to) and read nobody else."""
    for n in range(6):
        arrange.add_user(f"bystander{n}", "team", name=f"Bystander {n}")
    arrange.add_user("leaver", "pm", name="Lena Leaver")
    arrange.add_user("reviewer2", "pmo_reviewer", name="Rui Second")
    inst = arrange.start("widgets", actor="leaver", data={
        "title": "T", "budget": {"amount": "1", "currency": "CNY"}, "category": "it",
        "sponsor": "sponsor1", "milestones": [{"name": "pm2"}]})
    ctx.set_user_active(db.session, "admin", "leaver", False, "left the company")
    db.session.commit()
    task = arrange.task(inst.id)

    page = pages.task_page(ctx, db.session, task.id, "reviewer1")
    shown = page.page.directory
    assert page.page.directory.people == ()  # the check form offers no person picker
    assert page.handover == ("reviewer2",) and set(page.candidates) == {"reviewer1",
                                                                      "reviewer2"}
    assert shown.name("leaver") == "Lena Leaver"  # inactive: still named
    assert shown.name("sponsor1") == "Zhang Min (Sponsor)"  # picked in the data
    assert shown.name("pm2") == "Sara Novak (PM)"  # inside a row
    assert shown.name("reviewer2") == "Rui Second"  # whom it may go to
    assert not {f"bystander{n}" for n in range(6)} & set(shown.display_names)
    assert shown.role_names["pmo_reviewer"]

    ctx.claim(db.session, task.id, "reviewer2")
    db.session.commit()
    inst_page = pages.instance_page(ctx, db.session, inst.id, "leaver")
    assert inst_page.directory.name("reviewer2") == "Rui Second"  # holds the open step
    assert not {f"bystander{n}" for n in range(6)} & set(inst_page.directory.display_names)
    deadlines = pages.deadlines(ctx, db.session, inst.id)
    assert deadlines.directory.display_names == {"reviewer2": "Rui Second"}
    listing = pages.running_instances(ctx, db.session, "pmohead", process_key="widgets")
    assert listing.directory.display_names == {"leaver": "Lena Leaver",
                                               "reviewer2": "Rui Second"}


def test_a_form_with_a_person_picker_gets_the_directory(ctx, arrange):
    arrange.add_user("bystander", "team", name="By Stander")
    page = pages.start_page(ctx, db.session, "widgets", "pm1")  # sponsor: a person picker
    people = {p.username: p for p in page.directory.people}
    assert people["bystander"].display_name == "By Stander"
    assert "sponsor" in people["sponsor1"].global_roles
    plain = pages.start_page(ctx, db.session, "approval3", "pm1")
    assert plain.directory.people == ()


def test_person_pickers_and_names_are_found_at_any_depth():
    rows = {"type": "array", "items": {"type": "object", "properties": {
        "who": {"type": "string", "x-widget": "user"}}}}
    assert pages.has_person_picker({"properties": {"team": rows}})
    assert pages.has_person_picker({"allOf": [{"properties": {"p": {"x-widget": "user"}}}]})
    assert not pages.has_person_picker({"properties": {"p": {"x-widget": "users"},
                                                       "q": {"title": "user"}}})
    assert not pages.has_person_picker(None)
    # a read-only person shows a name (looked up by the page): nothing to pick from
    assert not pages.has_person_picker({"properties": {
        "sponsor": {"type": "string", "x-widget": "user", "readOnly": True},
        "team": {**rows, "readOnly": True}}})
    assert pages.has_person_picker({"properties": {
        "sponsor": {"type": "string", "x-widget": "user", "readOnly": True},
        "deputy": {"type": "string", "x-widget": "user"}}})
    found = pages.usernames_in({"a": ["pm1", {"b": ("pm2",)}], "n": 3, "c": "x" * 65},
                               "sponsor1", None, "")
    assert found == {"pm1", "pm2", "sponsor1"}
    assert len(pages.usernames_in([str(n) for n in range(5000)])) == pages.MOST_NAMES
