"""Closing a wait early: the PM who started a request, or a PMO administrator, makes a
timer the process marks ``closable`` (property ``closable=true`` on the timer event, e.g.
the closure's lessons window) fire now, with a reason in the audit.

Runs under the instance lock as one unit of work: every waiting closable timer of the
instance is set due now, the workflow runs on as if the time had come, and the indexed
tables follow.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import execution, projection, sla_reminders
from engine.context import EngineContext
from engine.definitions import SpecCache
from engine.errors import FieldError, Forbidden, InvalidData, NotReady
from engine.identity import global_roles
from engine.retry import retrying_locked
from engine.spiff.stepping import run_engine, waiting_timers
from engine.store import rows
from engine.store.models import Job, ProcessInstance
from engine.store.uow import unit_of_work
from engine.views import WaitView

CLOSERS = frozenset({"pmo_admin", "pmo_head"})


def is_closable(props: dict[str, str]) -> bool:
    """True when the diagram marks a timer as closable early."""
    return str(props.get("closable", "")).lower() == "true"


#: The pending timers and reminders of some instances: the columns a wait shows, not
#: whole job rows (a page of the inbox asks for 25 instances; built once, not per page).
_PENDING = (
    select(Job.id, Job.instance_id, Job.kind, Job.element_id, Job.due_at, Job.payload)
    .where(
        Job.instance_id.in_(bindparam("ids", expanding=True)),
        Job.kind.in_(("timer", sla_reminders.KIND)),
        Job.status == "pending",
    )
    .order_by(Job.due_at, Job.id)
)
_VERSIONS = select(ProcessInstance.id, ProcessInstance.definition_id).where(
    ProcessInstance.id.in_(bindparam("ids", expanding=True))
)


def waits(session: Session, cache: SpecCache, instance_ids: set[int]) -> dict[int, list[WaitView]]:
    """The pending timers of these instances, soonest first, from the indexed job and
    instance rows and the cached element metadata (no workflow is deserialized)."""
    if not instance_ids:
        return {}
    jobs = session.execute(_PENDING, {"ids": sorted(instance_ids)}).all()
    # the versions only of instances with a timer (its name and properties come from the
    # diagram): most pages show none, and then read no instance row for it
    timed = {j.instance_id for j in jobs if j.kind != sla_reminders.KIND}
    defs = dict(session.execute(_VERSIONS, {"ids": sorted(timed)}).all()) if timed else {}
    out: dict[int, list[WaitView]] = {}
    for job in jobs:
        if job.instance_id is None:
            continue
        if job.kind == sla_reminders.KIND:
            out.setdefault(job.instance_id, []).append(sla_reminders.wait_view(job))
            continue
        meta = cache.definition(session, defs[job.instance_id]).meta
        info = meta.get("elements", {}).get(job.element_id) or {}
        out.setdefault(job.instance_id, []).append(
            WaitView(
                job.id,
                job.instance_id,
                job.element_id or "",
                info.get("name") or job.element_id or "",
                job.due_at,
                is_closable(info.get("properties") or {}),
                info.get("attached_to"),
                info.get("interrupting", True),
                info.get("then"),
            )
        )
    return out


def close_early(
    ctx: EngineContext, session: Session, instance_id: int, actor: str, reason: str
) -> int:
    """Fire the instance's waiting closable timers now; return how many fired."""
    if not reason or not reason.strip():
        raise InvalidData(
            {"reason": FieldError("Give a reason.", "wait.reason_required", field="reason")}
        )
    return retrying_locked(
        lambda lock_first: _close(ctx, session, instance_id, actor, reason.strip(), lock_first),
        what=f"closing a wait of instance {instance_id}",
    )


def _close(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    actor: str,
    reason: str,
    lock_first: bool = False,
) -> int:
    with unit_of_work(session, write=lock_first):
        now = ctx.clock.now()
        inst = rows.require_instance(session, instance_id, lock=True)
        if inst.started_by != actor and not (CLOSERS & global_roles(session, actor)):
            raise Forbidden(
                "only the person who started this request or the PMO may close a wait early",
                code="access.starter_only",
                instance_id=instance_id,
            )
        if inst.status != "running":
            raise NotReady(
                f"instance {instance_id} is {inst.status}",
                code="wait.not_closable",
                instance_id=instance_id,
            )
        loaded = execution.load(ctx, session, inst, actor, now)
        closed = _fire_now(loaded, now)
        if not closed:
            raise NotReady(
                f"instance {instance_id} waits on no timer that may be closed early",
                code="wait.not_closable",
                instance_id=instance_id,
            )
        with execution.engine_errors(loaded, ctx.clock):
            loaded.workflow.refresh_timers()
            run_engine(loaded.workflow, loaded.counter)

            def save() -> None:
                execution.save(session, loaded, now)
                for element_id in sorted(set(closed)):
                    rows.audit(
                        session,
                        instance_id=inst.id,
                        at=now,
                        actor=actor,
                        kind="wait_closed_early",
                        element_id=element_id,
                        element_name=loaded.element(element_id).get("name"),
                        reason=reason,
                        detail={"timers": closed.count(element_id)},
                    )
                execution.audit_services(session, loaded, now, actor)

            projection.sync(session, loaded, now, actor, save)
        return len(closed)


def _fire_now(loaded: execution.Loaded, now: datetime) -> list[str]:
    """Make every waiting closable timer due at ``now``; their element ids."""
    closed = []
    by_id = {t.task_id: t for t in waiting_timers(loaded.workflow)}
    for task in loaded.workflow.get_tasks():
        if str(task.id) not in by_id:
            continue
        element_id = (
            loaded.original_id(task.task_spec.bpmn_id, loaded.definition_of(task))
            or task.task_spec.bpmn_id
        )
        props = loaded.element(element_id, loaded.definition_of(task)).get("properties") or {}
        if not is_closable(props) or isinstance(task.internal_data.get("event_value"), dict):
            continue
        task.internal_data["event_value"] = (now - timedelta(seconds=1)).isoformat()
        closed.append(element_id)
    return closed
