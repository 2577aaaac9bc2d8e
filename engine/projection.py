"""Keep the indexed tables in step with a workflow after every action.

``human_task`` rows mirror READY user tasks, ``job`` rows mirror waiting timers, and the
instance row carries its status and a one-line "current step" so that the inbox, lists
and dashboards never deserialize a workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from sqlalchemy.orm import Session

from engine import notifications, out_of_office, rollup, sla_defaults, sla_reminders
from engine.errors import TaskFailed
from engine.execution import Loaded
from engine.spiff.stepping import fired_timers, is_finished, ready_manual_tasks, waiting_timers
from engine.store import rows
from engine.store.rows import Rec
from engine.working_days import sla_due


def sync(
    session: Session, loaded: Loaded, now: datetime, actor: str, save: Callable[[], None]
) -> list[Rec]:
    """Bring human tasks, timer jobs and the instance row up to date.

    Works out every change first, then calls ``save`` (which writes the instance with
    its optimistic revision check) before writing anything else, so a concurrent writer
    fails on the instance row instead of colliding on the task rows. Returns the
    instance's open human tasks, oldest first.
    """
    inst = loaded.instance
    known = loaded.open_rows
    if known is None:
        known = rows.open_tasks(session, inst.id)
    existing = {r.spiff_task_id: r for r in known if r.status == "open"}
    ready = {str(t.id): t for t in ready_manual_tasks(loaded.workflow)}
    kept = [row for task_id, row in existing.items() if task_id in ready]
    default_sla = sla_defaults.finder(session, inst.process_key)
    new = [
        _new_task_row(loaded, task, now, default_sla)
        for task_id, task in ready.items()
        if task_id not in existing
    ]
    finished = is_finished(loaded.workflow) and inst.status == "running"
    if finished:
        inst.status, inst.ended_at = "completed", now
    inst.current_step = _current_step(loaded, [*kept, *new])
    has_timers = loaded.meta.get("has_timers", True)
    fired = fired_timers(loaded.workflow) if has_timers else set()  # before save() prunes

    save()
    for row in kept:
        if row.project_id is None and inst.project_id is not None:
            row.project_id = inst.project_id
            rows.write(session, row)
    for task_id, row in existing.items():
        if task_id not in ready:
            row.status, row.completed_at = "cancelled", now
            rows.write(session, row)
    # Tasks that closed in this action (completed or cancelled) lose their SLA reminder.
    sla_reminders.cancel(
        session, inst.id, [r.id for r in known if r.due_at and r.status != "open"], now
    )
    for row in new:
        out_of_office.redirect(session, row, inst.started_by, now, actor)
        rows.insert_rec(session, row)
        if row.assignee:
            notifications.write(session, notifications.task_assigned(inst, row), now)
        if row.due_at is not None and not sla_reminders.has_modelled_reminder(
            loaded.element_map(row.form_definition_id), row.element_id
        ):
            sla_reminders.schedule(session, row, now)
    if has_timers:
        _sync_timer_jobs(session, loaded, now, fired)
    if finished:
        rollup.instance_completed(session, inst, workday(loaded))
        rows.audit(session, instance_id=inst.id, at=now, actor=actor, kind="completed")
        notifications.write(
            session,
            notifications.note(
                (inst.started_by,),
                "completed",
                "%(title)s: completed",
                params={"title": inst.title},
                link=f"/instances/{inst.id}",
                instance_id=inst.id,
            ),
            now,
        )
    return sorted([*kept, *new], key=lambda r: r.id)


def workday(loaded: Loaded) -> Callable[[Any], bool]:
    """The install calendar's working-day test (Monday to Friday without one)."""
    if loaded.calendar is None:
        return lambda day: day.weekday() < 5
    return loaded.calendar.is_workday


def _current_step(loaded: Loaded, open_rows: list[Rec]) -> str:
    if loaded.instance.status != "running":
        return ""
    if open_rows:
        return ", ".join(dict.fromkeys(r.name for r in open_rows))[:500]
    timers = waiting_timers(loaded.workflow)
    if not timers:
        return ""
    names = (loaded.element(loaded.original_id(t.bpmn_id)).get("name") or t.bpmn_id for t in timers)
    return ("waiting for " + ", ".join(names))[:500]


def _new_task_row(
    loaded: Loaded, task: Any, now: datetime, default_sla: Callable[[str], str | int | None]
) -> Rec:
    inst = loaded.instance
    definition = loaded.definition_of(task)
    element_id = loaded.original_id(task.task_spec.bpmn_id, definition) or task.task_spec.name
    info = loaded.element(element_id, definition)
    props = info.get("properties") or {}
    role = info.get("role") or info.get("lane")
    if role is None and task.task_spec.lane:
        role = task.task_spec.lane
    assignee = None
    if props.get("assignee"):
        assignee = _evaluate_assignee(loaded, task, element_id, props["assignee"])
    due_at = _due_at(loaded, task, element_id, props, now, default_sla)
    return rows.new(
        rows.TASKS,
        instance_id=inst.id,
        spiff_task_id=str(task.id),
        element_id=element_id,
        name=info.get("name") or task.task_spec.bpmn_name or element_id,
        process_key=inst.process_key,
        role=role,
        project_id=inst.project_id,
        assignee=assignee,
        status="open",
        form=info.get("form"),
        form_definition_id=definition.id,
        four_eyes=str(props.get("fourEyes", "")).lower() == "true",
        started_by=inst.started_by,
        distinct_actors=str(props.get("distinctActors", "")).lower() == "true",
        multi_ref=_multi_ref(task),
        created_at=now,
        due_at=due_at,
    )


def _multi_ref(task: Any) -> str | None:
    """The multi-instance run a task belongs to (its parent), or None for plain tasks."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, MultiInstanceTask):
        return str(parent.id)
    return None


def _due_at(
    loaded: Loaded,
    task: Any,
    element_id: str,
    props: dict[str, str],
    now: datetime,
    default_sla: Callable[[str], str | int | None],
) -> datetime | None:
    """The SLA deadline from ``sla`` (ISO duration) or ``slaExpression`` (evaluated), else
    from the PMO's default for this step (:mod:`engine.sla_defaults`), else none."""
    sla: Any = props.get("sla")
    source = "sla"
    if not sla and props.get("slaExpression"):
        source = "slaExpression"
        try:
            sla = loaded.workflow.script_engine.evaluate(task, props["slaExpression"])
        except Exception as exc:
            raise TaskFailed(
                f"the SLA expression failed: {exc}",
                element_id=element_id,
                error_type=type(exc).__name__,
                code="run.sla_failed",
            ) from exc
    if sla is None or sla == "":
        source = "SLA default"
        sla = default_sla(element_id)
        if sla is None:
            return None
    try:
        return sla_due(now, sla, loaded.calendar or ())
    except ValueError as exc:
        raise TaskFailed(
            f"{source}: {exc}", element_id=element_id, error_type="SLAError", code="run.sla_failed"
        ) from exc


def _evaluate_assignee(loaded: Loaded, task: Any, element_id: str, expression: str) -> str:
    scripts = loaded.workflow.script_engine
    try:
        value = scripts.evaluate(task, expression)
    except Exception as exc:
        raise TaskFailed(
            f"the assignee expression {expression!r} failed: {exc}",
            element_id=element_id,
            error_type=type(exc).__name__,
        ) from exc
    if not isinstance(value, str) or not value:
        raise TaskFailed(
            f"the assignee expression {expression!r} gave {value!r}, not a username",
            element_id=element_id,
            error_type="AssigneeError",
        )
    return value


def _sync_timer_jobs(session: Session, loaded: Loaded, now: datetime, fired_refs: set[str]) -> None:
    inst = loaded.instance
    existing = {j.task_ref: j for j in rows.timer_jobs(session, inst.id)}
    live = set()
    for timer in waiting_timers(loaded.workflow):
        live.add(timer.task_id)
        due = datetime.fromisoformat(timer.due)
        if due.tzinfo is None:
            raise TaskFailed(
                f"timer {timer.bpmn_id} has a due time without a timezone",
                element_id=loaded.original_id(timer.bpmn_id),
            )
        job = existing.get(timer.task_id)
        if job is None:
            rows.insert_rec(
                session,
                rows.new(
                    rows.JOBS,
                    kind="timer",
                    instance_id=inst.id,
                    task_ref=timer.task_id,
                    element_id=loaded.original_id(timer.bpmn_id),
                    due_at=due,
                    status="pending",
                    attempts=0,
                    payload={},
                    created_at=now,
                ),
            )
        elif job.status != "pending" or job.due_at != due:
            job.due_at, job.status, job.attempts, job.last_error = due, "pending", 0, None
            rows.write(session, job)
    for task_ref, job in existing.items():
        if task_ref not in live and job.status == "pending":
            # Gone because it fired during this action, or because the step it guarded
            # ended first (even past its due time: the person acted before the timer).
            fired = task_ref in fired_refs
            job.status = "done" if fired else "cancelled"
            job.finished_at = now
            rows.write(session, job)
            if fired:
                rows.audit(
                    session,
                    instance_id=inst.id,
                    at=now,
                    actor="system",
                    kind="timer_fired",
                    element_id=job.element_id,
                    element_name=loaded.element(job.element_id).get("name"),
                    detail={"job": job.id, "due_at": job.due_at.isoformat()},
                )
