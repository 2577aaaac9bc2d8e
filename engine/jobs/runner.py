"""Fire due jobs: one transaction per job, each job fires once.

A due job is picked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (on SQLite the writing
transaction holds the database's write lock), its instance is loaded, timers are
refreshed with the engine clock, the engine runs, and the state, projections and the
job's own status are committed together.  A failure rolls that back and records the
error on the job in a separate transaction, with exponential back-off; after
``max_attempts`` the job becomes a ``failed`` incident that a person can retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import execution, projection
from engine.context import EngineContext
from engine.errors import EngineError, NotFound
from engine.spiff.stepping import run_engine
from engine.store import rows
from engine.store.models import Job
from engine.store.rows import Rec
from engine.store.uow import unit_of_work
from engine.views import FireReport, JobView, job_view

SYSTEM_ACTOR = "system"


def fire_due_jobs(ctx: EngineContext, session: Session, *, limit: int = 100) -> FireReport:
    """Fire up to ``limit`` jobs that are due now; return what happened."""
    fired = failed = 0
    errors: list[str] = []
    handled: set[int] = set()  # a job re-armed by its own run waits for the next pass
    for _ in range(limit):
        outcome = _fire_one(ctx, session, handled)
        if outcome is None:
            break
        if outcome == "":
            fired += 1
        else:
            failed += 1
            errors.append(outcome)
    return FireReport(fired=fired, failed=failed, errors=errors)


def _fire_one(ctx: EngineContext, session: Session, handled: set[int]) -> str | None:
    """Fire the next due job. None: nothing due; "": fired; else the error text."""
    job_id = None
    try:
        with unit_of_work(session):
            now = ctx.clock.now()
            job = rows.next_due_job(session, now, handled)
            if job is None:
                return None
            job_id = job.id
            handled.add(job_id)
            job.attempts += 1
            # Done first: running the instance may re-arm this same row (a cycle timer's
            # next occurrence) back to pending with a new due time.
            job.status, job.finished_at, job.last_error = "done", now, None
            rows.write(session, job)
            _run_job(ctx, session, job, now)
            rows.write(session, job)
        return ""
    except EngineError as exc:
        if job_id is None:
            raise
        message = str(exc)
    except Exception as exc:  # a worker must survive anything one job does
        if job_id is None:
            raise
        message = f"{type(exc).__name__}: {exc}"
    _record_failure(ctx, session, job_id, message)
    return f"job {job_id}: {message}"


def _run_job(ctx: EngineContext, session: Session, job: Rec, now) -> None:
    if job.kind != "timer":
        raise NotFound(f"no handler for job kind {job.kind!r}")
    inst = rows.instance(session, job.instance_id, for_update=True)
    if inst is None or inst.status != "running":
        job.status = "cancelled"
        return
    loaded = execution.load(ctx, session, inst, SYSTEM_ACTOR, now)
    with execution.engine_errors(loaded, ctx.clock):
        loaded.workflow.refresh_timers()
        run_engine(loaded.workflow, loaded.counter)

        def save() -> None:
            execution.save(session, loaded, now)
            rows.audit(session, instance_id=inst.id, at=now, actor=SYSTEM_ACTOR,
                       kind="timer_fired", element_id=job.element_id,
                       element_name=loaded.element(job.element_id).get("name"),
                       detail={"job": job.id, "due_at": job.due_at.isoformat()})
            execution.audit_services(session, loaded, now, SYSTEM_ACTOR)

        projection.sync(session, loaded, now, SYSTEM_ACTOR, save)


def _record_failure(ctx: EngineContext, session: Session, job_id: int, message: str) -> None:
    with unit_of_work(session):
        now = ctx.clock.now()
        job = rows.job(session, job_id)
        job.attempts += 1
        job.last_error = message[:4000]
        if job.attempts >= ctx.settings.job_max_attempts:
            job.status = "failed"
            job.finished_at = now
            rows.audit(session, instance_id=job.instance_id, at=now, actor=SYSTEM_ACTOR,
                       kind="incident", element_id=job.element_id, reason=job.last_error,
                       detail={"job": job.id, "attempts": job.attempts})
        else:
            backoff = ctx.settings.job_backoff_seconds * (2 ** (job.attempts - 1))
            job.due_at = now + timedelta(seconds=backoff)
        rows.write(session, job)


def retry_job(ctx: EngineContext, session: Session, job_id: int, actor: str) -> JobView:
    """Put a failed job back in the queue, due now."""
    with unit_of_work(session):
        now = ctx.clock.now()
        job = rows.job(session, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.status != "failed":
            raise EngineError(f"job {job_id} is {job.status}, not failed")
        job.status, job.attempts, job.due_at, job.finished_at = "pending", 0, now, None
        rows.write(session, job)
        rows.audit(session, instance_id=job.instance_id, at=now, actor=actor,
                   kind="job_retried", element_id=job.element_id, detail={"job": job.id})
        return job_view(job)


def list_jobs(session: Session, *, status: str | None = None, instance_id: int | None = None,
              limit: int = 100) -> list[JobView]:
    """Jobs, soonest first, optionally filtered."""
    q = select(Job)
    if status:
        q = q.where(Job.status == status)
    if instance_id is not None:
        q = q.where(Job.instance_id == instance_id)
    return [job_view(j) for j in session.scalars(q.order_by(Job.due_at, Job.id).limit(limit))]


def worker_loop(ctx: EngineContext, session_factory: Callable[[], Session], *,
                poll_seconds: float = 1.0, stop: Callable[[], bool] = lambda: False,
                log: Callable[[str], None] = print,
                each_pass: Callable[[], None] = lambda: None) -> None:
    """Fire due jobs until ``stop()`` says so, sleeping ``poll_seconds`` when idle.

    ``each_pass`` runs before every pass (the periodic chores of
    :mod:`engine.housekeeping`, which decide themselves whether they are due).
    """
    while not stop():
        each_pass()
        with session_factory() as session:
            try:
                report = fire_due_jobs(ctx, session)
            except Exception as exc:  # keep the worker alive (DB restart, ...)
                log(f"worker: {type(exc).__name__}: {exc}")
                report = FireReport()
        for err in report.errors:
            log(f"worker: {err}")
        if report.fired:
            log(f"worker: fired {report.fired} job(s)")
        if not report.fired and not report.failed:
            time.sleep(poll_seconds)
