"""The doctor: each inconsistency built on purpose, found, kept as one incident, repaired
and audited (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update

from engine.errors import Forbidden, InvalidData, TaskFailed
from engine.spiff.serializer import SavedState, dump_state, load_state
from engine.spiff.timebase import using_clock
from engine.store.models import HumanTask, Incident, Job, ProcessInstance
from tests.engine.driver import Driver


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    d.deploy("timer_wait.bpmn")
    return d


def start_approval(drv: Driver) -> int:
    return drv.start("approval3", data={"title": "Tower", "budget": 1200}).id


def sql(session, statement) -> None:
    """Change rows behind the engine's back."""
    session.execute(statement)
    session.commit()


def kinds(report) -> list[tuple[str, int | None]]:
    return [(f.kind, f.instance_id) for f in report.findings]


def audit(drv: Driver, instance_id: int, kind: str):
    return [e for e in drv.engine.history(drv.session, instance_id) if e.kind == kind]


def test_healthy_instances_have_no_findings(drv, session):
    start_approval(drv)
    drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"})
    report = drv.engine.doctor(session)
    assert report.findings == [] and report.opened == [] and report.instances_checked == 2
    assert drv.engine.incidents(session) == []


def test_task_closed_behind_the_engines_back_is_found_once_and_reopened(drv, session):
    iid = start_approval(drv)
    review = drv.task(iid, "review")
    sql(session, update(HumanTask).where(HumanTask.id == review.id)
        .values(status="completed", completed_by="nobody"))

    report = drv.engine.doctor(session)
    assert kinds(report) == [("task_row_missing", iid)]
    found = report.findings[0]
    assert found.code == "doctor.task_row_missing" and found.params["step"] == "Check completeness"
    assert str(found).startswith(f"instance {iid}: task_row_missing: step 'Check completeness' waits")
    [incident] = drv.engine.incidents(session)
    assert incident.id == report.opened[0] and incident.kind == "task_row_missing"

    again = drv.engine.doctor(session)  # seen again: the same incident, not a second one
    assert again.opened == [] and again.seen_again == 1
    [incident] = drv.engine.incidents(session)
    assert incident.seen_count == 2

    result = drv.engine.repair(session, iid, "admin", "rerun", "inbox lost the review")
    assert result.changes["reopened"] == [review.id] and result.resolved == [incident.id]
    assert drv.task(iid, "review").id == review.id  # the same row, open again
    [event] = audit(drv, iid, "repaired")
    assert (event.actor, event.reason, event.detail["action"]) == (
        "admin", "inbox lost the review", "rerun")
    assert drv.engine.incidents(session) == []
    [closed] = drv.engine.incidents(session, open_only=False)
    assert (closed.status, closed.resolved_by) == ("resolved", "admin")
    assert closed.resolution == "rerun: inbox lost the review"
    assert drv.engine.doctor(session).findings == []
    drv.complete(iid, "review", "reviewer1", {"decision": "accept"})  # work goes on


def test_open_row_whose_step_is_over_is_cancelled_by_a_rerun(drv, session):
    iid = start_approval(drv)
    review = drv.task(iid, "review")
    drv.complete(iid, "review", "reviewer1", {"decision": "accept"})
    sql(session, update(HumanTask).where(HumanTask.id == review.id).values(status="open"))

    report = drv.engine.doctor(session)
    assert kinds(report) == [("task_row_stale", iid)]
    assert report.findings[0].human_task_id == review.id
    drv.engine.repair(session, iid, "admin")
    session.expire_all()
    assert session.get(HumanTask, review.id).status == "cancelled"
    assert drv.engine.doctor(session).findings == []


def test_deleted_timer_job_is_found_and_armed_again(drv, session):
    iid = drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"}).id
    sql(session, delete(Job).where(Job.instance_id == iid))

    report = drv.engine.doctor(session)
    assert kinds(report) == [("timer_job_missing", iid)]
    assert report.findings[0].params["element_id"] == "wait"
    drv.engine.repair(session, iid, "admin", "rerun")
    session.expire_all()
    [job] = session.scalars(select(Job).where(Job.instance_id == iid)).all()
    assert (job.status, job.element_id) == ("pending", "wait")
    assert drv.engine.doctor(session).findings == []
    assert drv.advance_and_fire(hours=2, seconds=1).fired == 1  # and it fires


def test_finished_workflow_left_running_is_stranded_and_a_rerun_completes_it(drv, session):
    iid = start_approval(drv)
    drv.complete(iid, "review", "reviewer1", {"decision": "accept"})
    drv.complete(iid, "approve", "pmohead", {"decision": "accept"})
    drv.complete(iid, "confirm", "pmohead", {})
    assert drv.instance(iid).status == "completed"
    sql(session, update(ProcessInstance).where(ProcessInstance.id == iid)
        .values(status="running", ended_at=None))

    report = drv.engine.doctor(session)
    assert kinds(report) == [("stranded", iid)] and report.findings[0].params["finished"]
    drv.engine.repair(session, iid, "admin")
    assert drv.instance(iid).status == "completed"
    assert drv.engine.doctor(session).findings == []


def strand(drv: Driver, session, iid: int) -> None:
    """Save a state with nothing waiting, and close its task rows (status stays running)."""
    inst = session.get(ProcessInstance, iid)
    spec, subs = drv.engine.cache.for_bindings(session, inst.definition_id, inst.bindings)
    saved = load_state(inst.state, spec, subs)
    for task in saved.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        task.cancel()
    assert not saved.workflow.completed
    text = dump_state(SavedState(saved.workflow, saved.visits))
    sql(session, update(ProcessInstance).where(ProcessInstance.id == iid).values(state=text))
    sql(session, update(HumanTask).where(HumanTask.instance_id == iid)
        .values(status="cancelled"))


def test_stranded_instance_a_rerun_cannot_fix_is_cancelled_with_a_reason(drv, session):
    iid = start_approval(drv)
    healthy = start_approval(drv)
    strand(drv, session, iid)

    report = drv.engine.doctor(session)
    assert kinds(report) == [("stranded", iid)]
    assert report.findings[0].message.startswith("running with no open task, no pending job")
    with pytest.raises(TaskFailed):  # the engine has nothing to run: nothing is saved
        drv.engine.repair(session, iid, "admin", "rerun")
    assert len(drv.engine.incidents(session)) == 1 and audit(drv, iid, "repaired") == []
    with pytest.raises(InvalidData):
        drv.engine.repair(session, iid, "admin", "cancel", "  ")

    result = drv.engine.repair(session, iid, "admin", "cancel", "stranded since the upgrade")
    assert result.status == "cancelled" and len(result.resolved) == 1
    assert drv.instance(iid).status == "cancelled"
    [cancelled] = audit(drv, iid, "cancelled")
    [repaired] = audit(drv, iid, "repaired")
    assert cancelled.reason == repaired.reason == "stranded since the upgrade"
    assert repaired.detail["action"] == "cancel"
    assert drv.engine.doctor(session).findings == []
    assert drv.instance(healthy).status == "running"


def test_pending_job_of_a_finished_instance_is_cancelled(drv, session):
    iid = drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"}).id
    drv.engine.cancel(session, iid, "admin", "not needed")
    [job] = session.scalars(select(Job).where(Job.instance_id == iid)).all()
    sql(session, update(Job).where(Job.id == job.id).values(status="pending"))

    report = drv.engine.doctor(session)
    assert kinds(report) == [("finished_instance_job", iid)]
    assert report.findings[0].job_id == job.id
    result = drv.engine.repair(session, iid, "admin", "rerun")
    assert result.changes == {"cancelled_jobs": [job.id]} and result.status == "cancelled"
    session.expire_all()
    assert session.get(Job, job.id).status == "cancelled"
    assert drv.engine.doctor(session).findings == []


def fail_for_good(drv: Driver, session, clock) -> tuple[int, int]:
    iid = drv.start("timer_wait", data={"deadline": "not a date"}).id
    for _ in range(10):
        clock.advance(hours=10)
        drv.engine.fire_due_jobs(session)
    [job] = session.scalars(select(Job).where(Job.instance_id == iid)).all()
    assert job.status == "failed"
    return iid, job.id


def test_failed_job_is_an_incident_until_retried(drv, session, clock):
    iid, job_id = fail_for_good(drv, session, clock)
    report = drv.engine.doctor(session)
    assert kinds(report) == [("job_failed", iid)]  # not also "timer missing"
    assert "not a date" in report.findings[0].message
    [incident] = drv.engine.incidents(session)
    assert incident.job_id == job_id

    drv.engine.retry_job(session, job_id, "admin")  # fixed elsewhere: cleared next pass
    report = drv.engine.doctor(session)
    assert report.findings == [] and report.cleared == [incident.id]
    [closed] = drv.engine.incidents(session, open_only=False)
    assert (closed.resolved_by, closed.resolution) == ("system", "cleared: no longer found")


def test_rerun_of_a_job_that_still_fails_saves_nothing_and_cancel_retires_it(
        drv, session, clock):
    iid, job_id = fail_for_good(drv, session, clock)
    assert kinds(drv.engine.doctor(session)) == [("job_failed", iid)]
    with pytest.raises(TaskFailed, match="not a date"):
        drv.engine.repair(session, iid, "admin", "rerun")
    session.expire_all()
    assert session.get(Job, job_id).status == "failed"
    assert len(drv.engine.incidents(session)) == 1 and audit(drv, iid, "repaired") == []
    drv.engine.repair(session, iid, "admin", "cancel", "give up")
    session.expire_all()
    assert session.get(Job, job_id).status == "cancelled"
    assert drv.engine.doctor(session).findings == [] and drv.engine.incidents(session) == []


def test_rerun_fires_the_timer_of_a_job_that_failed_for_a_passing_reason(drv, session, clock):
    iid = drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"}).id
    clock.advance(hours=3)  # due, but the worker failed five times (say, the DB was away)
    sql(session, update(Job).where(Job.instance_id == iid)
        .values(status="failed", attempts=5, last_error="OperationalError: gone"))
    assert kinds(drv.engine.doctor(session)) == [("job_failed", iid)]

    result = drv.engine.repair(session, iid, "admin", "rerun", "database is back")
    assert len(result.changes["requeued"]) == 1 and len(result.resolved) == 1
    assert drv.instance(iid).current_step == "waiting for Until deadline"
    session.expire_all()
    jobs = session.scalars(select(Job).where(Job.instance_id == iid).order_by(Job.id)).all()
    assert [(j.element_id, j.status) for j in jobs] == [("wait", "done"), ("until", "pending")]
    assert [e.element_id for e in audit(drv, iid, "timer_fired")] == ["wait"]
    assert drv.engine.doctor(session).findings == []


def test_automatic_step_left_ready_is_found_and_run_by_a_rerun(drv, session, clock):
    iid = drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"}).id
    clock.advance(hours=3)
    inst = session.get(ProcessInstance, iid)
    spec, subs = drv.engine.cache.for_bindings(session, inst.definition_id, inst.bindings)
    saved = load_state(inst.state, spec, subs)
    with using_clock(clock):  # the timer became due at the end of some other action
        saved.workflow.refresh_timers()
    sql(session, update(ProcessInstance).where(ProcessInstance.id == iid)
        .values(state=dump_state(saved)))
    sql(session, update(Job).where(Job.instance_id == iid).values(status="done"))

    report = drv.engine.doctor(session)
    assert kinds(report) == [("step_not_run", iid)]
    assert report.findings[0].params["steps"] == "Wait 2 hours"
    drv.engine.repair(session, iid, "admin")
    assert drv.instance(iid).current_step == "waiting for Until deadline"
    assert drv.engine.doctor(session).findings == []


def test_unreadable_state_is_found_and_can_be_cancelled(drv, session):
    iid = start_approval(drv)
    sql(session, update(ProcessInstance).where(ProcessInstance.id == iid)
        .values(state='{"format": "nonsense"}'))
    report = drv.engine.doctor(session)
    assert kinds(report) == [("state_unreadable", iid)]
    with pytest.raises(Exception, match="saved state"):
        drv.engine.repair(session, iid, "admin", "rerun")
    result = drv.engine.repair(session, iid, "admin", "cancel", "corrupt state")
    assert result.status == "cancelled" and drv.open_tasks(iid) == []
    assert audit(drv, iid, "cancelled")[0].detail == {"state": "unreadable"}
    assert drv.engine.doctor(session).findings == []


def test_only_administrators_repair_through_the_web_and_actions_are_checked(drv, session):
    iid = start_approval(drv)
    with pytest.raises(Forbidden):
        drv.engine.repair(session, iid, "reviewer1", "rerun", check_role=True)
    with pytest.raises(InvalidData):
        drv.engine.repair(session, iid, "admin", "delete")
    assert drv.engine.repair(session, iid, "admin", check_role=True).status == "running"


def test_a_partial_pass_never_clears_and_keep_false_records_nothing(drv, session):
    ids = [start_approval(drv) for _ in range(3)]
    for iid in ids:
        sql(session, update(HumanTask).where(HumanTask.instance_id == iid)
            .values(status="completed"))
    assert len(drv.engine.doctor(session, keep=False).findings) == 3
    assert drv.engine.incidents(session) == []
    drv.engine.doctor(session)
    drv.engine.repair(session, ids[0], "admin")
    drv.engine.repair(session, ids[2], "admin")
    sql(session, update(HumanTask).where(HumanTask.instance_id == ids[2])
        .values(status="completed"))

    part = drv.engine.doctor(session, offset=1, limit=1)  # the second instance only
    assert part.instances_checked == 1 and kinds(part) == [("task_row_missing", ids[1])]
    assert part.cleared == []
    whole = drv.engine.doctor(session)
    assert {f.instance_id for f in whole.findings} == {ids[1], ids[2]}
    assert len(whole.opened) == 1  # ids[2] again: its old incident was resolved
    rows = session.scalars(select(Incident).order_by(Incident.id)).all()
    assert [(r.instance_id, r.status) for r in rows] == [
        (ids[0], "resolved"), (ids[1], "open"), (ids[2], "resolved"), (ids[2], "open")]


def test_the_worker_runs_the_doctor_every_interval(drv, session, clock, db):
    from engine.store.db import make_sessionmaker

    first, second = start_approval(drv), start_approval(drv)
    sql(session, update(HumanTask).where(HumanTask.instance_id == first)
        .values(status="completed"))
    passes: list[int] = []
    lines: list[str] = []
    drv.engine.work(make_sessionmaker(db.engine), poll_seconds=0, log=lines.append,
                    stop=lambda: passes.append(1) or len(passes) > 2)
    assert [i.instance_id for i in drv.engine.incidents(session)] == [first]
    assert lines == ["worker: doctor: 1 finding(s), 1 new incident(s), 0 cleared"]

    sql(session, update(HumanTask).where(HumanTask.instance_id == second)
        .values(status="completed"))
    passes.clear()
    drv.engine.work(make_sessionmaker(db.engine), poll_seconds=0, log=lines.append,
                    stop=lambda: passes.append(1) or len(passes) > 1)
    assert len(drv.engine.incidents(session)) == 2  # a new worker checks at once

    from engine.housekeeping import Housekeeping

    chores = Housekeeping(drv.engine.ctx, make_sessionmaker(db.engine), lines.append)
    chores.run_due()
    drv.engine.repair(session, first, "admin")
    sql(session, update(HumanTask).where(HumanTask.instance_id == first)
        .values(status="completed"))  # broken again
    chores.run_due()  # the next pass is not due yet
    assert [i.instance_id for i in drv.engine.incidents(session)] == [second]
    clock.advance(minutes=10)
    chores.run_due()
    assert sorted(i.instance_id for i in drv.engine.incidents(session)) == [first, second]
