"""Moving a demo install's clock (stored, shared, forward only) and closing a wait early."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.api import Engine
from engine.errors import Forbidden, InvalidData, NotReady
from engine.install import parse_step
from engine.store.models import Job
from tests.engine.driver import Driver


@pytest.mark.parametrize("text, step", [
    ("2d", timedelta(days=2)), ("4h", timedelta(hours=4)), ("30m", timedelta(minutes=30)),
    ("1w", timedelta(weeks=1)), ("P1DT2H", timedelta(days=1, hours=2)),
    ("pt45m", timedelta(minutes=45)),
])
def test_durations(text, step):
    assert parse_step(text) == step


@pytest.mark.parametrize("text, code", [
    ("soon", "clock.duration_invalid"), ("2x", "clock.duration_invalid"),
    ("", "clock.duration_invalid"), ("P", "clock.duration_invalid"),
    ("-2d", "clock.duration_negative"), ("0h", "clock.duration_negative"),
    ("PT0S", "clock.duration_negative"), ("99999d", "clock.duration_negative"),
])
def test_bad_durations(text, code):
    with pytest.raises(InvalidData) as err:
        parse_step(text)
    assert err.value.errors["duration"].code == code


def test_clock_moves_only_on_a_demo_install(engine, session, people, clock):
    with pytest.raises(Forbidden) as err:
        engine.advance_clock(session, "cli", "2d")
    assert err.value.code == "clock.not_demo"
    assert engine.install_status(session).offset == timedelta(0)
    engine.mark_demo_install(session, "cli")
    with pytest.raises(Forbidden):
        engine.advance_clock(session, "pm1", "2d")  # only a PMO admin
    with pytest.raises(InvalidData):
        engine.advance_clock(session, "admin", "-1d")
    before = engine.clock.now()
    status = engine.advance_clock(session, "admin", "2d")
    assert status.moved and status.offset == timedelta(days=2)
    assert engine.clock.now() - before == timedelta(days=2)
    assert engine.admin_changes(session, "admin")[0].kind == "clock.advance"
    # Another process (a worker, the CLI) with its own engine reads the same offset.
    other = Engine(clock=clock)
    assert other.install_status(session).offset == timedelta(days=2)
    assert other.clock.now() == engine.clock.now()


def test_moved_clock_fires_due_timers(engine, session, people, clock):
    drv = Driver(engine, session, clock)
    drv.deploy("timer_closable.bpmn")
    inst = drv.start("timer_closable")
    engine.mark_demo_install(session, "cli")
    worker = Engine(clock=clock)  # the worker process
    assert worker.fire_due_jobs(session).fired == 0
    engine.advance_clock(session, "admin", "P5DT1M")
    assert worker.fire_due_jobs(session).fired == 1
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["act"]


def test_close_a_wait_early(engine, session, people, clock):
    drv = Driver(engine, session, clock)
    drv.deploy("timer_closable.bpmn")
    inst = drv.start("timer_closable", actor="pm1")
    (wait,) = engine.waits(session, inst.id)
    assert wait.closable and wait.element_id == "window"
    assert wait.due_at == clock.now() + timedelta(days=5)
    with pytest.raises(InvalidData):
        engine.close_wait_early(session, inst.id, "pm1", "  ")
    with pytest.raises(Forbidden):
        engine.close_wait_early(session, inst.id, "pm2", "not mine")
    assert engine.close_wait_early(session, inst.id, "pm1", "everyone answered") == 1
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["act"]
    events = [e for e in engine.history(session, inst.id) if e.kind == "wait_closed_early"]
    assert len(events) == 1 and events[0].actor == "pm1"
    assert events[0].reason == "everyone answered"
    session.expire_all()
    (job,) = session.scalars(select(Job).where(Job.instance_id == inst.id)).all()
    assert job.status == "done"
    assert engine.waits(session, inst.id) == []
    with pytest.raises(NotReady) as err:
        engine.close_wait_early(session, inst.id, "admin", "again")
    assert err.value.code == "wait.not_closable"


def test_a_timer_not_marked_closable_stays(engine, session, people, clock):
    drv = Driver(engine, session, clock)
    drv.deploy("timer_wait.bpmn")
    inst = drv.start("timer_wait", data={"deadline": "2030-01-01T00:00:00+00:00"})
    with pytest.raises(NotReady):
        engine.close_wait_early(session, inst.id, "admin", "hurry")
    assert [w.element_id for w in engine.waits(session, inst.id)] == ["wait"]
