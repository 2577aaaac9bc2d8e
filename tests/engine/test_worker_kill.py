"""Two worker processes on the same due jobs, one killed with SIGKILL half-way: every
job fires exactly once (counted in the audit trail), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.api import Engine
from engine.store.models import AuditEvent, Job, ProcessInstance
from tests.engine.driver import Driver
from tests.engine.worker_process import registry

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = 24


@pytest.fixture
def drv(clock, settings, session, people) -> Driver:
    d = Driver(Engine(clock=clock, settings=settings, services=registry()), session, clock)
    d.deploy("race_timer.bpmn")
    return d


def _worker(url: str, now: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.engine.worker_process", url, now],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _count(session, kind: str) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.kind == kind)) or 0


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_two_workers_one_killed_every_job_fires_once(drv, session, db, clock):
    for _ in range(INSTANCES):
        drv.start("race_timer")
    clock.advance(hours=2)
    now = clock.now().isoformat()
    workers = [_worker(db.url, now), _worker(db.url, now)]
    try:
        assert _wait(lambda: _count(session, "timer_fired") >= INSTANCES // 4, 60)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        assert _wait(lambda: _count(session, "timer_fired") >= INSTANCES, 120)
        time.sleep(0.3)  # let a late duplicate, if there were one, reach the audit
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
    session.rollback()
    fired = Counter(e.detail["job"] for e in session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "timer_fired")))
    napped = Counter(e.instance_id for e in session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "service_called")))
    assert len(fired) == INSTANCES and set(fired.values()) == {1}
    assert len(napped) == INSTANCES and set(napped.values()) == {1}
    assert set(session.scalars(select(Job.status))) == {"done"}
    assert set(session.scalars(select(ProcessInstance.status))) == {"completed"}
    assert workers[0].returncode == -signal.SIGKILL
    assert drv.engine.doctor(session, keep=False).findings == []
