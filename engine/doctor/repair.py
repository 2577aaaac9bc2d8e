"""Repairs for what the doctor finds: re-run an instance's engine steps and re-project its
tasks and jobs from the saved state, or settle an instance that was cancelled.

Each repair is one unit of work that locks the instance, writes a ``repaired`` audit
event and resolves the instance's open incidents.  Cancelling goes through the engine's
own cancel verb first (the facade calls it); :func:`after_cancel` then tidies up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import execution, projection
from engine.context import EngineContext
from engine.doctor.incidents import resolve_instance
from engine.revision import require_revision
from engine.spiff.stepping import ready_manual_tasks, run_engine
from engine.store import rows
from engine.store.rows import JOBS, TASKS, Rec
from engine.store.uow import unit_of_work
from engine.views import RepairResult


def rerun(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    actor: str,
    reason: str = "",
    *,
    expected_revision: int | None = None,
) -> RepairResult:
    """Run the engine on the saved state (due timers fire) and bring task rows and jobs
    back in step.

    Task rows closed behind the engine's back while their step still waits are reopened;
    jobs that failed for good go back to pending, so the projection closes them as fired
    or re-arms them.  A finished instance only loses its stray jobs.  If the engine fails
    again, nothing is saved and the error says why.  ``expected_revision``: the revision
    the person saw (:func:`engine.revision.require_revision`).
    """
    with unit_of_work(session):
        now = ctx.clock.now()
        inst = _locked(session, instance_id)
        require_revision(session, inst, expected_revision)
        if inst.status != "running":
            return _settle(session, inst, actor, "rerun", reason, now)
        loaded = execution.load(ctx, session, inst, actor, now)
        with execution.engine_errors(loaded, ctx.clock):
            loaded.workflow.refresh_timers()  # what a due timer's job would have done
            run_engine(loaded.workflow, loaded.counter)
        changes = {
            "reopened": _reopen_waiting_rows(session, loaded),
            "requeued": _requeue_failed_jobs(session, inst.id),
        }
        loaded.open_rows = rows.open_tasks(session, inst.id)

        def save() -> None:
            execution.save(session, loaded, now)
            _audit(session, inst.id, actor, "rerun", reason, changes, now)
            execution.audit_services(session, loaded, now, actor)

        with execution.engine_errors(loaded, ctx.clock):
            projection.sync(session, loaded, now, actor, save)
        resolved = resolve_instance(session, inst.id, actor, _resolution("rerun", reason), now)
        return RepairResult(inst.id, "rerun", inst.status, resolved, changes)


def after_cancel(
    ctx: EngineContext, session: Session, instance_id: int, actor: str, reason: str
) -> RepairResult:
    """After the instance was cancelled (or was already over): cancel its leftover jobs,
    audit the repair and resolve its incidents."""
    with unit_of_work(session):
        now = ctx.clock.now()
        return _settle(session, _locked(session, instance_id), actor, "cancel", reason, now)


def force_cancel(
    ctx: EngineContext, session: Session, instance_id: int, actor: str, reason: str
) -> None:
    """Cancel an instance whose saved state no longer loads: its rows only (the process's
    cancel glue cannot run without the workflow)."""
    with unit_of_work(session):
        now = ctx.clock.now()
        inst = _locked(session, instance_id)
        if inst.status != "running":
            return
        inst.status, inst.ended_at, inst.current_step = "cancelled", now, ""
        inst.revision += 1
        inst.updated_at = now
        rows.write(session, inst)
        rows.cancel_open(session, inst.id, now)
        rows.audit(
            session,
            instance_id=inst.id,
            at=now,
            actor=actor,
            kind="cancelled",
            reason=reason,
            detail={"state": "unreadable"},
        )


def _settle(
    session: Session, inst: Rec, actor: str, action: str, reason: str, now: datetime
) -> RepairResult:
    """An instance that is over keeps no pending or failed jobs."""
    stray = list(
        session.scalars(
            select(JOBS.c.id).where(
                JOBS.c.instance_id == inst.id, JOBS.c.status.in_(("pending", "failed"))
            )
        )
    )
    if stray:
        session.execute(
            update(JOBS).where(JOBS.c.id.in_(stray)).values(status="cancelled", finished_at=now)
        )
    changes = {"cancelled_jobs": stray}
    _audit(session, inst.id, actor, action, reason, changes, now)
    resolved = resolve_instance(session, inst.id, actor, _resolution(action, reason), now)
    return RepairResult(inst.id, action, inst.status, resolved, changes)


def _locked(session: Session, instance_id: int) -> Rec:
    return rows.require_instance(session, instance_id, lock=True)


def _reopen_waiting_rows(session: Session, loaded: execution.Loaded) -> list[int]:
    """Reopen task rows that were closed while their step still waits for a person (the
    projection would otherwise try to insert a second row for the same step)."""
    waiting = [str(t.id) for t in ready_manual_tasks(loaded.workflow)]
    if not waiting:
        return []
    closed = [
        Rec(TASKS, r._mapping)
        for r in session.execute(
            select(TASKS).where(
                TASKS.c.instance_id == loaded.instance.id,
                TASKS.c.spiff_task_id.in_(waiting),
                TASKS.c.status != "open",
            )
        )
    ]
    for row in closed:
        row.status, row.completed_at, row.completed_by = "open", None, None
        row.outcome, row.on_behalf_of = None, None
        rows.write(session, row)
    return [r.id for r in closed]


def _requeue_failed_jobs(session: Session, instance_id: int) -> list[int]:
    failed = list(
        session.scalars(
            select(JOBS.c.id).where(JOBS.c.instance_id == instance_id, JOBS.c.status == "failed")
        )
    )
    if failed:
        session.execute(
            update(JOBS)
            .where(JOBS.c.id.in_(failed))
            .values(status="pending", attempts=0, finished_at=None)
        )
    return failed


def _audit(
    session: Session,
    instance_id: int,
    actor: str,
    action: str,
    reason: str,
    changes: dict[str, list[int]],
    now: datetime,
) -> None:
    rows.audit(
        session,
        instance_id=instance_id,
        at=now,
        actor=actor,
        kind="repaired",
        reason=reason or None,
        detail={"action": action, **changes},
    )


def _resolution(action: str, reason: str) -> str:
    return f"{action}: {reason}" if reason else action
