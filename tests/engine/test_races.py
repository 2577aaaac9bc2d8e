"""Races, on SQLite and PostgreSQL: people (threads held at a barrier, each with its own
session, as web requests are) acting on one instance at the same moment.

Each race runs a few rounds; the audit trail and the task rows are the evidence (one
claim, one completion, every sibling's data at the join), not the absence of errors.
The full stress, hundreds of rounds over HTTP with gunicorn and worker processes, is
``bench/race_stress.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import identity
from engine.api import Engine
from engine.errors import Conflict, EngineError, Forbidden, NotReady
from engine.services import ServiceRegistry
from engine.store.db import make_sessionmaker
from engine.store.models import AuditEvent, HumanTask, Job
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from tests.support import instance_data

ROUNDS = 3


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    with unit_of_work(session):
        for i in range(3, 11):
            identity.create_user(session, f"reviewer{i}", now=clock.now(),
                                 roles=["pmo_reviewer"])
        for i in range(1, 6):
            identity.create_user(session, f"writer{i}", now=clock.now())
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn", "race_siblings.bpmn", "race_multi.bpmn", "timer_boundary.bpmn")
    return d


@pytest.fixture(autouse=True)
def doctor_is_clean_afterwards(request, engine, session):
    """After every race the doctor finds nothing: no instance stranded, no task or job row
    out of step with the saved state (tests that strand or fail on purpose opt out)."""
    yield
    if request.node.get_closest_marker("doctor_findings_expected"):
        return
    session.rollback()
    report = engine.doctor(session, keep=False)
    assert [f"{f.code}: {f.message}" for f in report.findings] == []


def race(db, actions: list[Callable[[Any], Any]], session=None) -> list[Any]:
    """Run each action in its own thread and session, all released at once; the result
    or the exception of each, in order.  ``session`` (the test's own) ends its read
    snapshot afterwards, so it sees what the racers committed."""
    sessions = make_sessionmaker(db.engine)
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        with sessions() as session:
            barrier.wait()
            try:
                results[index] = actions[index](session)
            except Exception as exc:
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if session is not None:
        session.rollback()
    return results


def audit_kinds(session, instance_id: int, kind: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.instance_id == instance_id, AuditEvent.kind == kind)))


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_ten_claimers_one_winner(drv, session, db, round_no):
    inst = drv.start("approval3", data={"title": "T", "budget": 5})
    task = drv.task(inst.id, "review")
    users = ["reviewer1", "reviewer2", *(f"reviewer{i}" for i in range(3, 11))]
    results = race(db, [lambda s, u=u: drv.engine.claim(s, task.id, u) for u in users], session)
    winners = [u for u, r in zip(users, results, strict=True) if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 9
    assert all(isinstance(r, Conflict) and winners[0] in str(r) for r in losers)
    claimed = audit_kinds(session, inst.id, "claimed")
    assert [e.actor for e in claimed] == winners
    assert session.get(HumanTask, task.id).assignee == winners[0]


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_five_parallel_siblings_all_succeed_and_every_branch_reaches_the_join(
        drv, session, db, round_no):
    inst = drv.start("race_siblings", data={"shared": "start"})
    tasks = {t.element_id: t for t in drv.open_tasks(inst.id)}
    assert sorted(tasks) == [f"w{i}" for i in range(1, 6)]
    results = race(db, [
        lambda s, i=i: drv.engine.complete(
            s, tasks[f"w{i}"].id, f"writer{i}",
            {f"part{i}": f"text {i} " * 200, **({"shared": f"from w{i}"} if i <= 2 else {})})
        for i in range(1, 6)], session)
    assert [type(r).__name__ for r in results if isinstance(r, Exception)] == []
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["review"]
    data = instance_data(drv.engine, session, inst.id)
    assert {f"part{i}" for i in range(1, 6)} <= set(data)
    assert data["part3"] == "text 3 " * 200
    conflicts = audit_kinds(session, inst.id, "data_conflict")
    assert len(conflicts) == 1 and conflicts[0].element_id == "join"
    detail = conflicts[0].detail
    assert detail["key"] == "shared" and sorted(detail["branches"]) == ["w1", "w2"]
    assert data["shared"] == f"from {detail['kept']}"
    assert len(audit_kinds(session, inst.id, "task_completed")) == 5


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_five_multi_instance_children_all_succeed_and_every_answer_is_collected(
        drv, session, db, round_no):
    members = [f"writer{i}" for i in range(1, 6)]
    inst = drv.start("race_multi", data={"members": members})
    tasks = {t.assignee: t for t in drv.open_tasks(inst.id)}
    assert sorted(tasks) == members
    results = race(db, [lambda s, m=m: drv.engine.complete(s, tasks[m].id, m, {"text": m * 3})
                        for m in members], session)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["collect"]
    receipts = instance_data(drv.engine, session, inst.id)["receipts"]
    assert receipts == [{"member": m, "text": m * 3} for m in members]


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_claim_against_complete_has_one_consistent_outcome(drv, session, db, round_no):
    inst = drv.start("approval3", data={"title": "T", "budget": 5})
    task = drv.task(inst.id, "review")
    results = race(db, [
        lambda s: drv.engine.complete(s, task.id, "reviewer1", {"decision": "accept"}),
        lambda s: drv.engine.claim(s, task.id, "reviewer2"),
    ], session)
    completed, claimed = results
    session.rollback()
    row = session.get(HumanTask, task.id)
    if isinstance(completed, Exception):  # the claim came first: reviewer2 holds it
        assert isinstance(completed, Forbidden | Conflict)
        assert row.status == "open" and row.assignee == "reviewer2"
    else:  # the completion came first: nothing is left to claim
        assert isinstance(claimed, NotReady | Conflict)
        assert row.status == "completed" and row.completed_by == "reviewer1"
        assert audit_kinds(session, inst.id, "claimed") == []
    assert len(audit_kinds(session, inst.id, "task_completed")) == (
        0 if isinstance(completed, Exception) else 1)


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_complete_against_a_due_boundary_timer_one_path_wins(drv, session, db, clock,
                                                            round_no):
    inst = drv.start("timer_boundary", data={"remind_hours": 100, "reminders": 0})
    task = drv.task(inst.id, "review")
    clock.advance(hours=49)
    results = race(db, [
        lambda s: drv.engine.complete(s, task.id, "reviewer1", {}),
        lambda s: drv.engine.fire_due_jobs(s),
    ], session)
    completed, report = results
    assert not isinstance(report, Exception) and report.failed == 0
    session.rollback()
    view = drv.instance(inst.id)
    fired = audit_kinds(session, inst.id, "timer_fired")
    if isinstance(completed, Exception):  # the timer came first: escalated, no completion
        assert isinstance(completed, NotReady)
        assert [e.element_id for e in fired] == ["late"]
        assert [t.element_id for t in view.open_tasks] == ["escalated"]
    else:
        assert view.status == "completed" and fired == []
    jobs = session.scalars(select(Job).where(Job.instance_id == inst.id)).all()
    assert all(j.status in ("done", "cancelled") and not j.last_error for j in jobs)
    assert all(j.attempts <= 1 for j in jobs)  # a lost race is not a failed attempt


@pytest.mark.doctor_findings_expected  # the failed job is an incident to show
def test_a_job_that_fails_is_recorded_under_its_own_lock_and_backs_off(drv, session, clock):
    inst = drv.start("timer_boundary", data={"remind_hours": 1})  # no "reminders" key
    clock.advance(minutes=90)  # the reminder's script fails: reminders is undefined
    report = drv.engine.fire_due_jobs(session)
    assert report.failed >= 1 and report.errors
    session.rollback()
    job = session.scalars(select(Job).where(Job.instance_id == inst.id,
                                            Job.element_id == "remind")).one()
    assert job.status == "pending" and job.attempts == 1 and "reminders" in job.last_error
    assert job.due_at > clock.now()  # backed off
    assert drv.instance(inst.id).revision == 1  # nothing of the failed run was saved
    for _ in range(10):  # back-off doubles from one minute: all within the 48 hours
        clock.advance(hours=3)
        drv.engine.fire_due_jobs(session)
    session.rollback()
    session.expire_all()
    job = session.get(Job, job.id)
    assert job.status == "failed" and job.attempts == drv.engine.settings.job_max_attempts
    assert len(audit_kinds(session, inst.id, "incident")) == 1


def test_the_loser_of_a_race_gets_who_did_what(drv, session, db):
    inst = drv.start("approval3", data={"title": "T", "budget": 5})
    task = drv.task(inst.id, "review")
    drv.engine.complete(session, task.id, "reviewer1", {"decision": "accept"})
    with pytest.raises(NotReady, match="reviewer1"):
        drv.engine.complete(session, task.id, "reviewer2", {"decision": "accept"})
    with pytest.raises(EngineError, match="reviewer1"):
        drv.engine.claim(session, task.id, "reviewer2")


def test_delegating_a_task_completed_meanwhile_is_refused(drv, session, db, clock):
    inst = drv.start("approval3", data={"title": "T", "budget": 5})
    task = drv.task(inst.id, "review")
    drv.engine.claim(session, task.id, "reviewer1")
    results = race(db, [
        lambda s: drv.engine.complete(s, task.id, "reviewer1", {"decision": "accept"}),
        lambda s: drv.engine.delegate(s, task.id, "reviewer1", "reviewer2", "holiday"),
    ], session)
    session.rollback()
    row = session.get(HumanTask, task.id)
    if isinstance(results[0], Exception):  # delegated first: reviewer1 lost the task
        assert row.status == "open" and row.assignee == "reviewer2"
    else:
        assert isinstance(results[1], Conflict)
        assert row.status == "completed" and row.assignee == "reviewer1"
        assert audit_kinds(session, inst.id, "delegated") == []
    clock.advance(timedelta(seconds=1))


def test_a_multi_instance_step_finishes_on_a_spec_built_elsewhere(drv, session, clock,
                                                                 settings):
    """The stranded closure: each answer handled by another process (its own spec cache,
    or after a restart) must still be merged, and the step must end."""
    members = [f"writer{i}" for i in range(1, 4)]
    inst = drv.start("race_multi", data={"members": members})
    tasks = {t.assignee: t.id for t in drv.open_tasks(inst.id)}
    for member in members:  # a new engine (cold spec cache) for every answer
        Engine(clock=clock, settings=settings).complete(session, tasks[member], member,
                                                        {"text": member})
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["collect"]
    receipts = instance_data(drv.engine, session, inst.id)["receipts"]
    assert [r["member"] for r in receipts] == members


def test_an_instance_stranded_by_the_missed_merge_is_healed_when_loaded(
        drv, session, clock, settings, monkeypatch):
    from engine import execution, projection
    from engine.spiff import bundle
    from engine.spiff.stepping import run_engine
    from engine.store import rows

    members = ["writer1", "writer2"]
    inst = drv.start("race_multi", data={"members": members})
    tasks = {t.assignee: t.id for t in drv.open_tasks(inst.id)}
    monkeypatch.setattr(bundle, "wire_multi_instance_merges", lambda *_a: None)  # old code
    for member in members:
        Engine(clock=clock, settings=settings).complete(session, tasks[member], member,
                                                        {"text": member})
    assert drv.open_tasks(inst.id) == [] and drv.instance(inst.id).status == "running"
    monkeypatch.undo()
    eng = Engine(clock=clock, settings=settings)
    with unit_of_work(session):  # what the doctor's re-run does: load, run, save
        now = clock.now()
        loaded = execution.load(eng.ctx, session, rows.require_instance(session, inst.id),
                                "system", now)
        run_engine(loaded.workflow, loaded.counter)
        projection.sync(session, loaded, now, "system",
                        lambda: execution.save(session, loaded, now))
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["collect"]
    assert [r["member"] for r in instance_data(drv.engine, session, inst.id)["receipts"]] == (
        members)


def test_a_slow_step_does_not_hold_other_peoples_actions(drv, session, db, clock, settings):
    """While one completion runs a slow step (here a glue call that waits), another
    person's claim on another request goes through: on SQLite the write lock is taken
    only when the completion saves, on PostgreSQL only its own instance is locked."""
    inside, claimed = threading.Event(), threading.Event()

    def pause(_call):
        inside.set()
        assert claimed.wait(20), "the other person's claim was held by this slow step"
        return True

    eng = Engine(clock=clock, settings=settings,
                 services=ServiceRegistry([("pause", pause)]))
    Driver(eng, session, clock).deploy("race_pause.bpmn")
    slow = eng.start(session, "race_pause", "pm1", {})
    other = drv.start("approval3", data={"title": "T", "budget": 5})
    review = drv.task(other.id, "review")
    sessions = make_sessionmaker(db.engine)
    outcome: dict[str, Any] = {}

    def complete_slow() -> None:
        with sessions() as s:
            try:
                outcome["slow"] = eng.complete(s, slow.open_tasks[0].id, "pm1", {})
            except Exception as exc:  # the assertion inside pause, if it failed
                outcome["slow"] = exc

    thread = threading.Thread(target=complete_slow)
    thread.start()
    assert inside.wait(20)
    with sessions() as s:
        drv.engine.claim(s, review.id, "reviewer1")  # would wait for the lock before
    claimed.set()
    thread.join(30)
    assert not isinstance(outcome["slow"], Exception), outcome["slow"]
    assert outcome["slow"].status == "completed"
    session.rollback()
    assert session.get(HumanTask, review.id).assignee == "reviewer1"


def test_a_completion_that_lost_the_race_runs_again_holding_the_lock(drv, session, db, clock,
                                                                    settings):
    """SQLite: the first run of a completion is optimistic (no write lock while its steps
    run); when another writer commits meanwhile, its snapshot is stale and it runs again,
    this time holding the write lock from the start, so it cannot lose the same race
    again (two busy web workers made a completion fail eight times in a row: "busy" on a
    task nobody else touched).  PostgreSQL locks only the instance: a write elsewhere
    does not make it run again."""
    import sqlite3

    runs: list[bool | None] = []  # per run of the glue call: was the write lock held?

    def pause(_call):
        if db.kind != "sqlite":
            runs.append(None)
            return True
        other = sqlite3.connect(db.url.removeprefix("sqlite:///"), timeout=0,
                                isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked": the completion holds it
            runs.append(True)
        else:
            runs.append(False)
            if len(runs) == 1:  # someone else writes while the first run works
                other.execute("UPDATE users SET display_name = 'Changed meanwhile' "
                              "WHERE username = 'pm2'")
            other.execute("COMMIT")
        finally:
            other.close()
        return True

    eng = Engine(clock=clock, settings=settings,
                 services=ServiceRegistry([("pause", pause)]))
    Driver(eng, session, clock).deploy("race_pause.bpmn")
    inst = eng.start(session, "race_pause", "pm1", {})
    done = eng.complete(session, inst.open_tasks[0].id, "pm1", {})
    assert done.status == "completed"
    assert runs == ([False, True] if db.kind == "sqlite" else [None])
    assert len(audit_kinds(session, inst.id, "task_completed")) == 1
