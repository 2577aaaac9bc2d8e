"""Process versions: comments, effective dates, drafts, validating and deploying from the
modeler, moving running instances to a new version (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidData, InvalidDiagram
from engine.store.models import AuditEvent
from tests.engine.driver import Driver

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def chain(steps: list[tuple[str, str]], *, key: str = "chain", lane: str = "pmo_reviewer",
          loose: str | None = None) -> str:
    """start -> user tasks (id, name) in one lane -> end; ``loose``: one more task drawn
    without any flow (what validation must catch)."""
    ids = ["start", *[s for s, _ in steps], "end"]
    nodes = ['<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for i, (sid, name) in enumerate(steps):
        nodes.append(f'<bpmn:userTask id="{sid}" name="{name}"><bpmn:incoming>f{i}'
                     f'</bpmn:incoming><bpmn:outgoing>f{i + 1}</bpmn:outgoing></bpmn:userTask>')
    nodes.append(f'<bpmn:endEvent id="end"><bpmn:incoming>f{len(steps)}</bpmn:incoming>'
                 '</bpmn:endEvent>')
    if loose:
        nodes.append(f'<bpmn:userTask id="{loose}" name="Loose step"/>')
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
             for i, (a, b) in enumerate(pairwise(ids))]
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>"
                   for n in [*ids, *([loose] if loose else [])])
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d" '
            f'targetNamespace="t"><bpmn:process id="{key}" name="Chain" isExecutable="true">'
            f'<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="{lane}">{refs}</bpmn:lane>'
            f'</bpmn:laneSet>{"".join(nodes)}{"".join(flows)}</bpmn:process>'
            '</bpmn:definitions>')


V1 = chain([("a", "Check"), ("b", "Approve")])
V2 = chain([("a", "Check"), ("x", "Extra review"), ("b", "Approve")])
V3_NO_B = chain([("a", "Check"), ("c", "Sign off")])


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return Driver(engine, session, clock)


def _deploy(drv: Driver, xml: str, comment: str = "change", **kw):
    return drv.engine.deploy_draft(drv.session, xml.encode(), "owner1", comment=comment,
                                   file_name="chain.bpmn", **kw)


def test_versions_list_comment_who_and_running_counts(drv, session):
    _deploy(drv, V1, "first cut")
    drv.start("chain", actor="reviewer1")
    drv.start("chain", actor="reviewer1")
    result = _deploy(drv, V2, "add an extra review")
    assert [p.version for p in result.processes] == [2]
    drv.start("chain", actor="reviewer1")
    found = drv.engine.process_versions(session, "chain", actor="owner1")
    assert [(v.definition.version, v.running, v.current) for v in found] == [
        (2, 1, True), (1, 2, False)]
    assert found[0].definition.comment == "add an extra review"
    assert found[0].definition.deployed_by == "owner1"
    reasons = session.scalars(select(AuditEvent.reason).where(AuditEvent.kind == "deployed")
                              .order_by(AuditEvent.id)).all()
    assert reasons == ["first cut", "add an extra review"]
    with pytest.raises(Forbidden):
        drv.engine.process_versions(session, "chain", actor="pm1")


def test_deploy_from_the_modeler_needs_a_comment_an_owner_and_a_clean_diagram(drv, session):
    with pytest.raises(InvalidData) as err:
        _deploy(drv, V1, "  ")
    assert "comment" in err.value.errors
    with pytest.raises(Forbidden):
        drv.engine.deploy_draft(session, V1.encode(), "pm1", comment="mine")
    with pytest.raises(InvalidDiagram) as bad:
        _deploy(drv, chain([("a", "Check")], loose="lost"))
    assert "lost" in {p.element_id for p in bad.value.problems}
    assert drv.engine.definitions(session) == []


def test_validate_draft_names_the_unconnected_element(drv, session):
    problems = drv.engine.validate_draft(session, chain([("a", "Check")], loose="lost")
                                         .encode(), "owner1")
    lost = [p for p in problems if p.element_id == "lost"]
    assert lost and all(p.element_name == "Loose step" for p in lost)
    assert drv.engine.validate_draft(session, V1.encode(), "owner1") == []
    with pytest.raises(Forbidden):
        drv.engine.validate_draft(session, V1.encode(), "reviewer1")


def test_a_version_taking_effect_later_leaves_new_instances_on_the_one_before(drv, session,
                                                                               clock):
    _deploy(drv, V1)
    _deploy(drv, V2, effective_from=clock.now() + timedelta(days=2))
    before = drv.start("chain", actor="reviewer1")
    assert before.definition_version == 1
    assert [d.version for d in drv.engine.definitions(session)] == [1]
    clock.advance(days=2, seconds=1)
    after = drv.start("chain", actor="reviewer1")
    assert after.definition_version == 2
    assert [d.version for d in drv.engine.definitions(session)] == [2]


def test_running_instances_stay_on_their_version_unless_moved(drv, session):
    _deploy(drv, V1)
    stays = drv.start("chain", actor="reviewer1")
    moves = drv.start("chain", actor="reviewer1")
    _deploy(drv, V2)
    target = drv.engine.process_versions(session, "chain")[0].definition.id
    found = {c.instance_id: c for c in drv.engine.move_candidates(session, target, "owner1")}
    assert found[moves.id].movable and found[moves.id].waiting == ("Check (a)",)
    result = drv.engine.move_instances(session, [moves.id], target, "owner1", "new rule")
    assert result.moved == (moves.id,) and not result.refused
    assert drv.instance(moves.id).definition_version == 2
    # The moved one takes the step added after the one it waited at ...
    drv.complete(moves.id, "a", "reviewer1")
    assert [t.element_id for t in drv.open_tasks(moves.id)] == ["x"]
    drv.complete(moves.id, "x", "reviewer1")
    drv.complete(moves.id, "b", "reviewer1")
    assert drv.instance(moves.id).status == "completed"
    assert "moved_version" in drv.kinds(moves.id)
    # ... the other finishes on version 1, without it.
    drv.complete(stays.id, "a", "reviewer1")
    assert [t.element_id for t in drv.open_tasks(stays.id)] == ["b"]
    drv.complete(stays.id, "b", "reviewer1")
    assert drv.instance(stays.id).status == "completed"
    assert drv.instance(stays.id).definition_version == 1


def test_an_instance_waiting_at_a_removed_step_is_named_and_stays(drv, session):
    _deploy(drv, V1)
    at_b = drv.start("chain", actor="reviewer1")
    drv.complete(at_b.id, "a", "reviewer1")
    at_a = drv.start("chain", actor="reviewer1")
    _deploy(drv, V3_NO_B)
    target = drv.engine.process_versions(session, "chain")[0].definition.id
    found = {c.instance_id: c for c in drv.engine.move_candidates(session, target, "owner1")}
    assert found[at_b.id].missing == ("Approve (b)",)
    assert found[at_a.id].movable
    result = drv.engine.move_instances(session, [at_b.id, at_a.id], target, "owner1", "v3")
    assert result.moved == (at_a.id,)
    assert "Approve (b)" in result.refused[at_b.id]
    assert drv.instance(at_b.id).definition_version == 1
    drv.complete(at_b.id, "b", "reviewer1")  # still runs, on version 1
    assert drv.instance(at_b.id).status == "completed"
    finished = drv.engine.move_instances(session, [at_b.id], target, "owner1", "late")
    assert finished.moved == () and "already completed" in finished.refused[at_b.id]
    drv.complete(at_a.id, "a", "reviewer1")
    assert [t.element_id for t in drv.open_tasks(at_a.id)] == ["c"]
    with pytest.raises(Forbidden):
        drv.engine.move_instances(session, [at_b.id], target, "pm1", "mine")
    with pytest.raises(InvalidData):
        drv.engine.move_instances(session, [at_b.id], target, "owner1", " ")


def test_drafts_are_kept_per_owner(drv, session, clock):
    saved = drv.engine.save_process_draft(session, "owner1", "chain", V1, name="Chain")
    clock.advance(minutes=5)
    again = drv.engine.save_process_draft(session, "owner1", "chain", V2, name="Chain")
    assert again.id == saved.id and again.updated_at > saved.updated_at
    assert [d.process_key for d in drv.engine.process_drafts(session, "owner1")] == ["chain"]
    assert drv.engine.process_draft(session, "owner1", saved.id).xml == V2
    with pytest.raises(Forbidden):
        drv.engine.save_process_draft(session, "pm1", "chain", V1)
    drv.engine.delete_process_draft(session, "owner1", saved.id)
    assert drv.engine.process_drafts(session, "owner1") == []


def test_diff_between_deployed_versions(drv, session):
    _deploy(drv, V1)
    _deploy(drv, V2)
    diff = drv.engine.diff_versions(session, "chain", 1, 2)
    assert {c.element_id for c in diff.added} == {"x", "f3"}
    assert not diff.removed
    assert {c.element_id for c in diff.changed} == {"f1", "f2"}
