"""The ops console: what a PMO administrator sees of every instance and may do to one.

Instances by status (running, suspended, completed, cancelled, with an incident) with
search, read from the indexed tables.  One instance: where its tokens wait, its incidents
(the error and the element where it happened), and the actions: suspend, resume, cancel,
retry (a failed job or an instance the doctor found stranded), move a token from one
step to another, move instances to a newer version.

Every action is one unit of work that locks the instance, checks the revision the
person saw (:func:`engine.revision.require_revision`: a 409 saying what changed), writes
an audit event with the actor and the reason, and keeps the task and job rows in step.
Nothing edits raw JSON: tokens move through SpiffWorkflow's own task tree.

Suspending holds the instance: its pending jobs become ``held`` (the job runner fires
only ``pending`` ones), its tasks stay in the inbox but cannot be completed, and no
other action but resume or cancel applies.  Resuming puts the held jobs back, due as
they were (a timer that came due meanwhile fires on the next pass).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine import access, doctor, execution, identity, migration, projection
from engine.context import EngineContext
from engine.errors import (
    EngineError,
    FieldError,
    Forbidden,
    InvalidData,
    NotFound,
    NotReady,
)
from engine.instances import _current_data, _run_on_cancel
from engine.revision import require_revision
from engine.spiff.stepping import DEEP, run_engine
from engine.store import rows
from engine.store.models import (
    AuditEvent,
    HumanTask,
    Incident,
    Job,
    ProcessDefinition,
    ProcessInstance,
)
from engine.store.rows import JOBS, Rec
from engine.store.uow import read_only, unit_of_work
from engine.views import AuditView, InstanceView, audit_view, instance_view

#: Status filters of the console ("incident": running or suspended with an open incident
#: or a job that failed for good).
STATUSES = ("running", "suspended", "completed", "cancelled", "incident")
#: Statuses an instance is over in.
ENDED = ("completed", "cancelled", "withdrawn")
#: Element types a token may be moved to.
ENTERABLE = frozenset(
    {
        "userTask",
        "manualTask",
        "task",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "subProcess",
        "callActivity",
    }
)
#: Audit kinds the console's actions write (besides ``cancelled``, ``moved_version`` and
#: ``repaired``, which other verbs write too).
KINDS = ("suspended", "resumed", "token_moved")
_LIVE = TaskState.READY | TaskState.WAITING
_JOB_FAILED = "job_failed"


@dataclass(frozen=True)
class OpsRow:
    """One instance in the console's list."""

    id: int
    process_key: str
    process_name: str
    version: int
    title: str
    business_key: str | None
    project_id: int | None
    status: str
    started_by: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    current_step: str
    revision: int
    #: Open incidents plus jobs that failed for good.
    incidents: int


@dataclass(frozen=True)
class OpsListing:
    """A page of instances, how many match, and how many there are per status."""

    rows: list[OpsRow]
    total: int
    counts: dict[str, int]
    process_names: dict[str, str]
    #: (definition id, version) of the filtered process, newest first (batch moves).
    versions: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Token:
    """Where an instance waits: one READY or WAITING step."""

    element_id: str
    name: str
    #: ready (a person or the engine acts next) | waiting (a timer or message)
    state: str
    type: str
    process_id: str


@dataclass(frozen=True)
class StepChoice:
    """A step a token may be moved to."""

    element_id: str
    name: str
    type: str
    process_id: str


@dataclass(frozen=True)
class OpsIncident:
    """An incident (or a job that failed for good with none yet) with the error and
    where it happened."""

    id: int | None
    kind: str
    code: str
    instance_id: int | None
    job_id: int | None
    error: str
    element_id: str | None
    element_name: str | None
    status: str
    opened_at: datetime
    seen_count: int = 1
    resolved_by: str | None = None
    resolution: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionChoice:
    """A newer version of the instance's process, and what keeps it from moving there."""

    definition_id: int
    version: int
    #: Steps the version lacks (empty: the instance can move).
    missing: tuple[str, ...]


@dataclass(frozen=True)
class OpsInstance:
    """Everything the console's instance page shows."""

    instance: InstanceView
    process_name: str
    tokens: list[Token]
    steps: list[StepChoice]
    incidents: list[OpsIncident]
    versions: list[VersionChoice]
    history: list[AuditView]
    #: Why the saved state cannot be read (then no tokens and no moves), else None.
    state_error: str | None = None


@dataclass(frozen=True)
class OpsResult:
    """What one console action did."""

    instance_id: int
    action: str
    status: str
    revision: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    """A batch moved to a newer version: who moved, who stayed and why."""

    target_definition_id: int
    target_version: int
    moved: tuple[int, ...]
    refused: dict[int, str]


# ---------------------------------------------------------------------------- access


def require_admin(session: Session, actor: str) -> None:
    """Only a PMO administrator may use the console (:class:`Forbidden`)."""
    if access.ADMIN_ROLE not in identity.global_roles(session, actor):
        raise Forbidden(
            "only a PMO administrator may use the ops console",
            code="access.admin_only",
            role=access.ADMIN_ROLE,
        )


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidData(
            {
                "reason": FieldError(
                    f"Give a reason for {what}.", "input.reason_required", field="reason"
                )
            }
        )
    if len(text) > 2000:
        raise InvalidData(
            {
                "reason": FieldError(
                    "The reason is longer than 2000 characters.",
                    "input.too_long",
                    field="reason",
                    limit=2000,
                )
            }
        )
    return text


# ---------------------------------------------------------------------------- reads


def _incident_instances() -> Any:
    """Ids of instances with an open incident or a failed job."""
    return (
        select(Incident.instance_id)
        .where(Incident.status == "open", Incident.instance_id.is_not(None))
        .union(select(Job.instance_id).where(Job.status == "failed", Job.instance_id.is_not(None)))
    )


def list_instances(
    ctx: EngineContext,
    session: Session,
    actor: str,
    *,
    status: str | None = None,
    search: str = "",
    process_key: str | None = None,
    project_id: int | None = None,
    requester: str | None = None,
    offset: int = 0,
    limit: int = 25,
) -> OpsListing:
    """Instances newest first, filtered by status, process, project and requester;
    ``search`` matches an id, a business key or a title."""
    with read_only(session):
        require_admin(session, actor)
        if status and status not in STATUSES:
            raise InvalidData(
                {
                    "status": FieldError(
                        f"Choose one of: {', '.join(STATUSES)}.",
                        "input.choice",
                        field="status",
                        allowed=", ".join(STATUSES),
                    )
                }
            )
        conds: list[Any] = []
        if status == "cancelled":
            conds.append(ProcessInstance.status.in_(("cancelled", "withdrawn")))
        elif status == "incident":
            conds.append(ProcessInstance.id.in_(_incident_instances()))
        elif status:
            conds.append(ProcessInstance.status == status)
        if process_key:
            conds.append(ProcessInstance.process_key == process_key)
        if project_id is not None:
            conds.append(ProcessInstance.project_id == project_id)
        if requester:
            conds.append(func.lower(ProcessInstance.started_by) == requester.strip().lower())
        text = search.strip()
        if text:
            like = f"%{text.lower()}%"
            found: list[Any] = [
                func.lower(ProcessInstance.title).like(like),
                func.lower(func.coalesce(ProcessInstance.business_key, "")).like(like),
                func.lower(ProcessInstance.process_key).like(like),
            ]
            if text.lstrip("#").isdigit():
                found.append(ProcessInstance.id == int(text.lstrip("#")))
            conds.append(or_(*found))
        total = session.scalar(select(func.count(ProcessInstance.id)).where(*conds)) or 0
        q = (
            select(ProcessInstance, ProcessDefinition.version, ProcessDefinition.name)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(*conds)
            .order_by(ProcessInstance.id.desc())
            .offset(max(offset, 0))
            .limit(max(min(limit, 200), 1))
        )
        found_rows = session.execute(q).all()
        ids = [r[0].id for r in found_rows]
        troubles = _trouble_counts(session, ids)
        listing = [
            OpsRow(
                id=inst.id,
                process_key=inst.process_key,
                process_name=name,
                version=version,
                title=inst.title,
                business_key=inst.business_key,
                project_id=inst.project_id,
                status=inst.status,
                started_by=inst.started_by,
                started_at=inst.started_at,
                updated_at=inst.updated_at,
                ended_at=inst.ended_at,
                current_step=inst.current_step,
                revision=inst.revision,
                incidents=troubles.get(inst.id, 0),
            )
            for inst, version, name in found_rows
        ]
        versions: list[tuple[int, int]] = []
        if process_key:
            versions = [
                (r.id, r.version)
                for r in session.execute(
                    select(ProcessDefinition.id, ProcessDefinition.version)
                    .where(ProcessDefinition.key == process_key)
                    .order_by(ProcessDefinition.version.desc())
                )
            ]
        return OpsListing(listing, total, _counts(session), _process_names(session), versions)


def _trouble_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    out: dict[int, int] = {}
    iid: Any
    for iid, n in session.execute(
        select(Incident.instance_id, func.count())
        .where(Incident.instance_id.in_(ids), Incident.status == "open")
        .group_by(Incident.instance_id)
    ):
        out[iid] = out.get(iid, 0) + n
    for iid, n in session.execute(
        select(Job.instance_id, func.count())
        .where(Job.instance_id.in_(ids), Job.status == "failed")
        .group_by(Job.instance_id)
    ):
        out[iid] = out.get(iid, 0) + n
    return out


def _counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in session.execute(
        select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)
    ):
        key = "cancelled" if status == "withdrawn" else status
        if key in counts:
            counts[key] += n
    counts["incident"] = (
        session.scalar(select(func.count()).select_from(_incident_instances().subquery())) or 0
    )
    return counts


def _process_names(session: Session) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, name in session.execute(
        select(ProcessDefinition.key, ProcessDefinition.name).order_by(ProcessDefinition.version)
    ):
        names[key] = name
    return names


def instance_page(
    ctx: EngineContext, session: Session, actor: str, instance_id: int
) -> OpsInstance:
    """One instance: its tokens, the steps a token may go to, its incidents, the newer
    versions it may move to, and its audit trail."""
    with read_only(session):
        require_admin(session, actor)
        inst = rows.require_instance(session, instance_id)
        definition = ctx.cache.definition(session, inst.definition_id)
        view = instance_view(inst, definition.version, rows.open_tasks(session, inst.id))
        tokens: list[Token] = []
        state_error = None
        if inst.status in ("running", "suspended"):
            try:
                loaded = execution.load(ctx, session, inst, actor, ctx.clock.now())
                tokens = [_token_view(loaded, t) for t in _live_tokens(loaded)]
            except EngineError as exc:
                state_error = str(exc)
            except Exception as exc:  # a state that does not load is what ops is for
                state_error = f"{type(exc).__name__}: {exc}"
        steps = [
            StepChoice(
                eid, info.get("name") or eid, info.get("type", ""), info.get("process_id", "")
            )
            for eid, info in definition.meta.get("elements", {}).items()
            if info.get("type") in ENTERABLE
        ]
        steps.sort(key=lambda s: (s.process_id != inst.process_key, s.name.lower()))
        history = [
            audit_view(r)
            for r in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.instance_id == inst.id)
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        ]
        return OpsInstance(
            instance=view,
            process_name=definition.name,
            tokens=tokens,
            steps=steps,
            incidents=_instance_incidents(ctx, session, inst),
            versions=_newer_versions(ctx, session, inst, definition.version),
            history=history,
            state_error=state_error,
        )


def _newer_versions(
    ctx: EngineContext, session: Session, inst: Rec, version: int
) -> list[VersionChoice]:
    """Newer versions of the process, each with the steps it lacks for this instance."""
    if inst.status != "running":
        return []
    source = ctx.cache.definition(session, inst.definition_id)
    out = []
    for row in session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == inst.process_key, ProcessDefinition.version > version)
        .order_by(ProcessDefinition.version.desc())
    ):
        try:
            bindings = migration._bindings(session, inst, row, ctx.clock.now())
            spec, subs = ctx.cache.for_bindings(session, row.id, bindings)
            _doc, missing, _waiting = migration._checked(inst.state, spec, subs, source.meta)
        except EngineError as exc:
            missing = [str(exc)]
        out.append(VersionChoice(row.id, row.version, tuple(missing)))
    return out


def _element_name(meta: dict[str, Any], element_id: str | None) -> str | None:
    if not element_id:
        return None
    return meta.get("elements", {}).get(element_id, {}).get("name") or None


def _ops_incident(session: Session, row: Incident, meta: dict[str, Any] | None) -> OpsIncident:
    params = dict(row.params or {})
    element_id = params.get("element_id")
    error = row.detail
    job = session.get(Job, row.job_id) if row.job_id else None
    if job is not None:
        element_id = element_id or job.element_id
        if job.last_error:
            error = job.last_error
    if not element_id and row.human_task_id:
        task = session.get(HumanTask, row.human_task_id)
        if task is not None:
            element_id = task.element_id
    meta = meta or {}
    if not element_id and row.instance_id and params.get("ref"):
        element_id = session.scalar(
            select(HumanTask.element_id).where(
                HumanTask.instance_id == row.instance_id,
                HumanTask.spiff_task_id == str(params["ref"]),
            )
        )
    if not element_id and params.get("step"):
        named = [k for k, v in meta.get("elements", {}).items() if v.get("name") == params["step"]]
        element_id = named[0] if len(named) == 1 else None
    if not element_id and row.instance_id:
        element_id = _last_element(session, row.instance_id)
    return OpsIncident(
        id=row.id,
        kind=row.kind,
        code=row.code,
        instance_id=row.instance_id,
        job_id=row.job_id,
        error=error,
        element_id=element_id,
        element_name=_element_name(meta, element_id) or params.get("step"),
        status=row.status,
        opened_at=row.opened_at,
        seen_count=row.seen_count,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
        params=params,
    )


def _last_element(session: Session, instance_id: int) -> str | None:
    """Where an instance last was: the element of its newest audit event naming one."""
    return session.scalar(
        select(AuditEvent.element_id)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.element_id.is_not(None))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )


def _instance_incidents(ctx: EngineContext, session: Session, inst: Rec) -> list[OpsIncident]:
    meta = ctx.cache.definition(session, inst.definition_id).meta
    found = [
        _ops_incident(session, r, meta)
        for r in session.scalars(
            select(Incident)
            .where(Incident.instance_id == inst.id, Incident.status == "open")
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
        )
    ]
    covered = {i.job_id for i in found if i.job_id}
    for job in session.scalars(
        select(Job).where(Job.instance_id == inst.id, Job.status == "failed").order_by(Job.id)
    ):
        if job.id in covered:
            continue
        found.append(
            OpsIncident(
                id=None,
                kind=_JOB_FAILED,
                code=f"doctor.{_JOB_FAILED}",  # the doctor's finding code for the kind
                instance_id=inst.id,
                job_id=job.id,
                error=job.last_error or "",
                element_id=job.element_id,
                element_name=_element_name(meta, job.element_id),
                status="open",
                opened_at=job.finished_at or job.due_at,
                seen_count=job.attempts,
                params={"attempts": job.attempts},
            )
        )
    return found


def list_incidents(
    ctx: EngineContext,
    session: Session,
    actor: str,
    *,
    open_only: bool = True,
    instance_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[OpsIncident], int]:
    """Incidents newest first, each with its error and element; and how many match."""
    with read_only(session):
        require_admin(session, actor)
        conds: list[Any] = []
        if open_only:
            conds.append(Incident.status == "open")
        if instance_id is not None:
            conds.append(Incident.instance_id == instance_id)
        total = session.scalar(select(func.count(Incident.id)).where(*conds)) or 0
        found = session.scalars(
            select(Incident)
            .where(*conds)
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
            .offset(max(offset, 0))
            .limit(max(min(limit, 200), 1))
        ).all()
        return [
            _ops_incident(session, r, _meta_of(ctx, session, r.instance_id)) for r in found
        ], total


def _meta_of(ctx: EngineContext, session: Session, instance_id: int | None) -> dict[str, Any]:
    if instance_id is None:
        return {}
    inst = session.get(ProcessInstance, instance_id)
    return ctx.cache.definition(session, inst.definition_id).meta if inst is not None else {}


def get_incident(ctx: EngineContext, session: Session, actor: str, incident_id: int) -> OpsIncident:
    """One incident with its error and element."""
    with read_only(session):
        require_admin(session, actor)
        row = _incident_row(session, incident_id)
        return _ops_incident(session, row, _meta_of(ctx, session, row.instance_id))


def _incident_row(session: Session, incident_id: int) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise NotFound(
            f"no incident {incident_id}", code="incident.not_found", incident_id=incident_id
        )
    return row


# ---------------------------------------------------------------------------- actions


def _locked(session: Session, instance_id: int, revision: int | None) -> Rec:
    inst = rows.require_instance(session, instance_id, lock=True)
    require_revision(session, inst, revision)
    return inst


def _not_ended(inst: Rec, action: str) -> None:
    if inst.status in ENDED:
        raise NotReady(
            f"instance {inst.id} is already {inst.status}; nothing to {action}",
            code="instance.not_running",
            instance_id=inst.id,
            status=inst.status,
        )


def _require_running(inst: Rec, action: str) -> None:
    _not_ended(inst, action)
    if inst.status == "suspended":
        raise NotReady(
            f"instance {inst.id} is suspended; resume it before you {action}",
            code="instance.suspended",
            instance_id=inst.id,
        )


def _audit(
    session: Session,
    inst: Rec,
    actor: str,
    kind: str,
    reason: str | None,
    now: datetime,
    *,
    element_id: str | None = None,
    element_name: str | None = None,
    **detail: Any,
) -> None:
    rows.audit(
        session,
        instance_id=inst.id,
        at=now,
        actor=actor,
        kind=kind,
        element_id=element_id,
        element_name=element_name,
        reason=reason,
        detail={"console": True, **detail},
    )


def _bump(session: Session, inst: Rec, now: datetime) -> None:
    """Write the instance's changed columns with the next revision (the lock is held)."""
    inst.revision += 1
    inst.updated_at = now
    rows.write(session, inst)


def suspend(
    ctx: EngineContext,
    session: Session,
    actor: str,
    instance_id: int,
    reason: str,
    revision: int | None = None,
) -> OpsResult:
    """Hold a running instance: its jobs stop firing, its tasks cannot be completed."""
    reason = _reason(reason, "suspending")
    with unit_of_work(session):
        require_admin(session, actor)
        now = ctx.clock.now()
        inst = _locked(session, instance_id, revision)
        _require_running(inst, "suspend it")
        held = list(
            session.scalars(
                select(JOBS.c.id).where(JOBS.c.instance_id == inst.id, JOBS.c.status == "pending")
            )
        )
        if held:
            session.execute(update(JOBS).where(JOBS.c.id.in_(held)).values(status="held"))
        inst.status = "suspended"
        _bump(session, inst, now)
        _audit(session, inst, actor, "suspended", reason, now, held_jobs=held)
        return OpsResult(inst.id, "suspend", inst.status, inst.revision, {"held_jobs": held})


def resume(
    ctx: EngineContext,
    session: Session,
    actor: str,
    instance_id: int,
    reason: str = "",
    revision: int | None = None,
) -> OpsResult:
    """Let a suspended instance go on: its held jobs are pending again, due as before."""
    with unit_of_work(session):
        require_admin(session, actor)
        now = ctx.clock.now()
        inst = _locked(session, instance_id, revision)
        _not_ended(inst, "resume")
        if inst.status != "suspended":
            raise NotReady(
                f"instance {inst.id} is {inst.status}, not suspended",
                code="instance.not_suspended",
                instance_id=inst.id,
                status=inst.status,
            )
        held = list(
            session.scalars(
                select(JOBS.c.id).where(JOBS.c.instance_id == inst.id, JOBS.c.status == "held")
            )
        )
        if held:
            session.execute(update(JOBS).where(JOBS.c.id.in_(held)).values(status="pending"))
        inst.status = "running"
        _bump(session, inst, now)
        _audit(session, inst, actor, "resumed", reason.strip() or None, now, released_jobs=held)
        return OpsResult(inst.id, "resume", inst.status, inst.revision, {"released_jobs": held})


def cancel(
    ctx: EngineContext,
    session: Session,
    actor: str,
    instance_id: int,
    reason: str,
    revision: int | None = None,
) -> OpsResult:
    """Cancel a running or suspended instance with a reason: the process's cancel glue
    runs, its open tasks and jobs are cancelled, its incidents resolved."""
    reason = _reason(reason, "cancelling")
    with unit_of_work(session):
        require_admin(session, actor)
        now = ctx.clock.now()
        inst = _locked(session, instance_id, revision)
        _not_ended(inst, "cancel")
        loaded = execution.load(ctx, session, inst, actor, now)
        with execution.engine_errors(loaded, ctx.clock):
            data = _current_data(loaded)
            loaded.workflow.cancel()
            _run_on_cancel(ctx, session, loaded, data, actor, reason, "cancelled", now)
        inst.status, inst.ended_at, inst.current_step = "cancelled", now, ""
        execution.save(session, loaded, now)
        rows.cancel_open(session, inst.id, now)
        session.execute(
            update(JOBS)
            .where(JOBS.c.instance_id == inst.id, JOBS.c.status.in_(("held", "failed")))
            .values(status="cancelled", finished_at=now)
        )
        _audit(session, inst, actor, "cancelled", reason, now)
        execution.audit_services(session, loaded, now, actor)
        resolved = doctor.resolve_instance(session, inst.id, actor, f"cancel: {reason}", now)
        return OpsResult(inst.id, "cancel", inst.status, inst.revision, {"resolved": resolved})


def retry(
    ctx: EngineContext,
    session: Session,
    actor: str,
    instance_id: int,
    reason: str = "",
    revision: int | None = None,
) -> OpsResult:
    """Retry what is stuck on a running instance: failed jobs go back to the queue and
    due timers fire, steps nothing ran are run, task rows are rebuilt from the saved
    state; its incidents are resolved.  If the step fails again nothing is saved and the
    error names the element."""
    with read_only(session):
        require_admin(session, actor)
        inst = rows.require_instance(session, instance_id)
        require_revision(session, inst, revision)
        if inst.status == "suspended":  # an instance that is over only loses stray jobs
            _require_running(inst, "retry it")
    result = doctor.rerun(
        ctx, session, instance_id, actor, reason.strip(), expected_revision=revision
    )
    return OpsResult(
        result.instance_id,
        "retry",
        result.status,
        _revision(session, instance_id),
        {"resolved": result.resolved, **result.changes},
    )


def _revision(session: Session, instance_id: int) -> int:
    with read_only(session):
        return rows.require_instance(session, instance_id).revision


def retry_incident(
    ctx: EngineContext, session: Session, actor: str, incident_id: int, reason: str = ""
) -> OpsResult | OpsIncident:
    """Retry an open incident: its instance (see :func:`retry`), or, for a job of no
    instance, the job itself (queued again, the incident resolved)."""
    with read_only(session):
        require_admin(session, actor)
        row = _incident_row(session, incident_id)
        status, instance_id, job_id = row.status, row.instance_id, row.job_id
    if status != "open":
        raise NotReady(
            f"incident {incident_id} is already {status}",
            code="incident.not_open",
            incident_id=incident_id,
            status=status,
        )
    if instance_id is not None:
        return retry(ctx, session, actor, instance_id, reason)
    with unit_of_work(session):
        now = ctx.clock.now()
        if job_id is not None:
            session.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.status == "failed")
                .values(status="pending", attempts=0, due_at=now, finished_at=None)
            )
        found = _incident_row(session, incident_id)
        found.status, found.resolved_at = "resolved", now
        found.resolved_by, found.resolution = actor[:64], f"retried: {reason}".strip(": ")
        session.flush()
        return _ops_incident(session, found, {})


# ---------------------------------------------------------------------------- tokens


def _live_tokens(loaded: execution.Loaded) -> list[Any]:
    """READY and WAITING tasks of modelled elements (no boundary events, no library
    bookkeeping), top process and subprocesses alike."""
    out = []
    for task in loaded.workflow.get_tasks(state=_LIVE, max_depth=DEEP):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        info = loaded.element(loaded.original_id(bpmn_id, loaded.definition_of(task)))
        if info.get("type") == "boundaryEvent":
            continue
        out.append(task)
    return out


def _token_view(loaded: execution.Loaded, task: Any) -> Token:
    definition = loaded.definition_of(task)
    element_id = loaded.original_id(task.task_spec.bpmn_id, definition) or ""
    info = loaded.element(element_id, definition)
    return Token(
        element_id=element_id,
        name=info.get("name") or task.task_spec.bpmn_name or element_id,
        state="ready" if task.state == TaskState.READY else "waiting",
        type=info.get("type", ""),
        process_id=task.workflow.spec.name,
    )


def _runtime_id(meta: dict[str, Any], element_id: str) -> str:
    for runtime, original in meta.get("id_map", {}).items():
        if original == element_id:
            return str(runtime)
    return element_id


def _source(loaded: execution.Loaded, from_element: str) -> Any:
    found = [
        t
        for t in _live_tokens(loaded)
        if loaded.original_id(t.task_spec.bpmn_id, loaded.definition_of(t)) == from_element
    ]
    if not found:
        waiting = ", ".join(
            sorted({_token_view(loaded, t).element_id for t in _live_tokens(loaded)})
        )
        raise InvalidData(
            {
                "from_element": FieldError(
                    f"no token waits at {from_element!r} (tokens wait at: {waiting or 'none'})",
                    "ops.no_token",
                    field="from_element",
                    element_id=from_element,
                    waiting=waiting or "-",
                )
            }
        )
    if len(found) > 1:
        raise InvalidData(
            {
                "from_element": FieldError(
                    f"{len(found)} tokens wait at {from_element!r} (a multi-instance step); "
                    "move them one by one is not possible",
                    "ops.several_tokens",
                    field="from_element",
                    element_id=from_element,
                    count=len(found),
                )
            }
        )
    return found[0]


def _target(loaded: execution.Loaded, source: Any, to_element: str) -> Any:
    """The task spec to put the token at, or a field error naming the element."""
    meta = loaded.meta
    info = meta.get("elements", {}).get(to_element)
    version = loaded.definition.version

    def refuse(message: str, *, code: str, **params: Any) -> InvalidData:
        return InvalidData(
            {
                "to_element": FieldError(
                    message, code, field="to_element", element_id=to_element, **params
                )
            }
        )

    if info is None:
        raise refuse(
            f"version {version} of {loaded.instance.process_key!r} has no element {to_element!r}",
            code="ops.step_unknown",
            version=version,
        )
    kind = info.get("type", "")
    if kind not in ENTERABLE:
        raise refuse(
            f"element {to_element!r} ({info.get('name') or to_element}) is a {kind}: a token "
            "can only be moved to a task, a subprocess or an intermediate event",
            code="ops.step_not_enterable",
            type=kind,
            name=info.get("name") or to_element,
        )
    workflow = source.workflow
    spec = workflow.spec.task_specs.get(_runtime_id(meta, to_element))
    if spec is None:
        raise refuse(
            f"element {to_element!r} belongs to {info.get('process_id')!r}, not to "
            f"{workflow.spec.name!r} where the token waits",
            code="ops.step_other_process",
            process=info.get("process_id", ""),
            token_process=workflow.spec.name,
        )
    if spec is source.task_spec:
        raise refuse(
            f"the token already waits at {to_element!r}",
            code="ops.same_step",
        )
    split = workflow.spec.task_specs.get(f"{spec.name}.BoundaryEventSplit")
    return split if split is not None else spec


def _graft(loaded: execution.Loaded, source: Any, target_spec: Any) -> Any:
    """Take the token off ``source`` (with the boundary events waiting beside it) and put
    it at ``target_spec`` under the same parent, with the source's data."""
    node = source
    if node.parent is not None and isinstance(node.parent.task_spec, BoundaryEventSplit):
        node = node.parent
    parent = node.parent
    data = copy.deepcopy(source.data)
    workflow = node.workflow
    top = loaded.workflow
    for task in list(node):  # what goes away stops waiting for events, and its
        top.event_manager.remove_task(task)  # called or embedded subprocesses go too
        if task.id in top.subprocesses:
            top.delete_subprocess(task)
    workflow._remove_task(node.id)
    new = parent._add_child(target_spec, TaskState.FUTURE)
    new.data = data
    new.task_spec._predict(new, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    new.task_spec._update(new)
    return new


def move_token(
    ctx: EngineContext,
    session: Session,
    actor: str,
    instance_id: int,
    from_element: str,
    to_element: str,
    reason: str,
    revision: int | None = None,
) -> OpsResult:
    """Move the token waiting at ``from_element`` to ``to_element`` (same process or
    subprocess), with its data; the step there opens as if the flow had reached it."""
    from_element, to_element = (from_element or "").strip(), (to_element or "").strip()
    missing = {
        name: FieldError("Choose a step.", "form.required", field=name)
        for name, value in (("from_element", from_element), ("to_element", to_element))
        if not value
    }
    try:
        reason = _reason(reason, "moving the token")
    except InvalidData as exc:
        missing.update(exc.errors)
    if missing:
        raise InvalidData(missing)
    with unit_of_work(session):
        require_admin(session, actor)
        now = ctx.clock.now()
        inst = _locked(session, instance_id, revision)
        _require_running(inst, "move a token")
        loaded = execution.load(ctx, session, inst, actor, now)
        loaded.open_rows = rows.open_tasks(session, inst.id)
        source = _source(loaded, from_element)
        target = _target(loaded, source, to_element)
        source_name = _token_view(loaded, source).name
        with execution.engine_errors(loaded, ctx.clock):
            _graft(loaded, source, target)
            run_engine(loaded.workflow, loaded.counter)
        to_name = loaded.element(to_element).get("name") or to_element

        def save() -> None:
            execution.save(session, loaded, now)
            _audit(
                session,
                inst,
                actor,
                "token_moved",
                reason,
                now,
                element_id=to_element,
                element_name=to_name,
                **{"from": from_element, "from_name": source_name, "to": to_element},
            )
            execution.audit_services(session, loaded, now, actor)

        with execution.engine_errors(loaded, ctx.clock):
            projection.sync(session, loaded, now, actor, save)
        return OpsResult(
            inst.id,
            "move_token",
            inst.status,
            inst.revision,
            {"from": from_element, "to": to_element},
        )


# ---------------------------------------------------------------------------- versions


def migrate_batch(
    ctx: EngineContext,
    session: Session,
    actor: str,
    instance_ids: Sequence[int],
    target_definition_id: int,
    reason: str,
) -> BatchResult:
    """Move instances to a newer version of their process; those that cannot move stay
    and are listed with why (one transaction, each move audited)."""
    reason = _reason(reason, "moving the instances to another version")
    ids = list(dict.fromkeys(int(i) for i in instance_ids))
    if not ids:
        raise InvalidData(
            {
                "instance_ids": FieldError(
                    "Choose at least one instance.", "form.required", field="instance_ids"
                )
            }
        )
    with read_only(session):
        require_admin(session, actor)
        target = session.get(ProcessDefinition, target_definition_id)
        if target is None:
            raise NotFound(
                f"no process definition {target_definition_id}",
                code="definition.not_found",
                definition_id=target_definition_id,
            )
        version = target.version
        known = set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(ids))))
        older: dict[int, str] = {}
        for iid, v in session.execute(
            select(ProcessInstance.id, ProcessDefinition.version)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.id.in_(ids), ProcessDefinition.key == target.key)
        ):
            if v > version:
                older[iid] = f"instance {iid} runs version {v}, newer than {version}"
    refused = {i: f"there is no instance {i}" for i in ids if i not in known}
    refused.update(older)
    movable = [i for i in ids if i not in refused]
    result = migration.move(ctx, session, movable, target_definition_id, actor, reason)
    refused.update(result.refused)
    return BatchResult(target_definition_id, version, result.moved, dict(sorted(refused.items())))


def recent_actions(session: Session, actor: str, *, limit: int = 20) -> list[AuditView]:
    """The console's latest actions on any instance (who, what, why), newest first."""
    with read_only(session):
        require_admin(session, actor)
        found = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.instance_id.is_not(None),
                AuditEvent.kind.in_((*KINDS, "cancelled", "moved_version", "repaired")),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return [audit_view(r) for r in found]
