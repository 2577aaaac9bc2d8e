"""Start, complete, cancel: the verbs that move an instance forward.

Each runs in one unit of work: load, check, act, run engine steps in the sandbox, save
with the optimistic lock, project into the indexed tables, audit, commit.  Any error
rolls everything back.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import attachments, identity, notifications, projection, running
from engine.definitions import current_bindings, get_process
from engine.errors import Forbidden, InvalidData, NotFound, NotReady
from engine.forms import apply_defaults, validate_form
from engine.spiff.runtime import run_engine, run_task
from engine.store import rows
from engine.store.rows import Rec
from engine.store.uow import unit_of_work
from engine.views import InstanceView, TaskView

if TYPE_CHECKING:
    from engine.api import Engine

#: Data keys the engine sets on every instance (documented in docs/modeling.md).
INITIATOR_KEY = "initiator"


def start(eng: Engine, session: Session, process_key: str, actor: str,
          data: Mapping[str, Any] | None = None, *, business_key: str | None = None,
          title: str = "", project_id: int | None = None) -> InstanceView:
    """Start an instance of the newest active version of ``process_key``."""
    with unit_of_work(session):
        now = eng.clock.now()
        identity.get_user(session, actor)
        definition = get_process(session, process_key)
        start_role = definition.meta.get("start_role")
        if start_role and not may_start(session, actor, start_role, project_id):
            raise Forbidden(f"starting {definition.name!r} needs the role {start_role!r}")
        payload = _checked_payload(
            definition.forms, definition.meta.get("start_form"), data)
        inst = rows.insert_rec(session, rows.new(
            rows.INSTANCES, definition_id=definition.id, process_key=definition.key,
            business_key=business_key, title=title or definition.name,
            project_id=project_id, status="running", state="", revision=1,
            bindings=current_bindings(session, definition), started_by=actor,
            started_at=now, updated_at=now, current_step="",
        ))
        attachments.link(session, payload, actor=actor, instance_id=inst.id)
        loaded = running.new_workflow(eng, session, inst, actor, now)
        wf = loaded.workflow
        wf.task_tree.data.update(copy.deepcopy(payload))
        wf.task_tree.data[INITIATOR_KEY] = actor
        with running.engine_errors(loaded, eng.clock):
            run_engine(wf, loaded.counter)

            def save() -> None:
                running.save(session, loaded, now, new=True)
                rows.audit(session, instance_id=inst.id, at=now, actor=actor,
                           kind="started", detail={"process": definition.key,
                                                   "version": definition.version,
                                                   "bindings": inst.bindings})
                _audit_services(session, loaded, now, actor)

            open_rows = projection.sync(session, loaded, now, actor, save)
        return instance_view(inst, definition.version, open_rows)


def may_start(session: Session, actor: str, role: str, project_id: int | None) -> bool:
    """May ``actor`` start a process whose start event lies in ``role``'s lane?"""
    if role in identity.global_roles(session, actor):
        return True
    if project_id is not None:
        return identity.holds_role_for(session, actor, role, project_id)
    return any(r == role for _p, r in identity.project_roles(session, actor))


def _checked_payload(forms: Mapping[str, Any], form: str | None,
                     data: Mapping[str, Any] | None) -> dict[str, Any]:
    schema = forms.get(form) if form else None
    payload = apply_defaults(schema, dict(data or {}))
    validate_form(schema, payload)
    if INITIATOR_KEY in payload:
        raise InvalidData({INITIATOR_KEY: "this name is reserved by the engine"})
    return payload


def complete(eng: Engine, session: Session, task_id: int, actor: str,
             data: Mapping[str, Any] | None = None) -> InstanceView:
    """Complete a human task with form data, then run the engine until it waits again."""
    with unit_of_work(session):
        now = eng.clock.now()
        row, inst, open_rows = _task_for_completion(session, task_id)
        eligible = identity.eligibility(session, actor, row, inst.started_by, now)
        identity.require(eligible)
        loaded = running.load(eng, session, inst, actor, now,
                              on_behalf_of=eligible.on_behalf_of)
        loaded.open_rows = open_rows
        require_distinct(session, row, actor, eligible.on_behalf_of, loaded.meta)
        forms = eng.cache.definition(session, row.form_definition_id).forms if (
            row.form_definition_id) else loaded.definition.forms
        payload = _checked_payload(forms, row.form, data)
        attachments.link(session, payload, actor=actor, instance_id=inst.id)
        task = loaded.workflow.get_task_from_id(uuid.UUID(row.spiff_task_id))
        if task is None or task.state != TaskState.READY:
            raise NotReady(f"task {task_id} is no longer waiting for input")
        task.data = {**copy.deepcopy(task.data), **copy.deepcopy(payload)}
        with running.engine_errors(loaded, eng.clock):
            run_task(loaded.workflow, task, loaded.counter)
        row.status = "completed"
        row.completed_at = now
        row.completed_by = actor
        row.on_behalf_of = eligible.on_behalf_of
        row.outcome = _text(payload.get("decision") or payload.get("outcome"))
        row.comment = _text(payload.get("comment"))
        row.draft = None

        def save() -> None:
            running.save(session, loaded, now)
            rows.write(session, row)
            rows.audit(session, instance_id=inst.id, at=now, actor=actor,
                       kind="task_completed", element_id=row.element_id,
                       element_name=row.name, human_task_id=row.id, outcome=row.outcome,
                       reason=row.comment,
                       detail={"on_behalf_of": eligible.on_behalf_of,
                               "fields": sorted(payload)})
            if row.outcome and inst.started_by != actor:
                notifications.write(session, _decision_note(inst, row, actor), now)
            _audit_services(session, loaded, now, actor)

        with running.engine_errors(loaded, eng.clock):
            open_rows = projection.sync(session, loaded, now, actor, save)
        return instance_view(inst, loaded.definition.version, open_rows)


def cancel(eng: Engine, session: Session, instance_id: int, actor: str, reason: str,
           *, kind: str = "cancelled") -> InstanceView:
    """Stop a running instance: its open tasks and jobs are cancelled, the reason kept."""
    if not reason or not reason.strip():
        raise InvalidData({"reason": "Give a reason for cancelling."})
    with unit_of_work(session):
        now = eng.clock.now()
        inst = get_instance(session, instance_id)
        if inst.status != "running":
            raise NotReady(f"instance {instance_id} is already {inst.status}")
        loaded = running.load(eng, session, inst, actor, now)
        with running.engine_errors(loaded, eng.clock):
            data = _current_data(loaded)
            loaded.workflow.cancel()
            _run_on_cancel(eng, session, loaded, data, actor, reason.strip(), kind, now)
        inst.status = kind
        inst.ended_at = now
        inst.current_step = ""
        running.save(session, loaded, now)
        rows.cancel_open(session, inst.id, now)
        rows.audit(session, instance_id=inst.id, at=now, actor=actor, kind=kind,
                   reason=reason.strip())
        _audit_services(session, loaded, now, actor)
        return instance_view(inst, loaded.definition.version, [])


def _current_data(loaded: running.Loaded) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for task in loaded.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING,
                                          max_depth=10**9):
        merged.update(task.data)
    return copy.deepcopy(merged or loaded.workflow.task_tree.data)


def _run_on_cancel(eng: Engine, session: Session, loaded: running.Loaded,
                   data: dict[str, Any], actor: str, reason: str, kind: str, now) -> None:
    """Call the process's ``onCancel`` glue (e.g. mark a proposal Withdrawn)."""
    operation = loaded.meta.get("on_cancel")
    if not operation:
        return
    from engine.services import ServiceCall

    inst = loaded.instance
    call = ServiceCall(session=session, instance_id=inst.id, process_key=inst.process_key,
                       element_id=inst.process_key, actor=actor, now=now,
                       params={"reason": reason, "status": kind}, data=data,
                       project_id=inst.project_id)
    eng.services.call(operation, call)
    loaded.services.append(call)


def _decision_note(inst: Rec, row: Rec, actor: str) -> notifications.Note:
    comment = f": {row.comment}" if row.comment else ""
    return notifications.Note(
        usernames=(inst.started_by,), kind="decision",
        title=f"{row.name}: {row.outcome} by {actor}", body=f"{inst.title}{comment}",
        link=f"/instances/{inst.id}", instance_id=inst.id, human_task_id=row.id,
    )


def require_distinct(session: Session, row: Rec, actor: str, on_behalf_of: str | None,
                     meta: Mapping[str, Any]) -> None:
    """Refuse a second instance of a ``distinctActors`` step to the same person."""
    props = meta.get("elements", {}).get(row.element_id, {}).get("properties") or {}
    if str(props.get("distinctActors", "")).lower() != "true":
        return
    problem = identity.distinct_actor_problem(session, row, actor, on_behalf_of)
    if problem:
        raise Forbidden(problem)


def _audit_services(session: Session, loaded: running.Loaded, now, actor: str) -> None:
    for call in loaded.services:
        rows.audit(session, instance_id=loaded.instance.id, at=now, actor=actor,
                   kind="service_called", element_id=call.element_id,
                   element_name=loaded.element(call.element_id).get("name"),
                   detail={"notes": call.notes})
        notifications.write_all(session, call.notifications, now)
    loaded.services.clear()


def _task_for_completion(session: Session, task_id: int) -> tuple[Rec, Rec, list[Rec]]:
    """The open task, its instance and all its open sibling tasks (one query)."""
    found = rows.instance_with_open_tasks(session, task_id=task_id)
    if found is not None:
        inst, open_rows = found
        for row in open_rows:
            if row.id == task_id:
                return row, inst, open_rows
    open_task_and_instance(session, task_id)  # raises NotFound or NotReady
    raise NotReady(f"task {task_id} is no longer open")


def open_task_and_instance(session: Session, task_id: int) -> tuple[Rec, Rec]:
    """The open task and its instance (one query), or NotFound / NotReady."""
    found = rows.task_and_instance(session, task_id)
    if found is None:
        raise NotFound(f"no task {task_id}")
    row, inst = found
    if row.status != "open":
        who = f" by {row.completed_by}" if row.completed_by else ""
        raise NotReady(f"task {task_id} ({row.name}) is already {row.status}{who}")
    return row, inst


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:4000]


def get_instance(session: Session, instance_id: int) -> Rec:
    """The instance row or :class:`NotFound`."""
    inst = rows.instance(session, instance_id)
    if inst is None:
        raise NotFound(f"no process instance {instance_id}")
    return inst


def instance_view(inst: Any, definition_version: int, open_rows: list[Any]) -> InstanceView:
    """Dataclass view of an instance row (ORM object or record) with its open tasks."""
    return InstanceView(
        id=inst.id, process_key=inst.process_key, definition_id=inst.definition_id,
        definition_version=definition_version, business_key=inst.business_key,
        title=inst.title, project_id=inst.project_id, status=inst.status,
        revision=inst.revision, started_by=inst.started_by, started_at=inst.started_at,
        updated_at=inst.updated_at, ended_at=inst.ended_at, current_step=inst.current_step,
        open_tasks=[task_view(r, inst) for r in open_rows],
    )


def read_instance_view(eng: Engine, session: Session, instance_id: int) -> InstanceView:
    """An instance and its open tasks, read from the indexed tables."""
    inst = get_instance(session, instance_id)
    definition = eng.cache.definition(session, inst.definition_id)
    return instance_view(inst, definition.version, rows.open_tasks(session, inst.id))


def task_view(row: Any, inst: Any | None = None) -> TaskView:
    """Dataclass view of a human task row (ORM object or record)."""
    return TaskView(
        id=row.id, instance_id=row.instance_id, element_id=row.element_id, name=row.name,
        process_key=row.process_key, role=row.role, project_id=row.project_id,
        assignee=row.assignee, status=row.status, form=row.form,
        form_definition_id=row.form_definition_id, four_eyes=row.four_eyes,
        created_at=row.created_at, due_at=row.due_at, claimed_at=row.claimed_at,
        completed_at=row.completed_at, completed_by=row.completed_by,
        on_behalf_of=row.on_behalf_of, outcome=row.outcome, comment=row.comment,
        instance_title=inst.title if inst is not None else "",
        business_key=inst.business_key if inst is not None else None,
    )
