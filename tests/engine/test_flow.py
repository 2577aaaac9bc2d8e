"""End-to-end engine behaviour on the three-step approval process (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import execution
from engine.errors import Conflict, Forbidden, InvalidData, InvalidDiagram, NotFound, NotReady
from engine.spiff.bundle import SourceFile
from engine.store import rows
from engine.store.db import make_sessionmaker
from engine.store.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from engine.tasks import TaskQuery
from tests.engine.driver import HERE, Driver, files
from tests.support import instance_data, task_counts, visited_elements

HERE_FORMS = HERE / "forms"


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def test_deploy_is_versioned_and_idempotent(drv, session):
    again = drv.deploy("approval3.bpmn")
    assert again.processes == [] and again.unchanged == ["approval3"]
    changed = (drv_files := files("approval3.bpmn"))[0].content.replace(
        b"Check completeness", b"Check completeness (v2)")
    result = drv.engine.deploy(session, [SourceFile("approval3.bpmn", changed), *drv_files[1:]],
                               "owner1")
    assert [(p.key, p.version) for p in result.processes] == [("approval3", 2)]
    rows = session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.version)).all()
    assert [(r.version, r.active) for r in rows] == [(1, False), (2, True)]
    assert rows[0].source != rows[1].source


def test_running_instance_stays_on_its_version(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 10})
    changed = files("approval3.bpmn")
    changed[0] = SourceFile("approval3.bpmn", changed[0].content.replace(
        b'name="Approve"', b'name="Approve v2"'))
    drv.engine.deploy(session, changed, "owner1")
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    assert drv.task(inst.id, "approve").name == "Approve"
    new = drv.start("approval3", data={"title": "B", "budget": 10})
    assert new.definition_version == 2 and drv.instance(inst.id).definition_version == 1


def test_happy_path_with_rework_loop_twice(drv, session):
    inst = drv.start("approval3", data={"title": "ERP upgrade", "budget": 500000},
                     business_key="P-1")
    assert inst.status == "running" and inst.current_step == "Check completeness"
    review = drv.task(inst.id, "review")
    assert (review.role, review.assignee, review.four_eyes) == ("pmo_reviewer", None, True)
    assert review.due_at == drv.clock.now() + timedelta(days=2)
    for n in range(2):
        drv.complete(inst.id, "review", "reviewer1", {"decision": "rework",
                                                       "comment": f"missing WBS {n}"})
        revise = drv.task(inst.id, "revise")
        assert revise.assignee == "pm1" and revise.role == "pm"
        drv.complete(inst.id, "revise", "pm1", {"budget": 450000})
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    drv.complete(inst.id, "approve", "pmohead", {"decision": "accept"})
    done = drv.complete(inst.id, "confirm", "pmohead", {})
    assert done.status == "completed" and done.ended_at is not None and done.open_tasks == []
    data = instance_data(drv.engine, session, inst.id)
    assert data["budget"] == 450000 and data["initiator"] == "pm1"
    history = drv.engine.history(session, inst.id)
    completed = [(e.element_id, e.actor, e.outcome, e.reason) for e in history
                 if e.kind == "task_completed"]
    assert completed[:2] == [("review", "reviewer1", "rework", "missing WBS 0"),
                             ("revise", "pm1", None, None)]
    assert completed[-1][0] == "confirm"
    assert next(e.kind for e in history) == "started" and history[-1].kind == "completed"
    visits = visited_elements(drv.engine, session, inst.id)
    assert visits["review"] == 3 and visits["revise"] == 2 and "end_rejected" not in visits


def test_reject_path_ends_at_rejected(drv):
    inst = drv.start("approval3", data={"title": "X", "budget": 1})
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    done = drv.complete(inst.id, "approve", "pmohead", {"decision": "reject",
                                                        "comment": "no budget"})
    assert done.status == "completed"
    assert "end_rejected" in visited_elements(drv.engine, drv.session, inst.id)


def test_form_errors_are_per_field_and_nothing_advances(drv, session):
    with pytest.raises(InvalidData) as err:
        drv.start("approval3", data={"title": "", "budget": -5})
    assert set(err.value.errors) == {"title", "budget"}
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "review", "reviewer1", {"decision": "reject"})
    assert err.value.errors == {"comment": "This field is required."}
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "review", "reviewer1", {"decision": "maybe"})
    assert "decision" in err.value.errors
    assert drv.task(inst.id, "review").status == "open"
    assert drv.instance(inst.id).revision == 1


def test_role_and_four_eyes(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    with pytest.raises(Forbidden, match="pmo_reviewer"):
        drv.engine.complete(session, review.id, "finance1", {"decision": "accept"})
    # pm1 also becomes a reviewer: still may not review their own request.
    from engine import identity
    from engine.store.uow import unit_of_work
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "pmo_reviewer"])
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.complete(session, review.id, "pm1", {"decision": "accept"})
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.claim(session, review.id, "pm1")
    # Delegation does not get around it either: reviewer2 hands the task to pm1.
    drv.engine.claim(session, review.id, "reviewer2")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.delegate(session, review.id, "reviewer2", "pm1", "holiday")


def test_four_eyes_through_standing_delegation(drv, session, clock):
    """A submitter who is delegated a reviewer's work still cannot review their own request."""
    from engine import identity
    from engine.store.uow import unit_of_work
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    with unit_of_work(session):
        identity.add_delegation(session, "reviewer1", "pm1", clock.now(), None, "leave",
                                clock.now())
    review = drv.task(inst.id, "review")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.complete(session, review.id, "pm1", {"decision": "accept"})
    # The same delegation works for somebody else's request, recorded on behalf.
    other = drv.start("approval3", "pm2", {"title": "B", "budget": 1})
    t = drv.task(other.id, "review")
    drv.engine.complete(session, t.id, "pm1", {"decision": "accept"})
    row = session.get(HumanTask, t.id)
    assert (row.completed_by, row.on_behalf_of) == ("pm1", "reviewer1")


def test_claim_unclaim_and_inbox(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    claimable, total = drv.engine.tasks(session, "reviewer1", TaskQuery(scope="claimable"))
    assert total == 1 and claimable[0].id == review.id
    assert drv.engine.tasks(session, "finance1", TaskQuery(scope="claimable"))[1] == 0
    drv.engine.claim(session, review.id, "reviewer1")
    with pytest.raises(Conflict, match="already claimed by reviewer1"):
        drv.engine.claim(session, review.id, "reviewer2")
    with pytest.raises(Forbidden):
        drv.engine.complete(session, review.id, "reviewer2", {"decision": "accept"})
    mine, _ = drv.engine.tasks(session, "reviewer1", TaskQuery(scope="mine"))
    assert [t.id for t in mine] == [review.id]
    assert task_counts(drv.engine, session, "reviewer1") == {"mine": 1, "claimable": 0}
    drv.engine.unclaim(session, review.id, "reviewer1")
    assert task_counts(drv.engine, session, "reviewer2") == {"mine": 0, "claimable": 1}
    kinds = drv.kinds(inst.id)
    assert kinds.count("claimed") == 1 and kinds.count("unclaimed") == 1


def test_inbox_without_a_user_is_empty(drv, session):
    """No user (``None``): nothing is theirs or claimable by them; "all" still lists."""
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    drv.engine.claim(session, review.id, "reviewer1")
    drv.start("approval3", data={"title": "B", "budget": 1})  # its review is claimable
    for scope in ("mine", "claimable"):
        assert drv.engine.tasks(session, None, TaskQuery(scope=scope)) == ([], 0)
    listed, total = drv.engine.tasks(session, None, TaskQuery(scope="all"))
    assert total == 2 and review.id in [t.id for t in listed]


def test_completed_task_is_not_ready_and_unknown_ids(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    drv.engine.complete(session, review.id, "reviewer1", {"decision": "accept"})
    with pytest.raises(NotReady, match="already completed by reviewer1"):
        drv.engine.complete(session, review.id, "reviewer2", {"decision": "accept"})
    with pytest.raises(NotFound):
        drv.engine.complete(session, 99999, "reviewer1", {})
    with pytest.raises(NotFound, match="no deployed process"):
        drv.start("nope")


def test_concurrent_completion_one_wins(drv, session, db):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    make = make_sessionmaker(db.engine)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def work(user: str) -> None:
        with make() as s:
            barrier.wait()
            try:
                drv.engine.complete(s, review.id, user, {"decision": "accept"})
                results[user] = "ok"
            except Conflict as exc:
                results[user] = exc

    threads = [threading.Thread(target=work, args=(u,)) for u in ("reviewer1", "reviewer2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(v).__name__ if v != "ok" else "ok" for v in results.values()) in (
        ["Conflict", "ok"], ["NotReady", "ok"])
    session.rollback()  # end the read snapshot taken before the threads wrote
    assert drv.instance(inst.id).revision == 2
    approvals = session.scalars(select(HumanTask).where(HumanTask.element_id == "approve")).all()
    assert len(approvals) == 1
    done = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.kind == "task_completed"))
    assert done == 1


def test_optimistic_lock_detects_a_stale_revision(drv, session, engine, clock):
    """A writer that committed after we loaded makes our save lose; nothing is written."""
    from sqlalchemy import update

    from engine.store.uow import unit_of_work
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    with pytest.raises(Conflict, match="changed by someone else"), unit_of_work(session):
        row = rows.require_instance(session, inst.id)
        loaded = execution.load(engine.ctx, session, row, "x", clock.now())
        # What a concurrent completion commits between our load and our save:
        session.execute(update(ProcessInstance).where(ProcessInstance.id == inst.id)
                        .values(revision=ProcessInstance.revision + 1)
                        .execution_options(synchronize_session=False))
        loaded.workflow.get_tasks()[0].data["touched"] = True
        execution.save(session, loaded, clock.now())
    session.rollback()
    assert drv.instance(inst.id).revision == 1
    assert "touched" not in instance_data(drv.engine, session, inst.id)


def test_cancel(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    with pytest.raises(InvalidData):
        drv.engine.cancel(session, inst.id, "pm1", " ")
    done = drv.engine.cancel(session, inst.id, "pm1", "duplicate request")
    assert done.status == "cancelled" and done.open_tasks == []
    assert session.scalars(select(HumanTask.status)).all() == ["cancelled"]
    assert drv.engine.history(session, inst.id)[-1].reason == "duplicate request"
    with pytest.raises(NotReady):
        drv.engine.cancel(session, inst.id, "pm1", "again")


def test_start_needs_the_start_lane_role(drv):
    with pytest.raises(Forbidden, match="'pm'"):
        drv.start("approval3", "finance1", {"title": "A", "budget": 1})


def test_deploy_refuses_bad_bundle_and_writes_nothing(drv, session):
    before = session.scalar(select(func.count()).select_from(ProcessDefinition))
    bad = files("approval3.bpmn", forms=False)  # forms missing
    with pytest.raises(InvalidDiagram) as err:
        drv.engine.deploy(session, bad, "owner1")
    assert any(p.element_id == "review" for p in err.value.problems)
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == before


def test_notifications_for_assignment_decisions_and_completion(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    assert drv.engine.unread_notifications(session, "pm1") == 0
    drv.complete(inst.id, "review", "reviewer1", {"decision": "rework", "comment": "add WBS"})
    notes = drv.engine.notifications(session, "pm1")
    kinds = [(n.kind, n.title) for n in notes]
    assert ("decision", "Check completeness: rework by reviewer1") in kinds
    assert ("assigned", "New task: Revise proposal") in kinds
    decision = next(n for n in notes if n.kind == "decision")
    assert "add WBS" in decision.body and decision.link == f"/instances/{inst.id}"
    assert drv.engine.unread_notifications(session, "pm1") == 2
    drv.engine.mark_notifications_read(session, "pm1", [decision.id])
    assert drv.engine.unread_notifications(session, "pm1") == 1
    drv.complete(inst.id, "revise", "pm1", {})
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    task = drv.task(inst.id, "approve")
    from engine import identity
    from engine.store.uow import unit_of_work
    with unit_of_work(session):  # a hand-over goes to someone holding the step's role
        identity.create_user(session, "head2", now=drv.clock.now(), roles=["pmo_head"])
    drv.engine.delegate(session, task.id, "pmohead", "head2", "on leave")
    assigned = drv.engine.notifications(session, "head2")
    assert assigned[0].kind == "assigned" and "on leave" in assigned[0].body
    drv.engine.mark_notifications_read(session, "pm1")
    assert drv.engine.unread_notifications(session, "pm1") == 0
    # Nobody is told about their own decisions.
    assert all(n.kind != "decision" for n in drv.engine.notifications(session, "reviewer1"))


def test_schema_defaults_fill_missing_fields(drv, session):
    import json

    from engine.forms import apply_defaults, validate_form

    schema = json.loads((HERE_FORMS / "approval3-start.schema.json").read_text())
    schema["properties"]["urgent"] = {"type": "boolean", "default": False}
    assert apply_defaults(schema, {"title": "A"}) == {"title": "A", "urgent": False}
    assert apply_defaults(schema, {"urgent": True}) == {"urgent": True}
    # a field's own errorMessage is used when it is missing, not only when it is wrong
    review = json.loads((HERE_FORMS / "approval3-review.schema.json").read_text())
    review["properties"]["comment"]["errorMessage"] = "Say why."
    with pytest.raises(InvalidData) as err:
        validate_form(review, {"decision": "rework"})
    assert err.value.errors == {"comment": "Say why."}


def test_a_process_assigned_step_cannot_be_given_back_to_the_pool(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    drv.complete(inst.id, "review", "reviewer1", {"decision": "rework", "comment": "x"})
    revise = drv.task(inst.id, "revise")
    assert revise.assignee == "pm1"
    with pytest.raises(Conflict, match="assigned to you by the process"):
        drv.engine.unclaim(session, revise.id, "pm1")
    assert drv.task(inst.id, "revise").assignee == "pm1"


def test_primed_grants_match_the_separate_reads(drv, session, clock):
    """``identity.prime`` answers roles, project roles and current delegations in one
    statement, exactly as the separate reads do (ended and future delegations left out)."""
    from datetime import timedelta

    from engine import identity
    from engine.store.uow import unit_of_work
    now = clock.now()
    with unit_of_work(session):
        identity.add_delegation(session, "reviewer1", "pm1", now - timedelta(days=1), None,
                                "leave", now)
        identity.add_delegation(session, "pmohead", "pm1", now - timedelta(days=3),
                                now - timedelta(days=2), "ended", now)
        identity.add_delegation(session, "finance1", "pm1", now + timedelta(days=1), None,
                                "later", now)
    session.commit()
    separate = (identity.global_roles(session, "pm1"), identity.project_roles(session, "pm1"),
                identity.delegators(session, "pm1", now))
    session.rollback()  # ends the transaction: the cache is dropped
    identity.prime(session, "pm1", now)
    cache = dict(session.info[identity._CACHE_KEY])
    primed = (identity.global_roles(session, "pm1"), identity.project_roles(session, "pm1"),
              identity.delegators(session, "pm1", now))
    assert session.info[identity._CACHE_KEY] == cache  # answered from the primed cache
    assert primed == separate
    assert separate[0] == {"pm"} and separate[2] == {"reviewer1"}


def test_nav_counts_count_tasks_and_unread_notifications_together(drv, session):
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    assert drv.engine.nav_counts(session, "reviewer1") == {"mine": 0, "claimable": 1,
                                                           "unread": 0}
    drv.complete(inst.id, "review", "reviewer1", {"decision": "rework", "comment": "WBS"})
    assert drv.engine.nav_counts(session, "pm1") == {"mine": 1, "claimable": 0, "unread": 2}
    assert drv.engine.nav_counts(session, "pm1")["unread"] == drv.engine.unread_notifications(
        session, "pm1")
