"""Fire due jobs: one transaction per job, each job fires once.

Lock order, the same as every user action: the instance row, then its jobs.  A due job
is picked without a lock; its instance is locked (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: a busy instance is left for the next pass, not waited on), then the job
itself (``SKIP LOCKED``: another worker has it), and the job is checked again: still
pending, still due.  The engine runs inside a savepoint; a failure rolls back only that
and is recorded on the job in the same transaction that holds the locks, with
exponential back-off, so it can never overwrite what another worker wrote; after
``max_attempts`` the job becomes a ``failed`` incident that a person can retry.  Losing a
race (the instance saved by someone else, a deadlock, SQLite's stale read) is not an
attempt: the job is run again at once on fresh state.  On SQLite the write lock is taken
by the first write, after the engine ran.

The worker (:func:`worker_loop`) sleeps until the earliest pending job is due, at most
``poll_seconds`` (the safety net), and is woken sooner when a job due earlier is written
(:mod:`engine.jobs.wake`: an in-process signal, and ``LISTEN``/``NOTIFY`` on PostgreSQL).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine import execution, install, projection, sla_reminders
from engine.context import EngineContext
from engine.errors import EngineError, InstanceChanged, NotFound
from engine.jobs import wake
from engine.retry import is_transient, retrying_locked
from engine.spiff.stepping import run_engine
from engine.store import rows
from engine.store.models import Job
from engine.store.rows import JOBS, Rec
from engine.store.uow import unit_of_work
from engine.views import FireReport, JobView, job_view

SYSTEM_ACTOR = "system"
log = logging.getLogger(__name__)

#: Outcomes of one attempt to fire a job.
FIRED, FAILED, SKIPPED = "fired", "failed", "skipped"
#: After a pass that had to leave a due job (its instance busy), look again this soon.
BUSY_RETRY_SECONDS = 0.1


def fire_due_jobs(ctx: EngineContext, session: Session, *, limit: int = 100) -> FireReport:
    """Fire up to ``limit`` jobs that are due now; return what happened."""
    fired = failed = skipped = 0
    errors: list[str] = []
    handled: set[int] = set()  # a job re-armed by its own run waits for the next pass
    next_due: datetime | None = None
    with unit_of_work(session, write=False):
        install.sync(session, ctx.clock)  # a moved demo clock, as the database says
    while fired + failed < limit:
        with unit_of_work(session, write=False):
            due, next_due = _candidates(session, ctx.clock.now(), handled)
        if not due:
            break
        for job_id, instance_id in due:
            handled.add(job_id)
            outcome, error = retrying_locked(
                functools.partial(_fire_one, ctx, session, job_id, instance_id),
                what=f"job {job_id}",
            )
            if outcome == FIRED:
                fired += 1
            elif outcome == FAILED:
                failed += 1
                errors.append(f"job {job_id}: {error}")
            else:
                skipped += 1
            if fired + failed >= limit:
                break
    return FireReport(
        fired=fired, failed=failed, skipped=skipped, errors=errors, next_due_at=next_due
    )


def _candidates(
    session: Session, now: datetime, skip: set[int], limit: int = 20
) -> tuple[list[tuple[int, int | None]], datetime | None]:
    """(job id, instance id) of pending jobs whose time has passed (strictly before
    ``now``, as SpiffWorkflow's timers fire only once their time is past), oldest first,
    not in ``skip``; and, when fewer than ``limit`` are due, when the next one is due.

    One query for both, so a worker that sleeps until the next job asks the database no
    more often than one that polls.  Nothing is locked: the runner locks the instance,
    then the job.
    """
    q = (
        select(JOBS.c.id, JOBS.c.instance_id, JOBS.c.due_at)
        .where(JOBS.c.status == "pending")
        .order_by(JOBS.c.due_at, JOBS.c.id)
        .limit(limit)
    )
    if skip:
        q = q.where(JOBS.c.id.not_in(list(skip)))
    due: list[tuple[int, int | None]] = []
    for r in session.execute(q):
        if not r.due_at < now:
            return due, r.due_at
        due.append((r.id, r.instance_id))
    return due, None


def _fire_one(
    ctx: EngineContext,
    session: Session,
    job_id: int,
    instance_id: int | None,
    lock_first: bool = False,
) -> tuple[str, str]:
    """Lock the instance, then the job; fire it in a savepoint; record the outcome
    (``lock_first``: a run again after a lost race takes SQLite's write lock first)."""
    with unit_of_work(session, write=lock_first):
        now = ctx.clock.now()
        inst = None
        if instance_id is not None:
            inst = rows.instance(session, instance_id, lock=True, skip_locked=True)
            if inst is None and rows.instance(session, instance_id) is not None:
                return SKIPPED, ""  # someone is working on the instance: next pass
        job = rows.job(session, job_id, lock=True)
        if job is None or job.status != "pending" or not job.due_at < now:
            return SKIPPED, ""  # another worker has it or had it, or it was re-armed
        before = dict(job._values)
        try:
            with session.begin_nested():
                # Done first: running the instance may re-arm this same row (a cycle
                # timer's next occurrence) back to pending with a new due time.
                job.status, job.finished_at, job.last_error = "done", now, None
                job.attempts += 1
                rows.write(session, job)
                _run_job(ctx, session, job, inst, now)
                rows.write(session, job)
            return FIRED, ""
        except InstanceChanged:
            raise  # lost a race: run again on fresh state, not an attempt
        except DBAPIError as exc:
            if is_transient(exc):
                raise
            log.exception("job %s failed in the database", job_id)
            message = f"{type(exc).__name__}: {str(exc.orig).splitlines()[0]}"
        except EngineError as exc:
            log.warning("job %s failed: %s", job_id, exc, exc_info=True)
            message = str(exc)
        except Exception as exc:  # a worker must survive anything one job does
            log.exception("job %s failed", job_id)
            message = f"{type(exc).__name__}: {exc}"
        _record_failure(ctx, session, Rec(JOBS, before), message, now)
        return FAILED, message


def _run_job(
    ctx: EngineContext, session: Session, job: Rec, inst: Rec | None, now: datetime
) -> None:
    if job.kind == sla_reminders.KIND:
        return sla_reminders.fire(ctx, session, job, inst, now)
    if job.kind != "timer":
        raise NotFound(
            f"no handler for job kind {job.kind!r}", code="job.no_handler", kind=job.kind
        )
    if inst is None or inst.status != "running":
        job.status = "cancelled"
        return
    loaded = execution.load(ctx, session, inst, SYSTEM_ACTOR, now)
    with execution.engine_errors(loaded, ctx.clock):
        loaded.workflow.refresh_timers()
        run_engine(loaded.workflow, loaded.counter)

        def save() -> None:
            execution.save(session, loaded, now)
            rows.audit(
                session,
                instance_id=inst.id,
                at=now,
                actor=SYSTEM_ACTOR,
                kind="timer_fired",
                element_id=job.element_id,
                element_name=loaded.element(job.element_id).get("name"),
                detail={"job": job.id, "due_at": job.due_at.isoformat()},
            )
            execution.audit_services(session, loaded, now, SYSTEM_ACTOR)

        projection.sync(session, loaded, now, SYSTEM_ACTOR, save)


def _record_failure(
    ctx: EngineContext, session: Session, job: Rec, message: str, now: datetime
) -> None:
    """Count a failed attempt on the job (as it was before the attempt): back off, or
    after the last attempt make it a ``failed`` incident."""
    job.attempts += 1
    job.last_error = message[:4000]
    if job.attempts >= ctx.settings.job_max_attempts:
        job.status = "failed"
        job.finished_at = now
        rows.audit(
            session,
            instance_id=job.instance_id,
            at=now,
            actor=SYSTEM_ACTOR,
            kind="incident",
            element_id=job.element_id,
            reason=job.last_error,
            detail={"job": job.id, "attempts": job.attempts},
        )
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
            raise NotFound(f"no job {job_id}", code="job.not_found", job_id=job_id)
        if job.status != "failed":
            raise EngineError(
                f"job {job_id} is {job.status}, not failed",
                code="job.not_failed",
                job_id=job_id,
                status=job.status,
            )
        job.status, job.attempts, job.due_at, job.finished_at = "pending", 0, now, None
        rows.write(session, job)
        rows.audit(
            session,
            instance_id=job.instance_id,
            at=now,
            actor=actor,
            kind="job_retried",
            element_id=job.element_id,
            detail={"job": job.id},
        )
        return job_view(job)


def list_jobs(
    session: Session, *, status: str | None = None, instance_id: int | None = None, limit: int = 100
) -> list[JobView]:
    """Jobs, soonest first, optionally filtered."""
    q = select(Job)
    if status:
        q = q.where(Job.status == status)
    if instance_id is not None:
        q = q.where(Job.instance_id == instance_id)
    return [job_view(j) for j in session.scalars(q.order_by(Job.due_at, Job.id).limit(limit))]


def worker_loop(
    ctx: EngineContext,
    session_factory: Callable[[], Session],
    *,
    poll_seconds: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
    log: Callable[[str], None] = print,
    each_pass: Callable[[], None] = lambda: None,
    waiter: wake.Waiter | None = None,
    listen: bool = True,
    local: bool = True,
) -> None:
    """Fire due jobs until ``stop()`` says so.

    After a pass with nothing (more) to fire the worker sleeps until the earliest pending
    job is due, but at most ``poll_seconds`` (the safety net that catches what nobody
    announced: a write by another process on SQLite, a lost connection); it wakes sooner
    when ``waiter`` hears of a job due earlier (:mod:`engine.jobs.wake`: with ``local``
    the commits of this process, with ``listen`` on PostgreSQL the ``NOTIFY`` of any
    process's commit).
    A pass that fired something is followed by another at once.

    ``each_pass`` runs before every pass (the periodic chores of
    :mod:`engine.housekeeping`, which decide themselves whether they are due).
    """
    waiter = waiter or wake.Waiter()
    if local:
        wake.register(waiter)
    listener = _listener(session_factory, waiter) if listen else None
    try:
        while not stop():
            waiter.clear()  # what is announced from here on is after this pass looked
            each_pass()
            with session_factory() as session:
                try:
                    report = fire_due_jobs(ctx, session)
                except Exception as exc:  # keep the worker alive (DB restart, ...)
                    logging.getLogger(__name__).exception("worker pass failed")
                    log(f"worker: {type(exc).__name__}: {exc}")
                    report = FireReport()
            for err in report.errors:
                log(f"worker: {err}")
            if report.fired:
                log(f"worker: fired {report.fired} job(s)")
            if report.fired or report.failed:
                continue
            pause = poll_seconds
            if report.skipped:
                pause = min(pause, BUSY_RETRY_SECONDS)
            if report.next_due_at is not None:
                until = (report.next_due_at - ctx.clock.now()).total_seconds() + 0.001
                pause = min(pause, until)
            waiter.wait(pause, ctx.clock)
    finally:
        wake.unregister(waiter)
        if listener is not None:
            listener.stop()


def _listener(
    session_factory: Callable[[], Session], waiter: wake.Waiter
) -> wake.PgListener | None:
    """A LISTEN thread for ``waiter`` when the sessions go to PostgreSQL."""
    with session_factory() as session:
        db = session.get_bind()
    if isinstance(db, DbEngine) and db.dialect.name == "postgresql":
        return wake.PgListener(db, waiter).start()
    return None
