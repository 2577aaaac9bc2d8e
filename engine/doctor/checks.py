"""Find instances that nothing will ever move again, and rows that disagree with the
saved workflow state.

Cheap checks are single queries (jobs of finished instances, jobs that failed for good).
Comparing task and job rows with the saved state needs the workflow: running instances
are read in batches (keyset paging by id), each batch in one consistent snapshot
(``REPEATABLE READ`` on PostgreSQL; a SQLite read transaction is one already), so an
action committing meanwhile cannot look like an inconsistency.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import execution
from engine.context import EngineContext
from engine.spiff.stepping import DEEP, is_finished, ready_manual_tasks, waiting_timers
from engine.store.rows import INSTANCES, JOBS, TASKS, Rec
from engine.store.uow import unit_of_work
from engine.views import Finding

log = logging.getLogger(__name__)

#: The kinds of finding, in the order a report lists them.
KINDS = (
    "stranded",
    "state_unreadable",
    "step_not_run",
    "task_row_missing",
    "task_row_stale",
    "timer_job_missing",
    "finished_instance_job",
    "job_failed",
)
DOCTOR_ACTOR = "doctor"
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def finding(
    kind: str,
    message: str,
    *,
    instance_id: int | None = None,
    human_task_id: int | None = None,
    job_id: int | None = None,
    **params: object,
) -> Finding:
    """A :class:`Finding` of ``kind`` with its stable code ``doctor.<kind>``."""
    return Finding(
        kind=kind,
        code=f"doctor.{kind}",
        message=message,
        instance_id=instance_id,
        human_task_id=human_task_id,
        job_id=job_id,
        params=dict(params),
    )


@dataclass
class Scan:
    """The findings of one pass, and whether it looked at everything."""

    findings: list[Finding] = field(default_factory=list)
    instances_checked: int = 0
    #: False when ``limit`` stopped the pass before the last running instance.
    complete: bool = True


def check(
    ctx: EngineContext,
    session: Session,
    *,
    offset: int = 0,
    limit: int | None = None,
    batch: int = 200,
) -> Scan:
    """Every finding, instance by instance; ``offset``/``limit`` choose which running
    instances (by id) have their saved state compared with their rows."""
    scan = Scan(complete=offset == 0)
    with unit_of_work(session, write=False):
        _snapshot(session)
        scan.findings += finished_instance_jobs(session)
        scan.findings += failed_jobs(session)
    after, skip, left = 0, offset, limit
    while True:
        size = batch if left is None else min(batch, left)
        if size <= 0:  # the limit stopped the pass: more instances may follow
            scan.complete = False
            break
        with unit_of_work(session, write=False):
            _snapshot(session)
            found = _running(session, after, skip, size)
            scan.findings += check_instances(ctx, session, found)
        scan.instances_checked += len(found)
        skip, left = 0, None if left is None else left - len(found)
        if len(found) < size:
            break
        after = found[-1].id
    scan.findings.sort(key=lambda f: (f.instance_id or 0, KINDS.index(f.kind), f.key))
    return scan


def _snapshot(session: Session) -> None:
    """Start the transaction as one consistent snapshot on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _running(session: Session, after: int, skip: int, size: int) -> list[Rec]:
    q = (
        select(INSTANCES)
        .where(INSTANCES.c.status == "running", INSTANCES.c.id > after)
        .order_by(INSTANCES.c.id)
        .offset(skip)
        .limit(size)
    )
    return [Rec(INSTANCES, r._mapping) for r in session.execute(q)]


def finished_instance_jobs(session: Session) -> list[Finding]:
    """Pending jobs of instances that are no longer running (nothing should fire)."""
    q = (
        select(JOBS.c.id, JOBS.c.instance_id, JOBS.c.element_id, INSTANCES.c.status)
        .join(INSTANCES, INSTANCES.c.id == JOBS.c.instance_id)
        .where(JOBS.c.status == "pending", INSTANCES.c.status != "running")
    )
    return [
        finding(
            "finished_instance_job",
            f"job {r.id} ({r.element_id or 'job'}) is pending although the instance is {r.status}",
            instance_id=r.instance_id,
            job_id=r.id,
            status=r.status,
            element_id=r.element_id,
        )
        for r in session.execute(q)
    ]


def failed_jobs(session: Session) -> list[Finding]:
    """Jobs that failed ``job_max_attempts`` times, of running instances (or none)."""
    q = (
        select(JOBS.c.id, JOBS.c.instance_id, JOBS.c.element_id, JOBS.c.attempts, JOBS.c.last_error)
        .outerjoin(INSTANCES, INSTANCES.c.id == JOBS.c.instance_id)
        .where(
            JOBS.c.status == "failed",
            (INSTANCES.c.status == "running") | JOBS.c.instance_id.is_(None),
        )
    )
    return [
        finding(
            "job_failed",
            f"job {r.id} ({r.element_id or 'job'}) failed {r.attempts} times: "
            f"{_one_line(r.last_error or '?')}",
            instance_id=r.instance_id,
            job_id=r.id,
            element_id=r.element_id,
            attempts=r.attempts,
        )
        for r in session.execute(q)
    ]


def check_instances(ctx: EngineContext, session: Session, found: list[Rec]) -> list[Finding]:
    """Compare each running instance's open tasks and jobs with its saved state."""
    if not found:
        return []
    ids = [i.id for i in found]
    open_rows = _by_instance(
        session.execute(
            select(TASKS).where(TASKS.c.instance_id.in_(ids), TASKS.c.status == "open")
        ),
        TASKS,
    )
    jobs = _by_instance(
        session.execute(
            select(JOBS).where(
                JOBS.c.instance_id.in_(ids), JOBS.c.status.in_(("pending", "failed"))
            )
        ),
        JOBS,
    )
    now = ctx.clock.now()
    out: list[Finding] = []
    for inst in found:
        out += list(_check_one(ctx, session, inst, open_rows[inst.id], jobs[inst.id], now))
    return out


def _by_instance(result: Iterable, table) -> defaultdict[int, list[Rec]]:
    grouped: defaultdict[int, list[Rec]] = defaultdict(list)
    for row in result:
        grouped[row.instance_id].append(Rec(table, row._mapping))
    return grouped


def _check_one(
    ctx: EngineContext,
    session: Session,
    inst: Rec,
    open_rows: list[Rec],
    jobs: list[Rec],
    now: datetime,
) -> Iterator[Finding]:
    try:
        wf = execution.load(ctx, session, inst, DOCTOR_ACTOR, now).workflow
    except Exception as exc:  # a state that does not load is exactly what to report
        log.warning("doctor: instance %s does not load: %s", inst.id, exc)
        yield finding(
            "state_unreadable",
            f"its saved state cannot be loaded: {_one_line(str(exc))[:300]}",
            instance_id=inst.id,
        )
        return
    idle = [
        t for t in wf.get_tasks(state=TaskState.READY, max_depth=DEEP) if not t.task_spec.manual
    ]
    if idle:
        names = ", ".join(dict.fromkeys(_name(t) for t in idle))
        yield finding(
            "step_not_run",
            f"automatic step(s) {names} are ready but nothing runs them until the "
            "next action on the instance",
            instance_id=inst.id,
            steps=names,
        )
    ready = {str(t.id): t for t in ready_manual_tasks(wf)}
    by_task = {r.spiff_task_id: r for r in open_rows}
    for task_id, task in ready.items():
        if task_id not in by_task:
            name = _name(task)
            yield finding(
                "task_row_missing",
                f"step '{name}' waits for a person but has no open task in the inbox",
                instance_id=inst.id,
                ref=task_id,
                step=name,
            )
    for row in open_rows:
        if row.spiff_task_id not in ready:
            yield finding(
                "task_row_stale",
                f"task {row.id} '{row.name}' is open in the inbox but its step is "
                "not waiting in the saved state",
                instance_id=inst.id,
                human_task_id=row.id,
                step=row.name,
            )
    armed = {j.task_ref for j in jobs if j.kind == "timer"}
    for timer in waiting_timers(wf):
        if timer.task_id not in armed:
            yield finding(
                "timer_job_missing",
                f"timer '{timer.bpmn_id}' (due {timer.due}) waits but no job will fire it",
                instance_id=inst.id,
                ref=timer.task_id,
                element_id=timer.bpmn_id,
                due=timer.due,
            )
    if (
        not open_rows
        # A pending SLA reminder only tells people; it never moves the workflow on.
        and not any(j.status == "pending" and j.kind == "timer" for j in jobs)
        and not wf.get_tasks(state=_LIVE, max_depth=DEEP)
    ):
        done = is_finished(wf)
        yield finding(
            "stranded",
            "running with no open task, no pending job and nothing waiting in its "
            "saved state" + (" (the workflow has finished)" if done else ""),
            instance_id=inst.id,
            finished=done,
            process=inst.process_key,
        )


def _name(task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name


def _one_line(text: str) -> str:
    return " ".join(text.split())


__all__ = ["DOCTOR_ACTOR", "KINDS", "Scan", "check", "finding"]
