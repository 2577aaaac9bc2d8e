"""Queued writes (PostgreSQL pipeline mode, engine.store.pipeline) keep every guarantee:
a failed guard rolls back everything the action queued, a task someone else completed is
refused, and a complete stays within its round-trip budget (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from engine.errors import Conflict, InstanceChanged
from engine.store import pipeline, rows
from engine.store.db import make_sessionmaker
from engine.store.models import AuditEvent, HumanTask, Notification, OutboxMessage
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def _count(db, model, **where) -> int:
    with make_sessionmaker(db.engine)() as other:
        q = select(func.count()).select_from(model)
        for key, value in where.items():
            q = q.where(getattr(model, key) == value)
        return int(other.scalar(q) or 0)


def test_a_failed_revision_guard_rolls_back_the_writes_queued_before_and_after_it(
    drv, session, db, clock
):
    inst = drv.start("approval3", data={"title": "A", "budget": 10})
    now = clock.now()
    with session.begin():
        stale = rows.instance(session, inst.id)
    assert stale is not None
    stale._values["revision"] = stale.revision + 7  # someone else saved meanwhile

    def changed() -> InstanceChanged:
        return InstanceChanged("changed", instance_id=inst.id)

    with pytest.raises(InstanceChanged), unit_of_work(session):
        rows.audit(session, instance_id=inst.id, at=now, actor="probe", kind="probe_before")
        if not rows.save_state(session, stale, "{}", now, conflict=changed):
            raise changed()  # SQLite: known at once; PostgreSQL: raised before COMMIT
        rows.audit(session, instance_id=inst.id, at=now, actor="probe", kind="probe_after")
    assert _count(db, AuditEvent, actor="probe") == 0
    assert drv.instance(inst.id).status == "running"
    # the instance still works: nothing half-written
    view = drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    assert [t.element_id for t in view.open_tasks] == ["approve"]


def test_completing_a_task_completed_meanwhile_is_a_conflict_and_writes_nothing(
    drv, session, db, engine
):
    inst = drv.start("approval3", data={"title": "A", "budget": 10})
    task = drv.task(inst.id, "review")
    engine.complete(session, task.id, "reviewer1", {"decision": "accept"})
    audits = _count(db, AuditEvent, instance_id=inst.id)
    notes = _count(db, Notification, instance_id=inst.id)
    with pytest.raises(Conflict):
        engine.complete(session, task.id, "reviewer2", {"decision": "accept"})
    assert _count(db, AuditEvent, instance_id=inst.id) == audits
    assert _count(db, Notification, instance_id=inst.id) == notes
    assert _count(db, HumanTask, instance_id=inst.id, element_id="approve") == 1


def test_a_decision_notifies_the_starter_with_its_mail_linked(drv, db):
    inst = drv.start("approval3", data={"title": "A", "budget": 10})
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    with make_sessionmaker(db.engine)() as other:
        found = other.execute(
            select(Notification.id, Notification.username, OutboxMessage.notification_id)
            .join(OutboxMessage, OutboxMessage.notification_id == Notification.id)
            .where(Notification.instance_id == inst.id, Notification.kind == "decision")
        ).all()
    assert [(r.username, r.notification_id == r.id) for r in found] == [("pm1", True)]


@contextmanager
def _trips(db) -> Iterator[dict[str, int]]:
    """Statements and round trips (connection checks left out: they depend on timing)."""
    counts = {"statements": 0, "alone": 0, "commits": 0, "syncs": 0}
    pg = db.engine.dialect.name == "postgresql"

    def stmt(conn, *_args) -> None:
        counts["statements"] += 1
        if not pipeline.active(conn):
            counts["alone"] += 1

    def commit(_conn) -> None:
        counts["commits"] += 1

    event.listen(db.engine, "before_cursor_execute", stmt)
    event.listen(db.engine, "commit", commit)
    syncs = pipeline.SYNCS["count"]
    try:
        yield counts
    finally:
        event.remove(db.engine, "before_cursor_execute", stmt)
        event.remove(db.engine, "commit", commit)
        counts["syncs"] = pipeline.SYNCS["count"] - syncs
        counts["trips"] = (
            counts["alone"] + counts["syncs"] + counts["commits"]
            if pg
            else counts["statements"] + counts["commits"]
        )


def test_a_complete_with_projections_audit_and_mail_stays_within_its_round_trips(
    drv, session, db, engine
):
    inst = drv.start("approval3", data={"title": "A", "budget": 10})
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    task = drv.task(inst.id, "approve")
    with _trips(db) as counts:
        view = engine.complete(session, task.id, "pmohead", {"decision": "accept"})
    assert [t.element_id for t in view.open_tasks] == ["confirm"]
    if db.kind == "postgres":
        assert counts["trips"] <= 5, counts
        assert counts["statements"] >= 8  # the same work, queued rather than dropped
    else:
        # 11 + the dashboard's monthly summary of the completed step (engine.rollup: one
        # upsert of its durations, one of its counts; queued on PostgreSQL)
        assert counts["statements"] <= 13, counts
