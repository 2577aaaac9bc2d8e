"""Timers become job rows, fire once when the clock passes them, survive reloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.store.models import Job
from tests.engine.driver import Driver
from tests.support import instance_data, visited_elements


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return Driver(engine, session, clock)


def _jobs(session, instance_id):
    session.expire_all()
    return session.scalars(select(Job).where(Job.instance_id == instance_id)
                           .order_by(Job.id)).all()


def test_boundary_timer_escalates_and_cycle_reminds(drv, session, clock):
    drv.deploy("timer_boundary.bpmn")
    t0 = clock.now()
    inst = drv.start("timer_boundary", data={"reminders": 0, "remind_hours": 1})
    pending = {j.element_id: j.due_at for j in _jobs(session, inst.id) if j.status == "pending"}
    assert pending["late"] == t0 + timedelta(hours=48)
    assert pending["remind"] == t0 + timedelta(hours=1)

    assert drv.engine.fire_due_jobs(session).fired == 0  # nothing due yet
    report = drv.advance_and_fire(hours=1, minutes=1)
    assert report.fired == 1
    # The reminder branch ran (its data stays in its own branch, as BPMN says) ...
    assert visited_elements(drv.engine, session, inst.id)["reminded"] == 1
    assert drv.task(inst.id, "review")  # ... and, non-interrupting, the review is still open
    drv.advance_and_fire(hours=1)
    assert visited_elements(drv.engine, session, inst.id)["reminded"] == 2
    assert drv.advance_and_fire(hours=1).fired == 0  # R2: only two cycles

    report = drv.advance_and_fire(hours=46)
    assert report.fired == 1
    tasks = {t.element_id: t for t in drv.open_tasks(inst.id)}
    assert set(tasks) == {"escalated"} and tasks["escalated"].role == "pmo_head"
    assert drv.kinds(inst.id).count("timer_fired") == 3
    # A job fires once: nothing is due any more.
    assert drv.advance_and_fire(hours=100).fired == 0
    drv.complete(inst.id, "escalated", "pmohead")
    assert drv.instance(inst.id).status == "completed"


def test_completing_in_time_cancels_the_timer_jobs(drv, session, clock):
    drv.deploy("timer_boundary.bpmn")
    inst = drv.start("timer_boundary", data={"reminders": 0, "remind_hours": 5})
    drv.complete(inst.id, "review", "reviewer1")
    statuses = {j.element_id: j.status for j in _jobs(session, inst.id)}
    assert statuses == {"late": "cancelled", "remind": "cancelled"}
    assert drv.advance_and_fire(hours=72).fired == 0
    assert drv.instance(inst.id).status == "completed"


def test_intermediate_duration_and_date_timers(drv, session, clock):
    drv.deploy("timer_wait.bpmn")
    inst = drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"})
    assert drv.open_tasks(inst.id) == []
    assert drv.instance(inst.id).current_step == "waiting for Wait 2 hours"
    drv.advance_and_fire(hours=1)
    assert drv.instance(inst.id).current_step == "waiting for Wait 2 hours"
    drv.advance_and_fire(hours=1, seconds=1)
    assert drv.instance(inst.id).current_step == "waiting for Until deadline"
    job = next(j for j in _jobs(session, inst.id) if j.element_id == "until")
    assert job.due_at.isoformat() == "2026-03-05T12:00:00+00:00"
    clock.set("2026-03-05T12:00:01+00:00")
    assert drv.engine.fire_due_jobs(session).fired == 1
    assert drv.task(inst.id, "act")


def test_a_failing_job_retries_then_becomes_an_incident(drv, session, clock, engine):
    drv.deploy("timer_wait.bpmn")
    inst = drv.start("timer_wait", data={"deadline": "not a date"})
    report = drv.advance_and_fire(hours=3)
    # The duration timer fired; evaluating the bad date then failed: rolled back.
    assert report.fired == 0 and report.failed == 1
    job = _jobs(session, inst.id)[0]
    assert job.status == "pending" and job.attempts == 1 and "not a date" in job.last_error
    for _ in range(10):
        clock.advance(hours=10)
        drv.engine.fire_due_jobs(session)
    job = _jobs(session, inst.id)[0]
    assert job.status == "failed" and job.attempts == engine.settings.job_max_attempts
    assert "incident" in drv.kinds(inst.id)
    retried = drv.engine.retry_job(session, job.id, "admin")
    assert retried.status == "pending" and retried.attempts == 0


def test_a_timer_due_exactly_now_waits_for_the_next_instant_and_fires_once(drv, session,
                                                                         clock):
    drv.deploy("timer_boundary.bpmn")
    inst = drv.start("timer_boundary", data={"reminders": 0, "remind_hours": 100})
    report = drv.advance_and_fire(hours=48)  # exactly the 48-hour boundary timer's time
    assert report.fired == 0 and report.failed == 0
    assert drv.task(inst.id, "review")
    report = drv.advance_and_fire(seconds=1)
    assert report.fired == 1
    assert {t.element_id for t in drv.open_tasks(inst.id)} == {"escalated"}
    assert drv.kinds(inst.id).count("timer_fired") == 1


def test_timers_that_fire_in_the_same_run_are_all_recorded(drv, session, clock):
    drv.deploy("timer_boundary.bpmn")
    inst = drv.start("timer_boundary", data={"reminders": 0, "remind_hours": 1})
    # Jump past the first reminder AND the 48-hour limit: one job's run fires both.
    report = drv.advance_and_fire(hours=60)
    jobs = {j.element_id: j.status for j in _jobs(session, inst.id)}
    assert jobs["late"] == "done" and jobs["remind"] in ("done", "cancelled")
    assert report.fired >= 1
    fired = [e.element_id for e in drv.engine.history(session, inst.id)
             if e.kind == "timer_fired"]
    assert "late" in fired and "remind" in fired


def test_instance_data_prefers_the_waiting_user_task_over_timer_copies(drv, session):
    xml = (drv_files_text("timer_boundary.bpmn")
           .replace('<bpmn:userTask id="review" name="Triage">',
                    '<bpmn:userTask id="review" name="Triage"><bpmn:extensionElements>'
                    '<spiffworkflow:preScript>reminders = 7</spiffworkflow:preScript>'
                    '</bpmn:extensionElements>'))
    drv.deploy_text("timer_boundary.bpmn", xml)
    inst = drv.start("timer_boundary", data={"reminders": 0, "remind_hours": 5})
    assert instance_data(drv.engine, session, inst.id)["reminders"] == 7
    task = drv.task(inst.id, "review")
    assert instance_data(drv.engine, session, inst.id, task_id=task.id)["reminders"] == 7


def drv_files_text(name: str) -> str:
    from tests.engine.driver import HERE

    return (HERE / name).read_text()


def test_an_overdue_timer_met_by_a_persons_action_runs_its_path_then(engine, session, clock,
                                                                     people):
    """The worker was away: a person's action on the instance fires the overdue timer and
    runs what follows it in the same action."""
    drv = Driver(engine, session, clock)
    drv.deploy("timer_sibling.bpmn")
    inst = drv.start("timer_sibling")
    clock.advance(hours=2)
    done = drv.complete(inst.id, "work", "pm1", {})
    assert done.status == "completed"
    fired = [e for e in drv.engine.history(session, inst.id) if e.kind == "timer_fired"]
    assert [e.element_id for e in fired] == ["hour"]
    assert instance_data(engine, session, inst.id)["timed"] is True
