"""Keep the indexed tables in step with a workflow after every action.

``human_task`` rows mirror READY user tasks, ``job`` rows mirror waiting timers, and the
instance row carries its status and a one-line "current step" so that the inbox, lists
and dashboards never deserialize a workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.calendar import sla_due
from engine.errors import TaskFailed
from engine.spiff.runtime import is_finished, ready_manual_tasks, waiting_timers
from engine.store import rows
from engine.store.rows import Rec

if TYPE_CHECKING:
    from engine.running import Loaded


def sync(session: Session, loaded: Loaded, now: datetime, actor: str) -> list[Rec]:
    """Bring human tasks, timer jobs and the instance row up to date.

    Returns the instance's open human tasks, oldest first.
    """
    open_rows = _sync_tasks(session, loaded, now)
    if loaded.meta.get("has_timers", True):
        _sync_timer_jobs(session, loaded, now)
    inst = loaded.instance
    if is_finished(loaded.workflow) and inst.status == "running":
        inst.status = "completed"
        inst.ended_at = now
        rows.audit(session, instance_id=inst.id, at=now, actor=actor, kind="completed")
    if inst.status != "running":
        inst.current_step = ""
    elif open_rows:
        inst.current_step = ", ".join(dict.fromkeys(r.name for r in open_rows))[:500]
    else:
        timers = waiting_timers(loaded.workflow)
        inst.current_step = ("waiting for " + ", ".join(
            loaded.element(loaded.original_id(t.bpmn_id)).get("name") or t.bpmn_id
            for t in timers))[:500] if timers else ""
    return open_rows


def _sync_tasks(session: Session, loaded: Loaded, now: datetime) -> list[Rec]:
    inst = loaded.instance
    known = loaded.open_rows
    if known is None:
        known = rows.open_tasks(session, inst.id)
    existing = {r.spiff_task_id: r for r in known if r.status == "open"}
    ready = {str(t.id): t for t in ready_manual_tasks(loaded.workflow)}
    still_open = []
    for task_id, task in ready.items():
        row = existing.get(task_id)
        if row is None:
            row = rows.insert_rec(session, _new_task_row(loaded, task, now))
        elif row.project_id is None and inst.project_id is not None:
            row.project_id = inst.project_id
            rows.write(session, row)
        still_open.append(row)
    for task_id, row in existing.items():
        if task_id not in ready:
            row.status = "cancelled"
            row.completed_at = now
            rows.write(session, row)
    return sorted(still_open, key=lambda r: r.id)


def _new_task_row(loaded: Loaded, task: Any, now: datetime) -> Rec:
    inst = loaded.instance
    element_id = loaded.original_id(task.task_spec.bpmn_id) or task.task_spec.name
    info = loaded.element(element_id)
    props = info.get("properties") or {}
    role = info.get("role") or info.get("lane")
    if role is None and task.task_spec.lane:
        role = task.task_spec.lane
    assignee = None
    if props.get("assignee"):
        assignee = _evaluate_assignee(loaded, task, element_id, props["assignee"])
    due_at = _due_at(loaded, task, element_id, props, now)
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
        four_eyes=str(props.get("fourEyes", "")).lower() == "true",
        created_at=now,
        due_at=due_at,
    )


def _due_at(loaded: Loaded, task: Any, element_id: str, props: dict[str, str],
            now: datetime) -> datetime | None:
    """The SLA deadline from ``sla`` (ISO duration) or ``slaExpression`` (evaluated)."""
    sla: Any = props.get("sla")
    source = "sla"
    if not sla and props.get("slaExpression"):
        source = "slaExpression"
        try:
            sla = loaded.workflow.script_engine.evaluate(task, props["slaExpression"])
        except Exception as exc:
            raise TaskFailed(f"the SLA expression failed: {exc}", element_id=element_id,
                             error_type=type(exc).__name__) from exc
    if sla is None or sla == "":
        return None
    try:
        return sla_due(now, sla)
    except ValueError as exc:
        raise TaskFailed(f"{source}: {exc}", element_id=element_id,
                         error_type="SLAError") from exc


def _evaluate_assignee(loaded: Loaded, task: Any, element_id: str, expression: str) -> str:
    engine = loaded.workflow.script_engine
    try:
        value = engine.evaluate(task, expression)
    except Exception as exc:
        raise TaskFailed(
            f"the assignee expression {expression!r} failed: {exc}",
            element_id=element_id, error_type=type(exc).__name__,
        ) from exc
    if not isinstance(value, str) or not value:
        raise TaskFailed(
            f"the assignee expression {expression!r} gave {value!r}, not a username",
            element_id=element_id, error_type="AssigneeError",
        )
    return value


def _sync_timer_jobs(session: Session, loaded: Loaded, now: datetime) -> None:
    inst = loaded.instance
    existing = {j.task_ref: j for j in rows.timer_jobs(session, inst.id)}
    live = set()
    for timer in waiting_timers(loaded.workflow):
        live.add(timer.task_id)
        due = datetime.fromisoformat(timer.due)
        if due.tzinfo is None:
            raise TaskFailed(f"timer {timer.bpmn_id} has a due time without a timezone",
                             element_id=loaded.original_id(timer.bpmn_id))
        job = existing.get(timer.task_id)
        if job is None:
            rows.insert_rec(session, rows.new(
                rows.JOBS, kind="timer", instance_id=inst.id, task_ref=timer.task_id,
                element_id=loaded.original_id(timer.bpmn_id), due_at=due, status="pending",
                attempts=0, payload={}, created_at=now))
        elif job.status != "pending" or job.due_at != due:
            job.due_at, job.status, job.attempts, job.last_error = due, "pending", 0, None
            rows.write(session, job)
    for task_ref, job in existing.items():
        if task_ref not in live and job.status == "pending":
            job.status = "cancelled"
            job.finished_at = now
            rows.write(session, job)
