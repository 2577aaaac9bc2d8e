"""Start, complete, cancel: the verbs that move an instance forward.

Each runs in one unit of work: load, check, act, run engine steps in the sandbox, save
with the optimistic lock, project into the indexed tables, audit, commit.  Any error
rolls everything back.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import attachments, execution, identity, notifications, projection, rollup
from engine.access import check_people, may_start, require_may_work_on
from engine.context import EngineContext
from engine.date_range import local_today
from engine.definitions import current_bindings, get_process
from engine.errors import FieldError, Forbidden, InvalidData, NotReady
from engine.execution import audit_services
from engine.forms import apply_defaults, validate_form
from engine.retry import retrying_locked
from engine.spiff.stepping import run_engine, run_task
from engine.store import rows
from engine.store.rows import Rec
from engine.store.uow import unit_of_work
from engine.views import InstanceView, instance_view

#: Data keys the engine sets on every instance (documented in docs/modeling.md).
INITIATOR_KEY = "initiator"


def start(
    ctx: EngineContext,
    session: Session,
    process_key: str,
    actor: str,
    data: Mapping[str, Any] | None = None,
    *,
    business_key: str | None = None,
    title: str = "",
    project_id: int | None = None,
) -> InstanceView:
    """Start an instance of the newest active version of ``process_key``."""
    with unit_of_work(session):
        now = ctx.clock.now()
        identity.get_user(session, actor)
        definition = get_process(session, process_key, now)
        start_role = definition.meta.get("start_role")
        if start_role and not may_start(session, actor, start_role, project_id):
            raise Forbidden(
                f"starting {definition.name!r} needs the role {start_role!r}",
                code="access.start_role",
                process=definition.name,
                role=start_role,
            )
        payload = _checked_payload(
            definition.forms,
            definition.meta.get("start_form"),
            data,
            local_today(now, ctx.calendar.zone),
        )
        check_people(
            session,
            definition.forms.get(definition.meta.get("start_form") or ""),
            payload,
            project_id,
        )
        inst = rows.insert_rec(
            session,
            rows.new(
                rows.INSTANCES,
                definition_id=definition.id,
                process_key=definition.key,
                business_key=business_key,
                title=title or definition.name,
                project_id=project_id,
                status="running",
                state="",
                revision=1,
                bindings=current_bindings(session, definition, now),
                started_by=actor,
                started_at=now,
                updated_at=now,
                current_step="",
            ),
        )
        attachments.link(session, payload, actor=actor, instance_id=inst.id)
        loaded = execution.new_workflow(ctx, session, inst, actor, now)
        wf = loaded.workflow
        wf.task_tree.data.update(copy.deepcopy(payload))
        wf.task_tree.data[INITIATOR_KEY] = actor
        with execution.engine_errors(loaded, ctx.clock):
            run_engine(wf, loaded.counter)

            def save() -> None:
                execution.save(session, loaded, now, new=True)
                rows.audit(
                    session,
                    instance_id=inst.id,
                    at=now,
                    actor=actor,
                    kind="started",
                    detail={
                        "process": definition.key,
                        "version": definition.version,
                        "bindings": inst.bindings,
                    },
                )
                rollup.instance_started(session, inst)
                audit_services(session, loaded, now, actor)

            open_rows = projection.sync(session, loaded, now, actor, save)
        return instance_view(inst, definition.version, open_rows)


def _checked_payload(
    forms: Mapping[str, Any], form: str | None, data: Mapping[str, Any] | None, today: date
) -> dict[str, Any]:
    schema = forms.get(form) if form else None
    payload = apply_defaults(schema, dict(data or {}))
    validate_form(schema, payload, today)
    if INITIATOR_KEY in payload:
        raise InvalidData(
            {
                INITIATOR_KEY: FieldError(
                    "this name is reserved by the engine", "data.reserved", field=INITIATOR_KEY
                )
            }
        )
    return payload


def complete(
    ctx: EngineContext,
    session: Session,
    task_id: int,
    actor: str,
    data: Mapping[str, Any] | None = None,
) -> InstanceView:
    """Complete a human task with form data, then run the engine until it waits again.

    Runs again on fresh state when another action on the same instance (a sibling task,
    a timer) saved first: only a task someone else completed or changed is a conflict.
    """
    return retrying_locked(
        lambda lock_first: _complete(ctx, session, task_id, actor, data, lock_first),
        what=f"completing task {task_id}",
    )


def _complete(
    ctx: EngineContext,
    session: Session,
    task_id: int,
    actor: str,
    data: Mapping[str, Any] | None,
    lock_first: bool = False,
) -> InstanceView:
    # Deferred on SQLite: the write lock is taken by the first write, after the scripts
    # ran; a read made stale by another writer then fails and the action runs again,
    # this time taking the lock first (``lock_first``: engine.retry.retrying_locked).
    with unit_of_work(session, write=lock_first):
        now = ctx.clock.now()
        row, inst, open_rows = _task_for_completion(session, task_id)
        if inst.status == "suspended":  # held by a PMO administrator (engine.ops)
            raise NotReady(
                f"instance {inst.id} is suspended; task {task_id} cannot be completed now",
                code="instance.suspended",
                instance_id=inst.id,
                task_id=task_id,
            )
        eligible = require_may_work_on(session, actor, row, inst.started_by, now)
        loaded = execution.load(ctx, session, inst, actor, now, on_behalf_of=eligible.on_behalf_of)
        loaded.open_rows = open_rows
        forms = (
            ctx.cache.definition(session, row.form_definition_id).forms
            if (row.form_definition_id)
            else loaded.definition.forms
        )
        payload = _checked_payload(forms, row.form, data, local_today(now, ctx.calendar.zone))
        check_people(session, forms.get(row.form) if row.form else None, payload, inst.project_id)
        task = _spiff_task(loaded, row.spiff_task_id)
        if task is None or task.state != TaskState.READY:
            raise NotReady(
                f"task {task_id} is no longer waiting for input",
                code="task.already_completed",
                task_id=task_id,
            )
        task.data = {**copy.deepcopy(task.data), **copy.deepcopy(payload)}
        with execution.engine_errors(loaded, ctx.clock):
            run_task(loaded.workflow, task, loaded.counter)
        row.status = "completed"
        row.completed_at = now
        row.completed_by = actor
        inst.steps_done = rollup.with_step(inst.steps_done, row.element_id)
        row.on_behalf_of = eligible.on_behalf_of
        row.outcome = _text(payload.get("decision") or payload.get("outcome"))
        row.comment = _text(payload.get("comment"))
        row.draft = None

        def save() -> None:
            execution.save(session, loaded, now)

            def taken() -> NotReady:
                return NotReady(
                    f"task {task_id} ({row.name}) was completed or changed by someone else",
                    code="task.changed",
                    task_id=task_id,
                    name=row.name,
                )

            if not rows.update_open_task(session, row.id, conflict=taken, **row.changes()):
                raise taken()
            row.mark_clean()
            rollup.task_completed(session, row, projection.workday(loaded))
            attachments.link(session, payload, actor=actor, instance_id=inst.id)
            rows.audit(
                session,
                instance_id=inst.id,
                at=now,
                actor=actor,
                kind="task_completed",
                element_id=row.element_id,
                element_name=row.name,
                human_task_id=row.id,
                outcome=row.outcome,
                reason=row.comment,
                detail={"on_behalf_of": eligible.on_behalf_of, "fields": sorted(payload)},
            )
            if row.outcome and inst.started_by != actor:
                schema = forms.get(row.form) if row.form else None
                notifications.write(session, _decision_note(inst, row, actor, schema), now)
            audit_services(session, loaded, now, actor)

        with execution.engine_errors(loaded, ctx.clock):
            open_rows = projection.sync(session, loaded, now, actor, save)
        return instance_view(inst, loaded.definition.version, open_rows)


def cancel(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    actor: str,
    reason: str,
    *,
    kind: str = "cancelled",
) -> InstanceView:
    """Stop a running instance: its open tasks and jobs are cancelled, the reason kept."""
    if not reason or not reason.strip():
        raise InvalidData(
            {
                "reason": FieldError(
                    "Give a reason for cancelling.", "input.reason_required", field="reason"
                )
            }
        )
    return retrying_locked(
        lambda lock_first: _cancel(
            ctx, session, instance_id, actor, reason.strip(), kind, lock_first
        ),
        what=f"cancelling instance {instance_id}",
    )


def _cancel(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    actor: str,
    reason: str,
    kind: str,
    lock_first: bool = False,
) -> InstanceView:
    with unit_of_work(session, write=lock_first):
        now = ctx.clock.now()
        inst = rows.require_instance(session, instance_id, lock=True)
        if inst.status != "running":
            raise NotReady(
                f"instance {instance_id} is already {inst.status}",
                code="instance.not_running",
                instance_id=instance_id,
                status=inst.status,
            )
        loaded = execution.load(ctx, session, inst, actor, now)
        with execution.engine_errors(loaded, ctx.clock):
            data = _current_data(loaded)
            loaded.workflow.cancel()
            _run_on_cancel(ctx, session, loaded, data, actor, reason, kind, now)
        inst.status = kind
        inst.ended_at = now
        inst.current_step = ""
        execution.save(session, loaded, now)
        rows.cancel_open(session, inst.id, now)
        rows.audit(session, instance_id=inst.id, at=now, actor=actor, kind=kind, reason=reason)
        audit_services(session, loaded, now, actor)
        return instance_view(inst, loaded.definition.version, [])


def _current_data(loaded: execution.Loaded) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for task in loaded.workflow.get_tasks(
        state=TaskState.READY | TaskState.WAITING, max_depth=10**9
    ):
        merged.update(task.data)
    return copy.deepcopy(merged or loaded.workflow.task_tree.data)


def _run_on_cancel(
    ctx: EngineContext,
    session: Session,
    loaded: execution.Loaded,
    data: dict[str, Any],
    actor: str,
    reason: str,
    kind: str,
    now: datetime,
) -> None:
    """Call the process's ``onCancel`` glue (e.g. mark a proposal Withdrawn)."""
    operation = loaded.meta.get("on_cancel")
    if not operation:
        return
    from engine.services import ServiceCall

    inst = loaded.instance
    call = ServiceCall(
        session=session,
        instance_id=inst.id,
        process_key=inst.process_key,
        element_id=inst.process_key,
        actor=actor,
        now=now,
        params={"reason": reason, "status": kind},
        data=data,
        project_id=inst.project_id,
    )
    ctx.services.call(operation, call)
    loaded.services.append(call)


def _decision_note(
    inst: Rec, row: Rec, actor: str, schema: Mapping[str, Any] | None
) -> notifications.Note:
    return notifications.note(
        (inst.started_by,),
        "decision",
        "%(step)s: %(outcome)s by %(who)s",
        "%(title)s: %(comment)s" if row.comment else "%(title)s",
        params={
            "step": {"text": row.name},
            "outcome": _option(schema, row.outcome),
            "who": {"user": actor},
            "title": inst.title,
            "comment": row.comment or "",
        },
        link=f"/instances/{inst.id}",
        instance_id=inst.id,
        human_task_id=row.id,
    )


def _option(schema: Mapping[str, Any] | None, value: str) -> Any:
    """An outcome as its form labels it in each language (``{"i18n": {"en", "zh"}}``), or
    the value as a word to translate."""
    props = (schema or {}).get("properties") or {}
    prop = props.get("decision") or props.get("outcome") or {}
    found = (prop.get("x-enum-titles") or {}).get(value) if isinstance(prop, dict) else None
    if isinstance(found, list) and found:
        return {"i18n": {"en": str(found[0]), "zh": str(found[-1])}}
    if isinstance(found, str):
        return {"i18n": {"en": found}}
    return {"text": value}


def _task_for_completion(session: Session, task_id: int) -> tuple[Rec, Rec, list[Rec]]:
    """The open task, its instance (locked) and all its open sibling tasks (one query)."""
    found = rows.instance_with_open_tasks(session, task_id=task_id, lock=True)
    if found is not None:
        inst, open_rows = found
        for row in open_rows:
            if row.id == task_id:
                return row, inst, open_rows
    rows.require_open_task(session, task_id)  # raises NotFound or NotReady
    raise NotReady(
        f"task {task_id} is no longer open", code="task.already_completed", task_id=task_id
    )


def _spiff_task(loaded: execution.Loaded, spiff_task_id: str) -> Any:
    """The workflow's task with this id, or None (gone: completed and pruned)."""
    try:
        return loaded.workflow.get_task_from_id(uuid.UUID(spiff_task_id))
    except TaskNotFoundException:
        return None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:4000]


def read_instance_view(ctx: EngineContext, session: Session, instance_id: int) -> InstanceView:
    """An instance and its open tasks, read from the indexed tables."""
    found = rows.instance_with_open_tasks(session, instance_id=instance_id)  # one statement
    if found is None:
        raise rows.instance_not_found(instance_id)
    inst, open_tasks = found
    definition = ctx.cache.definition(session, inst.definition_id)
    return instance_view(inst, definition.version, open_tasks)
